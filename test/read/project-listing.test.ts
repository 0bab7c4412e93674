/**
 * The private project listing may not exist (CircleCI Server, older installs) or may be
 * refused: a scope with globs then covers the configured slugs only, with one warning
 * naming the organizations, whatever the status (a 404 once emptied them silently).
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

  it.each([404, 403])('answering %i: the configured projects stand in, with one warning', async (status) => {
    serveFake(api, world, http.get(`${TEST_API}/api/private/project`, () => HttpResponse.json({ message: 'Not found' }, { status })));
    const run = await runRead({ config, streams: Object.fromEntries(CHILDREN.map((name) => [name, 'full_refresh'])) });
    expect(run.errors).toEqual([]);
    expect(run.exitCode).toBe(0);
    expect(api.requestsTo('/api/private/project').length).toBeGreaterThan(0);
    const warnings = run.logs.filter((log) => log.level === 'WARN' && log.message.includes('did not list organization projects'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.message).toContain('configured project slugs');
    for (const org of world.orgs.filter((o) => o.slug === world.orgs[1]!.slug)) expect(warnings[0]!.message).toContain(org.slug);
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
