// Throughput and memory benchmark of the built connector against the fake CircleCI API.
//
//   npm run build && node dist/tools/bench/bench.js [--quick] [--only id,id] [--json out.json]
//   (--only fake-world-memory: the fake world's heap alone, printed after the table;
//    --only state-volume: STATE against RECORD bytes at 25 to 200 projects, tools/bench/state-volume)
//
// Each scenario starts the fake API in its own child process (tools/bench/fake-process),
// runs `node dist/src/main.js read` as another process with stdout piped into a counting
// sink, and prints one row of ONE table: requests made vs the fewest the world needs,
// records, wall time, records/s, requests/s against the limit, 429s received (the fake's
// count), peak RSS (from the OS) and whether the scenario's target is met.
//
// Not part of the test suite: the figures depend on the machine. docs/PERFORMANCE.md
// records a run and what bounds each scenario.

import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { configuredCatalog } from '../acceptance/integration-files.js';
import type { StreamName } from '../../src/streams/schemas/types.js';
import { STREAM_GRAPH, STREAMS } from '../../src/streams/streams.js';
import { INSIGHTS_STREAMS } from '../../src/streams/insights.js';
import type { FaultOptions } from '../fake-circleci/faults.js';
import type { PresetName } from '../fake-circleci/world.js';
import { repoRoot } from '../repo-root.js';
import { runConnector, type ConnectorRunResult } from './connector-run.js';
import { startFakeChild } from './fake-child.js';
import { measureFakeWorldMemory } from './fake-world-memory.js';
import { shippedNodeFlags } from './shipped-command.js';
import { measureStateVolume, stateVolumeTable } from './state-volume.js';

const START_DATE = '2025-01-01T00:00:00Z';
const SHIPPED_NODE_FLAGS = shippedNodeFlags(repoRoot());
/**
 * Every listed stream, incremental where it can be: the acceptance suite's configured
 * catalog without the streams read through an asynchronous export (usage), whose time is
 * CircleCI's job and the poll waits, not the connector's throughput, and without the
 * Insights streams: the fake computes their metrics per request from every run of the
 * window, which would measure the fake, and the figures below count the history.
 */
const CATALOG = benchCatalog(configuredCatalog());
/** The streams read per project of the scope with a bookmark per project: what an idle sync can skip. */
const HISTORY_CATALOG = onlyHistory(CATALOG);

function onlyHistory(catalog: unknown): unknown {
  const { streams, ...rest } = catalog as { streams: Array<{ stream: { name: string } }> };
  return { ...rest, streams: streams.filter((entry) => STREAM_GRAPH.inHistory(entry.stream.name as StreamName)) };
}

function benchCatalog(catalog: unknown): unknown {
  const { streams, ...rest } = catalog as { streams: Array<{ stream: { name: string } }> };
  const measured = (name: string) => !STREAMS[name as StreamName]?.asyncExport && !Object.hasOwn(INSIGHTS_STREAMS, name);
  return { ...rest, streams: streams.filter((entry) => measured(entry.stream.name)) };
}

interface Scenario {
  id: string;
  title: string;
  pipelinesPerProject: number;
  faults: FaultOptions;
  config: { max_concurrency?: number; requests_per_minute?: number; workflow_lookback_hours?: number };
  /** The storm of 429s the fake sends (the storm row's target reads its timeline). */
  storm?: { fromMs: number; durationMs: number };
  /** Run a full sync first, then measure an incremental sync from its state with nothing new. */
  incrementalNothingNew?: boolean;
  /** The fake world's preset (default: benchmark). */
  preset?: PresetName;
  /**
   * No project_slugs (every project), the history streams only; two syncs (the second a
   * day after everything finished), then measure a third with nothing run since.
   */
  idleOrganization?: boolean;
  /** Node flags for the connector process instead of the shipped ones (the Dockerfile's ENTRYPOINT). */
  nodeFlags?: string[];
  /** Requests per minute the fake allows (for the utilisation column). */
  limitPerMinute?: number;
  target?: (row: Row, rows: Map<string, Row>) => { text: string; met: boolean } | undefined;
}

interface Row {
  scenario: Scenario;
  run: ConnectorRunResult;
  expectedRecords: number;
  requests: number;
  answered: number;
  minimum: number;
  duplicates: number;
  duplicateExample?: string;
  rateLimited: number;
  peakInFlight: number;
  recordsPerSecond: number;
  requestsPerSecond: number;
  utilisation?: number;
  byRoute: Record<string, number>;
  minimumByRoute: Record<string, number>;
  /** Answers other than 429 per second since the first request. */
  timeline: number[];
  /** When each 429 was sent, ms since the first request. */
  refusedAt: number[];
  /** The governor's rate changes, as the connector logged them. */
  rateChanges: string[];
  /** The connector's final summary line (requests, retries, the rate reached, 429s). */
  summary: string | undefined;
}

function scenarios(quick: boolean): Scenario[] {
  const latencyWorld = quick ? 6 : 40;
  const scale = quick ? [2, 20, 200] : [64, 640, 6400];
  const latency = { latency: { fixedMs: 50 } };
  // A limited run lasts about this long at its limit (a benchmark world needs ~270 requests
  // per pipeline per project with job details and tests: 5,397 for 20 pipelines).
  const minutesAtLimit = quick ? 1 : 2.5;
  const requestsPerPipeline = 270;
  const worldFor = (perMinute: number) => Math.max(2, Math.round((perMinute * minutesAtLimit) / requestsPerPipeline));
  const speedup = (factor: number) => (row: Row, rows: Map<string, Row>) => {
    const base = rows.get('latency-c1');
    if (!base) return undefined;
    const ratio = row.recordsPerSecond / base.recordsPerSecond;
    return { text: `≥${factor}× c=1: ${ratio.toFixed(1)}×`, met: ratio >= factor && minimumMet(row) };
  };
  // With neither quota headers nor Retry-After the limit is only found by meeting it: a lower bar.
  const limitTarget = (bare: boolean) => (row: Row) => {
    const [used, refused] = bare ? [0.85, 0.03] : [0.9, 0.02];
    const use = row.utilisation ?? 0;
    const share = row.requests === 0 ? 0 : row.rateLimited / row.requests;
    return { text: `≥${pct(used)} used, ≤${pct(refused)} 429: ${pct(use)}, ${pct(share)}`, met: use >= used && share <= refused && minimumMet(row) };
  };
  const flatRss = (row: Row, rows: Map<string, Row>) => {
    const small = rows.get('scale-1x');
    const mb = (row.run.peakRssKb ?? 0) / 1024;
    const growth = small?.run.peakRssKb ? `${((row.run.peakRssKb ?? 0) / small.run.peakRssKb).toFixed(2)}× 1× RSS` : '';
    const million = row.run.records >= 1_000_000;
    return { text: `≤200 MB${million ? ' at 1M records' : ''}, flat: ${growth}`, met: mb <= 200 && minimumMet(row) };
  };
  const modes = [
    ['headers', 'quota headers', true],
    ['retry-after', 'bare 429 + Retry-After', 'retry-after'],
    ['bare', 'bare 429', false],
  ] as const;
  const limits = [300, 1_200, 6_000].flatMap((limit) =>
    modes.map(([mode, text, headers]) => ({
      id: `limit-${limit}-${mode}`,
      title: `limit ${int(limit)}/min, ${text}`,
      pipelinesPerProject: worldFor(limit),
      faults: { ...latency, rateLimit: { requestsPerMinute: limit, headers } },
      config: {},
      limitPerMinute: limit,
      target: limitTarget(headers === false),
    })),
  );
  const strayWorld = quick ? 6 : 20;
  const strayFaults = (seed: number): FaultOptions => ({
    ...latency,
    seed,
    rateLimit: { strayShare: 0.05, retryAfterSeconds: 1 },
    serverErrors: { rate: 0.05, status: 503 },
    resets: { rate: 0.02 },
  });
  const strays = [1, 2, 3, 4, 5].map((seed) => ({
    id: `stray-${seed}`,
    title: `stray faults, seed ${seed}`,
    pipelinesPerProject: strayWorld,
    faults: strayFaults(seed),
    config: {},
    target: (row: Row, rows: Map<string, Row>) => {
      const base = rows.get('stray-base');
      if (!base) return undefined;
      // Every 429 asked for Retry-After: 1.
      const allowed = 1.5 * base.run.wallMs + row.rateLimited * 1_000;
      return { text: `≤1.5× base + ${row.rateLimited} s asked: ${(row.run.wallMs / 1000).toFixed(1)} ≤ ${(allowed / 1000).toFixed(1)} s`, met: row.run.wallMs <= allowed && complete(row) };
    },
  }));
  const storm = { fromMs: quick ? 20_000 : 60_000, durationMs: 60_000 };
  return [
    { id: 'latency-c1', title: 'latency 50 ms, c=1', pipelinesPerProject: latencyWorld, faults: latency, config: { max_concurrency: 1 }, target: (row) => ({ text: 'baseline; requests = min', met: minimumMet(row) }) },
    { id: 'latency-c8', title: 'latency 50 ms (default config)', pipelinesPerProject: latencyWorld, faults: latency, config: {}, target: speedup(6.5) },
    ...limits,
    { id: 'stray-base', title: 'stray faults: none (base)', pipelinesPerProject: strayWorld, faults: latency, config: {}, target: (row) => ({ text: 'base', met: minimumMet(row) }) },
    ...strays,
    {
      id: 'storm',
      title: `60 s storm of 429s from ${storm.fromMs / 1000} s`,
      // About 3 minutes of requests at the concurrency bound: the storm and a minute after it.
      pipelinesPerProject: quick ? 28 : 70,
      faults: { ...latency, rateLimit: { storm, retryAfterSeconds: 1 } },
      config: {},
      storm,
      target: stormTarget,
    },
    ...scale.map((pipelines, index) => ({
      id: `scale-${10 ** index}x`,
      title: `scale ${10 ** index}× history, no latency`,
      pipelinesPerProject: pipelines,
      faults: {},
      config: {},
      target: index === 0 ? cpuPerRequest : flatRss,
    })),
    {
      // Not the shipped command: plain `node` with V8's default heap sizing (Node 24 lets
      // the young generation grow to 2 × 64 MB under a high allocation rate). Shows what
      // the image's flags are for.
      id: quick ? 'scale-100x-v8-defaults' : 'scale-10x-v8-defaults',
      title: `scale ${quick ? 100 : 10}×, node without flags`,
      pipelinesPerProject: quick ? scale[2]! : scale[1]!,
      faults: {},
      config: {},
      nodeFlags: [],
      target: flatRss,
    },
    {
      id: 'idle-500',
      title: 'idle organization of 500 projects, history streams',
      preset: 'many-projects',
      pipelinesPerProject: 4,
      faults: {},
      config: {},
      idleOrganization: true,
      target: (row) => ({ text: `≤ 50 requests (10% of 500): ${row.requests}`, met: row.run.exitCode === 0 && row.requests <= 50 && row.run.records === 0 }),
    },
    {
      id: 'incremental',
      title: 'incremental, nothing new',
      pipelinesPerProject: quick ? 20 : 64,
      faults: {},
      config: { workflow_lookback_hours: 0 },
      incrementalNothingNew: true,
      target: (row) => ({ text: 'requests = min', met: minimumMet(row) }),
    },
  ];
}

/** No latency, no limit: what the connector itself costs, user + system CPU per request (records included). */
function cpuPerRequest(row: Row): { text: string; met: boolean } {
  const ms = row.run.cpuSeconds === undefined ? undefined : (row.run.cpuSeconds * 1000) / row.requests;
  return { text: `requests = min; ≤1.2 ms CPU/request: ${ms === undefined ? '?' : ms.toFixed(2)}`, met: ms !== undefined && ms <= 1.2 && minimumMet(row) };
}

/** Back to ≥ 90% of the rate before the storm (answers per second, 10 s average) within 60 s after it. */
function stormTarget(row: Row): { text: string; met: boolean } {
  const { fromMs, durationMs } = row.scenario.storm!;
  const perSecond = row.timeline;
  const mean = (from: number, to: number) => perSecond.slice(from, to).reduce((a, b) => a + b, 0) / Math.max(1, to - from);
  const from = fromMs / 1000;
  const end = (fromMs + durationMs) / 1000;
  const before = mean(Math.max(0, from - 30), from);
  let back: number | undefined;
  for (let t = end; t + 10 <= perSecond.length && back === undefined; t++) if (mean(t, t + 10) >= 0.9 * before) back = t + 10 - end;
  const text = `≥90% of ${before.toFixed(0)}/s within 60 s: ${back === undefined ? 'never' : `${back} s`}`;
  return { text, met: back !== undefined && back <= 60 && complete(row) };
}

/** Exit 0 with every record (the fake's faults make requests ≠ minimum). */
function complete(row: Row): boolean {
  return row.run.exitCode === 0 && row.run.records === row.expectedRecords && row.duplicates === 0;
}

function minimumMet(row: Row): boolean {
  return row.run.exitCode === 0 && row.answered === row.minimum && row.duplicates === 0 && row.run.records === row.expectedRecords;
}

async function run(scenario: Scenario): Promise<Row> {
  const fake = await startFakeChild(
    { seed: 1, pipelinesPerProject: scenario.pipelinesPerProject, faults: scenario.faults, connectorPageSize: 100, ...(scenario.preset ? { preset: scenario.preset } : {}) },
  );
  try {
    const scope = scenario.idleOrganization ? {} : { project_slugs: fake.slugs };
    const config = { api_token: fake.token, ...scope, start_date: START_DATE, api_url: fake.url, ...scenario.config };
    const catalog = scenario.idleOrganization ? HISTORY_CATALOG : CATALOG;
    let state: unknown;
    let minimum = fake.figures.minimum;
    let minimumByRoute = fake.figures.minimumByRoute;
    let expectedRecords = fake.figures.records;
    if (scenario.incrementalNothingNew) {
      const first = await runConnector({ config, catalog: CATALOG });
      if (first.exitCode !== 0) throw new Error(`${scenario.id}: the first sync failed: ${first.errors.join('; ')}`);
      state = [...first.lastStates.values()].map((s) => ({ type: 'STREAM', ...(s as object) }));
      const unfinished = new Set<string>();
      for (const s of first.lastStates.values()) {
        const projects = (s as { stream: { stream_state: { projects?: Record<string, { unfinished?: string[] }> } } }).stream.stream_state.projects ?? {};
        for (const entry of Object.values(projects)) for (const id of entry.unfinished ?? []) unfinished.add(id);
      }
      ({ minimum, minimumByRoute } = await fake.incrementalMinimum([...unfinished]));
      expectedRecords = -1; // not compared: what an incremental sync re-emits is up to the revisits
      await fake.reset();
    }
    if (scenario.idleOrganization) {
      // The first sync follows running workflows; the second, a day after they all
      // finished (the discovery's delay), reads them; the third has nothing to do.
      for (const after of [25 * 3600_000, 3600_000]) {
        const sync = await runConnector({ config, catalog, ...(state !== undefined ? { state } : {}) });
        if (sync.exitCode !== 0) throw new Error(`${scenario.id}: a preparing sync failed: ${sync.errors.join('; ')}`);
        state = [...sync.lastStates.values()].map((s) => ({ type: 'STREAM', ...(s as object) }));
        await fake.settle(after);
      }
      // The organization's project listing: one request, and a page per 50 projects.
      minimumByRoute = { collaborations: 1, private_projects: Math.ceil(fake.figures.projects / 50) };
      minimum = Object.values(minimumByRoute).reduce((a, b) => a + b, 0);
      expectedRecords = 0;
      await fake.reset();
    }
    const result = await runConnector({
      config,
      catalog,
      ...(state !== undefined ? { state } : {}),
      nodeFlags: scenario.nodeFlags ?? SHIPPED_NODE_FLAGS,
    });
    const { stats, duplicateUrls, duplicateExample, timeline, refusedAt } = await fake.stats();
    const seconds = result.wallMs / 1000;
    const answered = stats.total - stats.rateLimited;
    return {
      scenario,
      run: result,
      expectedRecords: expectedRecords < 0 ? result.records : expectedRecords,
      requests: stats.total,
      answered,
      minimum,
      duplicates: duplicateUrls,
      ...(duplicateExample ? { duplicateExample } : {}),
      rateLimited: stats.rateLimited,
      peakInFlight: stats.peakInFlight,
      recordsPerSecond: result.records / seconds,
      requestsPerSecond: stats.total / seconds,
      ...(scenario.limitPerMinute ? { utilisation: answered / seconds / (scenario.limitPerMinute / 60) } : {}),
      byRoute: stats.byRoute,
      minimumByRoute,
      timeline,
      refusedAt,
      rateChanges: result.rateChanges,
      summary: result.lastLogs.find((line) => line.startsWith('read complete')),
    };
  } finally {
    await fake.close();
  }
}

const int = (n: number): string => Math.round(n).toLocaleString('en-US');
const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;

function table(rows: Row[], all: Map<string, Row>): string {
  const header = ['scenario', 'world', 'records', 'requests / min', 'dup', 'wall s', 'CPU s', 'records/s', 'req/s', 'limit use', '429s', 'peak RSS', 'target', 'met'];
  const body = rows.map((row) => {
    const target = row.scenario.target?.(row, all);
    const world = `${row.scenario.pipelinesPerProject}×${row.scenario.preset === 'many-projects' ? 500 : 12} pipelines`;
    const records = row.run.records === row.expectedRecords ? int(row.run.records) : `${int(row.run.records)} (want ${int(row.expectedRecords)})`;
    return [
      row.scenario.title + (row.run.exitCode === 0 ? '' : ` [exit ${row.run.exitCode}]`),
      world,
      records,
      `${int(row.requests)} / ${int(row.minimum)}`,
      String(row.duplicates),
      (row.run.wallMs / 1000).toFixed(1),
      row.run.cpuSeconds === undefined ? '?' : row.run.cpuSeconds.toFixed(1),
      int(row.recordsPerSecond),
      row.requestsPerSecond.toFixed(1),
      row.utilisation === undefined ? '-' : `${pct(row.utilisation)} of ${int(row.scenario.limitPerMinute!)}/min`,
      int(row.rateLimited),
      row.run.peakRssKb === undefined ? '?' : `${(row.run.peakRssKb / 1024).toFixed(0)} MB`,
      target?.text ?? '-',
      target === undefined ? '-' : target.met ? 'met' : 'NOT MET',
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}

/** The commit measured, marked when the tree has uncommitted changes (read-only git). */
function revision(): string {
  try {
    const git = (args: string[]) => execFileSync('git', args, { cwd: repoRoot(), encoding: 'utf8' }).trim();
    const commit = git(['rev-parse', '--short', 'HEAD']);
    const dirty = git(['status', '--porcelain', '--untracked-files=no', 'src']) !== '';
    return `${commit}${dirty ? ' + uncommitted src changes' : ''}`;
  } catch {
    return 'unknown revision';
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { quick: { type: 'boolean' }, only: { type: 'string' }, json: { type: 'string' } } });
  const quick = values.quick ?? false;
  const only = values.only?.split(',');
  const chosen = scenarios(quick).filter((s) => !only || only.includes(s.id));
  const all = new Map<string, Row>();
  const rows: Row[] = [];
  process.stderr.write(`source-circleci benchmark (${quick ? 'quick' : 'full'}) at ${revision()}: ${cpus().length} CPUs, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}; connector: node ${[...SHIPPED_NODE_FLAGS, 'dist/src/main.js'].join(' ')}\n`);
  for (const scenario of chosen) {
    process.stderr.write(`  ${scenario.id} ...`);
    const row = await run(scenario);
    process.stderr.write(` ${(row.run.wallMs / 1000).toFixed(1)} s, exit ${row.run.exitCode}${row.run.errors.length ? `: ${row.run.errors[0]}` : ''}${row.summary ? `; ${row.summary}` : ''}\n`);
    if (row.answered !== row.minimum || row.duplicates > 0) {
      const routes = new Set([...Object.keys(row.byRoute), ...Object.keys(row.minimumByRoute)]);
      const diff = [...routes].filter((r) => (row.byRoute[r] ?? 0) !== (row.minimumByRoute[r] ?? 0)).map((r) => `${r} ${row.byRoute[r] ?? 0}/${row.minimumByRoute[r] ?? 0}`);
      process.stderr.write(`    requests per route (made/min) differ: ${diff.join(', ')}${row.duplicateExample ? `; repeated: ${row.duplicateExample}` : ''}\n`);
    }
    // Where a row's 429s came (the first 60) and what the governor made of them (its LOG lines).
    if (row.rateLimited > 0) {
      const shown = row.refusedAt.slice(0, 60).map((ms) => (ms / 1000).toFixed(1));
      process.stderr.write(`    429s at (s): ${shown.join(' ')}${row.refusedAt.length > 60 ? ` … (${row.refusedAt.length})` : ''}\n`);
      for (const line of row.rateChanges) process.stderr.write(`    ${line}\n`);
    }
    all.set(scenario.id, row);
    rows.push(row);
  }
  if (rows.length > 0) process.stdout.write(`${table(rows, all)}\n`);
  if (!only || only.includes('fake-world-memory')) process.stdout.write(`\n${measureFakeWorldMemory().text}\n`);
  if (!only || only.includes('state-volume')) process.stdout.write(`\n${stateVolumeTable(await measureStateVolume([25, 50, 100, 200], SHIPPED_NODE_FLAGS))}\n`);
  if (values.json) {
    const out = rows.map((row) => ({
      id: row.scenario.id,
      title: row.scenario.title,
      pipelinesPerProject: row.scenario.pipelinesPerProject,
      config: row.scenario.config,
      exitCode: row.run.exitCode,
      records: row.run.records,
      expectedRecords: row.expectedRecords,
      requests: row.requests,
      minimum: row.minimum,
      duplicates: row.duplicates,
      wallSeconds: row.run.wallMs / 1000,
      cpuSeconds: row.run.cpuSeconds,
      recordsPerSecond: row.recordsPerSecond,
      requestsPerSecond: row.requestsPerSecond,
      utilisation: row.utilisation,
      rateLimited: row.rateLimited,
      peakInFlight: row.peakInFlight,
      peakRssMb: row.run.peakRssKb === undefined ? undefined : row.run.peakRssKb / 1024,
      rssSource: row.run.rssSource,
      target: row.scenario.target?.(row, all),
    }));
    writeFileSync(values.json, JSON.stringify(out, null, 2));
  }
}

await main();
