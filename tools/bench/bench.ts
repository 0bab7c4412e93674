// Throughput and memory benchmark of the built connector against the fake CircleCI API.
//
//   npm run build && node dist/tools/bench/bench.js [--quick] [--only id,id] [--json out.json]
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
import { INSIGHTS_STREAMS } from '../../src/streams/insights.js';
import type { FaultOptions } from '../fake-circleci/faults.js';
import { repoRoot } from '../repo-root.js';
import { runConnector, type ConnectorRunResult } from './connector-run.js';
import { startFakeChild } from './fake-child.js';
import { shippedNodeFlags } from './shipped-command.js';

const START_DATE = '2025-01-01T00:00:00Z';
const SHIPPED_NODE_FLAGS = shippedNodeFlags(repoRoot());
/**
 * Every stream, incremental where it can be (the acceptance suite's configured catalog),
 * but the Insights streams: the fake computes their metrics per request from every run of
 * the window, which would measure the fake, and the figures below count the history.
 */
const CATALOG = withoutInsights(configuredCatalog() as { streams: Array<{ stream: { name: string } }> });

function withoutInsights(catalog: { streams: Array<{ stream: { name: string } }> }): typeof catalog {
  return { streams: catalog.streams.filter((entry) => !Object.hasOwn(INSIGHTS_STREAMS, entry.stream.name)) };
}
const LIMIT_PER_MINUTE = 1000;

interface Scenario {
  id: string;
  title: string;
  pipelinesPerProject: number;
  faults: FaultOptions;
  config: { max_concurrency?: number; requests_per_minute: number; workflow_lookback_hours?: number };
  /** Run a full sync first, then measure an incremental sync from its state with nothing new. */
  incrementalNothingNew?: boolean;
  /** Pin the connector to CPU 0 and the fake to CPU 1. */
  pinned?: boolean;
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
}

function scenarios(quick: boolean): Scenario[] {
  const latencyWorld = quick ? 6 : 40;
  const limitWorld = quick ? 8 : 32;
  // Quick runs shorten the fake's window (same allowed rate) so they still reach the limit.
  const windowMs = quick ? 15_000 : 60_000;
  const perWindow = (LIMIT_PER_MINUTE * windowMs) / 60_000;
  const scale = quick ? [2, 20, 200] : [64, 640, 6400];
  const latency = { latency: { fixedMs: 50 } };
  const noLimit = { requests_per_minute: 100_000 };
  const speedup = (id: string, factor: number) => (row: Row, rows: Map<string, Row>) => {
    const base = rows.get('latency-c1');
    if (!base) return undefined;
    const ratio = row.recordsPerSecond / base.recordsPerSecond;
    return { text: `≥${factor}× c=1: ${ratio.toFixed(1)}×`, met: ratio >= factor && minimumMet(row) };
  };
  const limitTarget = (row: Row) => {
    const use = row.utilisation ?? 0;
    const share = row.requests === 0 ? 0 : row.rateLimited / row.requests;
    return { text: `≥90% used, ≤1% 429: ${pct(use)}, ${pct(share)}`, met: use >= 0.9 && share <= 0.01 && row.duplicates === 0 && row.run.exitCode === 0 };
  };
  const flatRss = (row: Row, rows: Map<string, Row>) => {
    const small = rows.get('scale-1x');
    const mb = (row.run.peakRssKb ?? 0) / 1024;
    const growth = small?.run.peakRssKb ? `${((row.run.peakRssKb ?? 0) / small.run.peakRssKb).toFixed(2)}× 1× RSS` : '';
    const million = row.run.records >= 1_000_000;
    return { text: `≤200 MB${million ? ' at 1M records' : ''}, flat: ${growth}`, met: mb <= 200 && minimumMet(row) };
  };
  return [
    { id: 'latency-c1', title: 'latency 50 ms, c=1', pipelinesPerProject: latencyWorld, faults: latency, config: { ...noLimit, max_concurrency: 1 }, target: (row) => ({ text: 'baseline; requests = min', met: minimumMet(row) }) },
    { id: 'latency-c8', title: 'latency 50 ms, c=8 (default)', pipelinesPerProject: latencyWorld, faults: latency, config: { ...noLimit }, target: speedup('latency-c8', 5) },
    { id: 'latency-c16', title: 'latency 50 ms, c=16', pipelinesPerProject: latencyWorld, faults: latency, config: { ...noLimit, max_concurrency: 16 }, target: speedup('latency-c16', 10) },
    { id: 'latency-c32', title: 'latency 50 ms, c=32', pipelinesPerProject: latencyWorld, faults: latency, config: { ...noLimit, max_concurrency: 32 }, target: speedup('latency-c32', 10) },
    {
      id: 'limit-config',
      title: 'limit 1000/min (headers), rpm=1000',
      pipelinesPerProject: limitWorld,
      faults: { ...latency, rateLimit: { requestsPerMinute: perWindow, windowMs } },
      config: { requests_per_minute: LIMIT_PER_MINUTE },
      limitPerMinute: LIMIT_PER_MINUTE,
      target: limitTarget,
    },
    {
      id: 'limit-headers',
      title: 'limit 1000/min (headers), rpm=5000',
      pipelinesPerProject: limitWorld,
      faults: { ...latency, rateLimit: { requestsPerMinute: perWindow, windowMs } },
      config: { requests_per_minute: 5 * LIMIT_PER_MINUTE },
      limitPerMinute: LIMIT_PER_MINUTE,
      target: limitTarget,
    },
    {
      id: 'storm',
      title: '429 storm: bare 429s, rpm=3000',
      pipelinesPerProject: limitWorld,
      faults: { ...latency, rateLimit: { requestsPerMinute: perWindow, windowMs, headers: false } },
      config: { requests_per_minute: 3 * LIMIT_PER_MINUTE },
      limitPerMinute: LIMIT_PER_MINUTE,
      target: (row) => {
        const share = row.requests === 0 ? 0 : row.rateLimited / row.requests;
        return { text: `completes, ≤5% 429: ${pct(share)}`, met: row.run.exitCode === 0 && share <= 0.05 && row.answered === row.minimum };
      },
    },
    ...scale.map((pipelines, index) => ({
      id: `scale-${10 ** index}x`,
      title: `scale ${10 ** index}× history, no latency`,
      pipelinesPerProject: pipelines,
      faults: {},
      config: { ...noLimit },
      target: index === 0 ? (row: Row) => ({ text: 'base; requests = min', met: minimumMet(row) }) : flatRss,
    })),
    {
      // Not the shipped command: plain `node` with V8's default heap sizing (Node 24 lets
      // the young generation grow to 2 × 64 MB under a high allocation rate). Shows what
      // the image's flags are for.
      id: quick ? 'scale-100x-v8-defaults' : 'scale-10x-v8-defaults',
      title: `scale ${quick ? 100 : 10}×, node without flags`,
      pipelinesPerProject: quick ? scale[2]! : scale[1]!,
      faults: {},
      config: { ...noLimit },
      nodeFlags: [],
      target: flatRss,
    },
    {
      id: 'incremental',
      title: 'incremental, nothing new',
      pipelinesPerProject: quick ? 20 : 64,
      faults: {},
      config: { ...noLimit, workflow_lookback_hours: 0 },
      incrementalNothingNew: true,
      target: (row) => ({ text: 'requests = min', met: minimumMet(row) }),
    },
    {
      id: 'cpu',
      title: 'no latency, no limit, 1 core',
      pipelinesPerProject: quick ? 100 : 160,
      faults: {},
      config: { ...noLimit },
      pinned: true,
      target: (row) => ({ text: `≥20,000 rec/s`, met: row.recordsPerSecond >= 20_000 && minimumMet(row) }),
    },
  ];
}

function minimumMet(row: Row): boolean {
  return row.run.exitCode === 0 && row.answered === row.minimum && row.duplicates === 0 && row.run.records === row.expectedRecords;
}

async function run(scenario: Scenario): Promise<Row> {
  const fake = await startFakeChild(
    { seed: 1, pipelinesPerProject: scenario.pipelinesPerProject, faults: scenario.faults, connectorPageSize: 100 },
    scenario.pinned ? '1' : undefined,
  );
  try {
    const config = { api_token: fake.token, project_slugs: fake.slugs, start_date: START_DATE, api_url: fake.url, ...scenario.config };
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
        for (const w of ((s as { stream: { stream_state: { unfinished?: Array<{ id: string }> } } }).stream.stream_state.unfinished ?? [])) unfinished.add(w.id);
      }
      ({ minimum, minimumByRoute } = await fake.incrementalMinimum([...unfinished]));
      expectedRecords = -1; // not compared: what an incremental sync re-emits is up to the revisits
      await fake.reset();
    }
    const result = await runConnector({
      config,
      catalog: CATALOG,
      ...(state !== undefined ? { state } : {}),
      ...(scenario.pinned ? { cpus: '0' } : {}),
      nodeFlags: scenario.nodeFlags ?? SHIPPED_NODE_FLAGS,
    });
    const { stats, duplicateUrls, duplicateExample } = await fake.stats();
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
    const world = `${row.scenario.pipelinesPerProject}×12 pipelines`;
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
    process.stderr.write(` ${(row.run.wallMs / 1000).toFixed(1)} s, exit ${row.run.exitCode}${row.run.errors.length ? `: ${row.run.errors[0]}` : ''}\n`);
    if (row.answered !== row.minimum || row.duplicates > 0) {
      const routes = new Set([...Object.keys(row.byRoute), ...Object.keys(row.minimumByRoute)]);
      const diff = [...routes].filter((r) => (row.byRoute[r] ?? 0) !== (row.minimumByRoute[r] ?? 0)).map((r) => `${r} ${row.byRoute[r] ?? 0}/${row.minimumByRoute[r] ?? 0}`);
      process.stderr.write(`    requests per route (made/min) differ: ${diff.join(', ')}${row.duplicateExample ? `; repeated: ${row.duplicateExample}` : ''}\n`);
    }
    all.set(scenario.id, row);
    rows.push(row);
  }
  process.stdout.write(`${table(rows, all)}\n`);
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
