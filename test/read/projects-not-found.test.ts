/**
 * Configured projects that answer 404, and a start date in the future, through whole reads
 * over the fake (msw): a wrong config is said, never a silent empty success.
 */
import { describe, expect, it } from '@jest/globals';

import { createWorld } from '../../tools/fake-circleci/index.js';
import { fakeConfig, runRead, type RunResult } from '../support/connector.js';
import { TEST_API, useMockApi } from '../support/http.js';
import { serveFake } from '../reliability/harness.js';

const START = '2026-08-01T00:00:00Z';
const WRONG = ['gh/nobody-here/nothing', 'bb/nobody-here/else'];
const HISTORY = { pipelines: 'incremental', workflows: 'incremental', jobs: 'incremental' } as const;

function statuses(run: RunResult, stream: string): string[] {
  return run.messages
    .filter((m) => m.type === 'TRACE' && m.trace.type === 'STREAM_STATUS' && m.trace.stream_status.stream_descriptor.name === stream)
    .map((m) => m.trace.stream_status.status);
}

describe('configured projects answering 404', () => {
  const api = useMockApi();
  const world = createWorld({ preset: 'tiny', seed: 7 });
  const real = world.projects[0]!.slug;

  it('all of them: the history streams end INCOMPLETE, one config_error names them and every slug, exit 1; other streams complete', async () => {
    serveFake(api, world);
    const run = await runRead({ config: fakeConfig(world, TEST_API, { project_slugs: WRONG, start_date: START }), streams: { ...HISTORY, collaborations: 'full_refresh' } });
    expect(run.exitCode).toBe(1);
    // One TRACE ERROR for the whole sync, listing what failed.
    expect(run.errors).toHaveLength(1);
    const error = run.errors[0]!;
    expect(error.failure_type).toBe('config_error');
    for (const stream of Object.keys(HISTORY)) expect(error.message).toContain(stream);
    for (const slug of WRONG) expect(error.message).toContain(slug);
    expect(error.message).toContain('project_slugs');
    for (const stream of Object.keys(HISTORY)) expect(statuses(run, stream).at(-1)).toBe('INCOMPLETE');
    expect(statuses(run, 'collaborations').at(-1)).toBe('COMPLETE');
    expect(run.records.get('collaborations')?.length).toBe(world.collaborations().length);
  });

  it('some of them: a WARN for each, the others are read, and the final line names the missing ones', async () => {
    serveFake(api, world);
    const run = await runRead({ config: fakeConfig(world, TEST_API, { project_slugs: [real, WRONG[0]], start_date: START }), streams: HISTORY });
    expect(run.errors).toEqual([]);
    expect(run.exitCode).toBe(0);
    expect(run.records.get('pipelines')?.length).toBe(world.truth('pipelines', { projectSlugs: [real], startDate: START }).length);
    expect(run.logs.filter((log) => log.level === 'WARN' && log.message.includes(WRONG[0]!))).toHaveLength(1);
    const last = run.logs.at(-1)!;
    expect(last.message).toMatch(/^read complete: /);
    expect(last.message).toContain(`projects not found (404): ${WRONG[0]}`);
    expect(last.message).not.toContain(real);
  });
});

describe('a start_date in the future', () => {
  const api = useMockApi();
  const world = createWorld({ preset: 'tiny', seed: 7 });

  it('read says so in a WARN and completes: streams without a cursor are still read', async () => {
    serveFake(api, world);
    const run = await runRead({
      config: fakeConfig(world, TEST_API, { project_slugs: [world.projects[0]!.slug], start_date: '2999-01-01' }),
      streams: { pipelines: 'incremental', collaborations: 'full_refresh' },
    });
    expect(run.exitCode).toBe(0);
    const warnings = run.logs.filter((log) => log.level === 'WARN' && log.message.includes('start_date'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.message).toContain('is in the future');
    expect(run.records.get('pipelines') ?? []).toEqual([]);
    expect(run.records.get('collaborations')?.length).toBe(world.collaborations().length);
  });
});
