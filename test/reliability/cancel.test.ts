/**
 * The built connector (src/main.ts, as the image runs it) sent SIGTERM mid-read, as docker
 * stop and Airbyte's cancel do, against a slow fake: it starts no new request, abandons
 * those in flight, writes a STATE covering what it emitted and a LOG line, and ends; the
 * next sync resumes from that state and, with the first, yields every record of the truth.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { STREAMS } from '../../src/streams/streams.js';
import { createWorld, startFakeCircleCi, type RunningFake, type World } from '../../tools/fake-circleci/index.js';
import { nodeBinary } from '../../tools/acceptance/connector-process.js';
import { CORE_STREAMS, coreStreams, catalogOf, dedupe, fakeConfig, parseRun, writeJson, type RunResult } from '../support/connector.js';

/**
 * The streams read here: those a read lists but the Insights snapshots, whose keys hold the
 * sync's time (this built connector's own clock). The usage export has its own suite
 * (test/read/usage.test.ts), Insights too (test/read/insights.test.ts).
 */
const STREAM_NAMES = CORE_STREAMS;
import { lastStates, runCli } from './harness.js';

const START = '2026-08-01T00:00:00Z';
const LATENCY_MS = 400;
/** A hang guard only: the connector ends long before (the assertions are about what it wrote). */
const GUARD_MS = 10_000;
const REPO_ROOT = process.cwd();

interface Cancelled {
  run: RunResult;
  exitCode: number | null;
  /** The fake's request count when the signal was sent, and when the process had ended. */
  requestsAtSignal: number;
  requestsAtExit: number;
}

/** Runs the production entry point and sends SIGTERM once `afterRecords` records were written. */
function readAndCancel(fake: RunningFake, args: string[], afterRecords: number): Promise<Cancelled> {
  return new Promise((resolve, reject) => {
    const child = spawn(nodeBinary(), [join(REPO_ROOT, 'dist', 'src', 'main.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'], cwd: REPO_ROOT });
    let stdout = '';
    let requestsAtSignal: number | undefined;
    let guard: NodeJS.Timeout | undefined;
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      if (requestsAtSignal !== undefined) return;
      if ((stdout.match(/"type":"RECORD"/g) ?? []).length < afterRecords) return;
      requestsAtSignal = fake.stats.total;
      child.kill('SIGTERM');
      guard = setTimeout(() => child.kill('SIGKILL'), GUARD_MS);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(guard);
      const complete = stdout.slice(0, stdout.lastIndexOf('\n'));
      resolve({ run: parseRun(complete, code ?? -1), exitCode: code, requestsAtSignal: requestsAtSignal ?? -1, requestsAtExit: fake.stats.total });
    });
  });
}

describe('SIGTERM during a read', () => {
  let world: World;
  let fake: RunningFake;
  let slugs: string[];
  let first: Cancelled;
  let resumed: RunResult;
  const maxConcurrency = 4;

  beforeAll(async () => {
    world = createWorld({ preset: 'tiny', seed: 7, pipelinesPerProject: 30 });
    fake = await startFakeCircleCi({ world, faults: { latency: { fixedMs: LATENCY_MS } } });
    slugs = world.projects.map((project) => project.slug);
    const config = writeJson(fakeConfig(world, fake.url, { project_slugs: slugs, start_date: START, max_concurrency: maxConcurrency }));
    const catalog = writeJson(catalogOf(coreStreams()));
    first = await readAndCancel(fake, ['read', '--config', config, '--catalog', catalog], 40);
    fake.faults.set({});
    const cli = await runCli(['read', '--config', config, '--catalog', catalog, '--state', writeJson(lastStates(first.run))], { timeoutMs: 120_000 });
    resumed = parseRun(cli.lines.join('\n'), cli.exitCode ?? -1);
  }, 180_000);
  afterAll(() => fake.close());

  it('ends on the signal, not by being killed: exit 1, a LOG line saying so, every stream INCOMPLETE, no TRACE ERROR', () => {
    expect(first.exitCode).toBe(1);
    expect(first.run.logs.some((log) => log.message.includes('cancelled (SIGTERM)'))).toBe(true);
    expect(first.run.errors).toEqual([]);
    const statuses = first.run.messages.filter((m) => m.type === 'TRACE' && m.trace.type === 'STREAM_STATUS' && m.trace.stream_status.status === 'INCOMPLETE');
    expect(statuses).toHaveLength(STREAM_NAMES.length);
  });

  it('starts no new request after the signal: only those already sent may have reached the fake', () => {
    expect(first.requestsAtSignal).toBeGreaterThan(0);
    expect(first.requestsAtExit - first.requestsAtSignal).toBeLessThanOrEqual(maxConcurrency);
  });

  it('writes a STATE after the last RECORD of every incremental stream it emitted', () => {
    const messages = first.run.messages;
    let checked = 0;
    for (const name of STREAM_NAMES) {
      if (STREAMS[name].cursor === undefined) continue;
      const lastRecord = messages.findLastIndex((m) => m.type === 'RECORD' && m.record.stream === name);
      if (lastRecord < 0) continue;
      const lastState = messages.findLastIndex((m) => m.type === 'STATE' && m.state.stream.stream_descriptor.name === name);
      expect([name, lastState > lastRecord]).toEqual([name, true]);
      checked += 1;
    }
    expect(checked).toBeGreaterThan(0);
  });

  it('the next sync resumes from that state, and the two together hold every record of the truth', () => {
    expect(resumed.errors).toEqual([]);
    expect(resumed.exitCode).toBe(0);
    for (const name of STREAM_NAMES) {
      const truth = dedupe(name, world.truth(name, { projectSlugs: slugs, startDate: START }) as Array<Record<string, unknown>>);
      expect([name, dedupe(name, first.run.records.get(name), resumed.records.get(name))]).toEqual([name, truth]);
    }
  });
});
