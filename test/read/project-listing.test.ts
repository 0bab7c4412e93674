/**
 * The private project listing may not exist (CircleCI Server, older installs) or may be
 * refused: a scope with globs, and the project streams (every project the token can see),
 * then cover the configured slugs only, with one warning each naming the organizations,
 * whatever the status (a 404 once emptied them silently).
 */
import { describe, expect, it } from '@jest/globals';
import { HttpResponse, http } from 'msw';

import { createWorld } from '../../tools/fake-circleci/index.js';
import { dedupe, fakeConfig, runRead } from '../support/connector.js';
import { TEST_API, useMockApi } from '../support/http.js';
import { serveFake } from '../reliability/harness.js';

const START = '2026-08-01T00:00:00Z';
const CHILDREN = ['project', 'pipeline_definition', 'trigger', 'schedule'] as const;

describe('the private project listing unavailable', () => {
  const api = useMockApi();
  const world = createWorld({ preset: 'tiny', seed: 7 });
  const configured = [world.projects[0]!];
  // A glob needs the listing; the slug beside it does not.
  const glob = `${world.orgs[1]!.slug}/*`;
  const config = fakeConfig(world, TEST_API, { project_slugs: [...configured.map((p) => p.slug), glob], start_date: START });

  it.each([404, 403])('answering %i: the configured projects stand in, with one warning per set of projects', async (status) => {
    serveFake(api, world, http.get(`${TEST_API}/api/private/project`, () => HttpResponse.json({ message: 'Not found' }, { status })));
    const run = await runRead({ config, streams: { ...Object.fromEntries(CHILDREN.map((name) => [name, 'full_refresh'])), pipelines: 'full_refresh' } });
    expect(run.errors).toEqual([]);
    expect(run.exitCode).toBe(0);
    // Each organization is asked once, whether for the scope's glob or for every project the token can see.
    expect(api.requestsTo('/api/private/project').length).toBe(world.orgs.length);
    // One warning per set of projects: the scope's (the organization its glob can match), and the project streams' (every organization).
    const warnings = run.logs.filter((log) => log.level === 'WARN' && log.message.includes('did not list organization projects'));
    expect(warnings).toHaveLength(2);
    const [history, projects] = [warnings.find((w) => w.message.includes('project history'))!, warnings.find((w) => w.message.includes('project stream'))!];
    for (const warning of [history, projects]) expect(warning.message).toContain('configured project slugs');
    expect(history.message).toContain(world.orgs[1]!.slug);
    expect(history.message).not.toContain(world.orgs[2]!.slug); // no pattern can match it
    for (const org of world.orgs) expect(projects.message).toContain(org.slug);
    expect(run.logs.some((log) => log.level === 'WARN' && log.message.includes(`${glob} matched no project`))).toBe(true);

    const others = world.projects.filter((p) => !configured.includes(p));
    expect(others.length).toBeGreaterThan(0); // the listing would have given more
    const ids = new Set(configured.map((p) => p.id));
    const slugs = new Set(configured.map((p) => p.slug));
    const ofConfigured = (record: Record<string, unknown>) =>
      (record.project_id !== undefined ? ids.has(record.project_id as string) : slugs.has((record.slug ?? record['project-slug']) as string));
    for (const name of CHILDREN) {
      const truth = (world.truth(name, { projectSlugs: [...slugs], startDate: START }) as Array<Record<string, unknown>>).filter(ofConfigured);
      if (name === 'project') expect(truth).toHaveLength(configured.length);
      expect({ name, records: dedupe(name, run.records.get(name)) }).toEqual({ name, records: dedupe(name, truth) });
    }
  });
});
