/**
 * Shared pieces of the reliability tests: comparing what a destination would hold with
 * the fake world's truth, bounding a run in time, running the BUILT connector as a child
 * process (optionally killed after N stdout lines), checking a run's output is clean, and
 * serving the fake API through msw.
 */
import { join } from 'node:path';

import type { RunOptions } from '../../src/run-options.js';
import type { StreamName } from '../../src/streams/schemas/index.js';
import { STREAMS } from '../../src/streams/streams.js';
import { connectorEntryPoint, nodeBinary, spawnCollect, type ProcessResult } from '../../tools/acceptance/connector-process.js';
import { fakeCircleCiHandlers, type World } from '../../tools/fake-circleci/index.js';
import { CORE_STREAMS, dedupe, primaryKeyOf, type RunResult } from '../support/connector.js';
import { TEST_API, type MockApi } from '../support/http.js';
import { REPO_ROOT, assertProtocolLines, type Message } from '../support/protocol.js';
import { assertNoSecret } from '../support/secrets.js';

type Table = Map<string, Record<string, unknown>>;
export type Tables = Map<StreamName, Table>;

/** What the destination should hold: the world's truth per stream, keyed by primary key. */
export function truthTables(world: World, projectSlugs: readonly string[], startDate: string): Tables {
  const tables: Tables = new Map();
  for (const stream of CORE_STREAMS) {
    tables.set(stream, dedupe(stream, world.truth(stream, { projectSlugs, startDate }) as Array<Record<string, unknown>>));
  }
  return tables;
}

/** A destination after these runs, deduplicated by primary key, last write wins. */
export function destinationOf(...runs: Array<Pick<RunResult, 'records'>>): Tables {
  const tables: Tables = new Map();
  // Full-refresh streams overwrite the destination (catalogOf: destination_sync_mode overwrite): the last run counts.
  for (const stream of CORE_STREAMS) tables.set(stream, dedupe(stream, ...(STREAMS[stream].cursor ? runs : runs.slice(-1)).map((run) => run.records.get(stream))));
  return tables;
}

export interface StreamDiff {
  /** In the truth, missing from the destination. */
  lost: string[];
  /** In the destination, not in the truth. */
  unexpected: string[];
  /** Present in both with different contents (a stale version). */
  stale: string[];
}

function diffStream(truth: Table, destination: Table): StreamDiff {
  const lost = [...truth.keys()].filter((key) => !destination.has(key));
  const unexpected = [...destination.keys()].filter((key) => !truth.has(key));
  const stale = [...truth.keys()].filter((key) => destination.has(key) && JSON.stringify(sortKeys(destination.get(key))) !== JSON.stringify(sortKeys(truth.get(key))));
  return { lost, unexpected, stale };
}

/** Per-stream differences, only for streams that differ. */
export function diffTables(truth: Tables, destination: Tables): Map<StreamName, StreamDiff> {
  const out = new Map<StreamName, StreamDiff>();
  for (const stream of CORE_STREAMS) {
    const diff = diffStream(truth.get(stream) ?? new Map(), destination.get(stream) ?? new Map());
    if (diff.lost.length + diff.unexpected.length + diff.stale.length > 0) out.set(stream, diff);
  }
  return out;
}

/** One line per differing stream, for failure messages. */
export function describeDiff(diffs: Map<StreamName, StreamDiff>): string {
  return [...diffs]
    .map(([stream, d]) => `${stream}: ${d.lost.length} lost (e.g. ${d.lost[0] ?? '-'}), ${d.unexpected.length} unexpected (e.g. ${d.unexpected[0] ?? '-'}), ${d.stale.length} stale (e.g. ${d.stale[0] ?? '-'})`)
    .join('\n');
}

export function countLost(diffs: Map<StreamName, StreamDiff>): number {
  return [...diffs.values()].reduce((sum, d) => sum + d.lost.length, 0);
}

/** Records emitted more than once within one run (same stream, same primary key). */
export function duplicatesWithin(run: Pick<RunResult, 'records'>): number {
  let duplicates = 0;
  for (const stream of CORE_STREAMS) {
    const records = run.records.get(stream) ?? [];
    duplicates += records.length - new Set(records.map((record) => primaryKeyOf(stream, record))).size;
  }
  return duplicates;
}

/** The state to resume from: the last STATE per stream over these runs, later runs winning. */
export function lastStates(...runs: Array<Pick<RunResult, 'finalState'>>): Array<Record<string, any>> {
  const byStream = new Map<string, Record<string, any>>();
  for (const run of runs) for (const state of run.finalState) byStream.set(state.stream.stream_descriptor.name, state);
  return [...byStream.values()];
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => [k, sortKeys(v)]));
}

/** Fails (rejects) when `work` has not settled within `ms`: a hung sync is a failed test, not a stuck suite. */
export async function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export interface CliRun extends ProcessResult {
  /** Complete stdout lines (a line cut off by a kill is dropped, as a platform would drop it). */
  lines: string[];
}

/**
 * Runs the built connector from the repository root (with `runOptions`, through the test entry point). With `killAfterLines` it is sent
 * SIGKILL as soon as that many stdout lines have been read; a run past `timeoutMs` rejects.
 */
export async function runCli(
  args: string[],
  options: { env?: Record<string, string>; killAfterLines?: number; timeoutMs?: number; runOptions?: RunOptions } = {},
): Promise<CliRun> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const { runOptions, ...spawnOptions } = options;
  // Internal knobs go through the test entry point, which runs the same command line as src/main.ts.
  const entry = runOptions ? [join(REPO_ROOT, 'dist', 'test', 'support', 'connector-with-options.js'), JSON.stringify(runOptions)] : [connectorEntryPoint()];
  const run = await spawnCollect(nodeBinary(), [...entry, ...args], { ...spawnOptions, timeoutMs, cwd: REPO_ROOT });
  if (run.timedOut) throw new Error(`connector ${args[0]} did not end within ${timeoutMs} ms`);
  const complete = run.stdout.endsWith('\n') ? run.stdout : run.stdout.slice(0, run.stdout.lastIndexOf('\n') + 1);
  return { ...run, lines: complete === '' ? [] : complete.slice(0, -1).split('\n') };
}

/**
 * What every connector run must satisfy: stdout (its complete lines) is nothing but valid
 * protocol messages, and neither stdout nor stderr carries the token. Returns the messages.
 */
export function assertCleanOutput(run: { stdout: string; stderr: string; lines?: string[] }, token: string, label = 'run'): Message[] {
  assertNoSecret(run.stdout, token, `${label} stdout`);
  assertNoSecret(run.stderr, token, `${label} stderr`);
  const lines = run.lines ?? (run.stdout === '' ? [] : run.stdout.replace(/\n$/, '').split('\n'));
  return assertProtocolLines(lines.length === 0 ? '' : `${lines.join('\n')}\n`);
}

/** `assertCleanOutput` for an in-process run: its stdout lines are protocol messages without the token. */
export function assertCleanRun(run: Pick<RunResult, 'lines'>, token: string, label = 'run'): Message[] {
  return assertCleanOutput({ stdout: `${run.lines.join('\n')}\n`, stderr: '' }, token, label);
}

/** Runs `work` over `items`, at most `limit` at once; a failed item yields its Error rather than stopping the rest. */
export async function inParallel<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<Array<R | Error>> {
  const out: Array<R | Error> = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const index = next++;
        out[index] = await work(items[index]!).catch((error: unknown) => (error instanceof Error ? error : new Error(String(error))));
      }
    }),
  );
  return out;
}

/** msw answering as the fake CircleCI API of `world` at TEST_API, with `overrides` in front (msw consults them first). */
export function serveFake(api: MockApi, world: World, ...overrides: Parameters<MockApi['server']['use']>): void {
  api.server.use(...fakeCircleCiHandlers({ world, baseUrl: TEST_API }).handlers);
  api.server.use(...overrides);
}

/** Fixed-width text table for console output in CI logs. */
export function formatTable(header: string[], rows: Array<Array<string | number>>): string {
  const cells = [header, ...rows.map((row) => row.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((row) => (row[i] ?? '').length)));
  const line = (row: string[]) => row.map((cell, i) => cell.padEnd(widths[i]!)).join(' | ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('-+-'), ...cells.slice(1).map(line)].join('\n');
}

/** Random kill points, reproducible by seed: the same PRNG the spec answers are drawn with. */
export { seeded as seededRandom } from '../support/spec-answers.js';
