#!/usr/bin/env node
/**
 * The connector at work with no CircleCI account: `npm run demo`.
 *
 * Starts the fake CircleCI API (small world) on loopback and runs the BUILT connector as
 * a child process, as Airbyte would: check, discover, a first read of every stream
 * (incremental where supported), then — after the world moves on a little — a second,
 * incremental read from the first one's final state. Prints records per stream for both
 * syncs and the API requests each took (from the fake's per-route counters), and where
 * the outputs were written. Never prints the token.
 *
 *   node dist/tools/demo/demo.js [--seed N] [--size tiny|small] [--keep-config]
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { parseLines, runBuiltConnector, type ProcessResult } from '../acceptance/connector-process.js';
import { configureUsageExport, createWorld, startFakeCircleCi, type RunningFake, type World } from '../fake-circleci/index.js';

const write = (text: string): boolean => process.stdout.write(text);

/** Which stream's listing each fake route serves (`me` belongs to check). */
const ROUTE_STREAM: Record<string, string> = {
  collaborations: 'collaborations',
  contexts: 'context',
  groups: 'groups',
  deploy_environments: 'deploy',
  private_projects: 'project',
  project: 'project',
  pipeline_definitions: 'pipeline_definition',
  triggers: 'trigger',
  schedules: 'schedule',
  pipelines: 'pipelines',
  pipeline_workflows: 'workflows',
  workflow: 'workflows',
  workflow_jobs: 'jobs',
  job_details: 'job_details',
  job_tests: 'tests',
};

interface SyncResult {
  records: Map<string, number>;
  requests: Map<string, number>;
  totalRequests: number;
  finalState: Array<Record<string, unknown>>;
  seconds: number;
}

class DemoError extends Error {}

/** Runs the built connector; refuses output that shows the token, and failed runs. */
async function connector(args: string[], token: string, label: string): Promise<ProcessResult> {
  const run = await runBuiltConnector(args, { timeoutMs: 300_000 });
  if (run.stdout.includes(token) || run.stderr.includes(token)) throw new DemoError(`${label}: the connector printed the API token`);
  if (run.exitCode !== 0) {
    const error = parseLines(run.stdout).find((m) => m.type === 'TRACE' && m.trace.type === 'ERROR');
    throw new DemoError(`${label} failed (exit ${run.exitCode}): ${error?.trace.error.message ?? run.stderr.slice(-500)}`);
  }
  return run;
}

function requestsByStream(fake: RunningFake): { perStream: Map<string, number>; total: number } {
  const perStream = new Map<string, number>();
  for (const [route, count] of Object.entries(fake.stats.snapshot().byRoute)) {
    const stream = ROUTE_STREAM[route] ?? `(${route})`;
    perStream.set(stream, (perStream.get(stream) ?? 0) + count);
  }
  return { perStream, total: fake.stats.total };
}

async function sync(fake: RunningFake, token: string, files: { config: string; catalog: string; state?: string }, out: string, label: string): Promise<SyncResult> {
  fake.stats.reset();
  const started = Date.now();
  const args = ['read', '--config', files.config, '--catalog', files.catalog, ...(files.state ? ['--state', files.state] : [])];
  const run = await connector(args, token, label);
  const seconds = (Date.now() - started) / 1000;
  writeFileSync(out, run.stdout);
  const records = new Map<string, number>();
  const last = new Map<string, Record<string, unknown>>();
  for (const message of parseLines(run.stdout)) {
    if (message.type === 'RECORD') records.set(message.record.stream, (records.get(message.record.stream) ?? 0) + 1);
    if (message.type === 'STATE') last.set(message.state.stream.stream_descriptor.name, message.state);
  }
  const { perStream, total } = requestsByStream(fake);
  return { records, requests: perStream, totalRequests: total, finalState: [...last.values()], seconds };
}

/** New pipelines, a rerun on an old pipeline, running workflows finishing, an edited schedule, a new deploy environment. */
function moveWorld(world: World, slugs: string[], firstSyncPipelines: string[]): string[] {
  world.advanceTime(3_600_000);
  const changes: string[] = [];
  world.addPipelines(slugs[0]!, 3);
  changes.push(`3 new pipelines in ${slugs[0]}`);
  if (slugs[1]) {
    world.addPipelines(slugs[1], 1);
    changes.push(`1 new pipeline in ${slugs[1]}`);
  }
  const rerunOf = firstSyncPipelines[0];
  if (rerunOf) {
    world.rerunWorkflow(rerunOf);
    changes.push('a workflow rerun on an already synced pipeline');
  }
  changes.push(`${world.finishRunningWorkflows()} running workflows finished`);
  const schedule = world.truth('schedule')[0];
  if (schedule) {
    world.editSchedule(String(schedule.id));
    changes.push('a schedule edited');
  }
  world.addDeployEnvironment(String(world.collaborations()[0]!.id), 'demo-env');
  changes.push('a deploy environment added');
  return changes;
}

function table(streams: string[], first: SyncResult, second: SyncResult): string {
  const header = ['stream', 'records 1st sync', 'records 2nd sync', 'requests 1st', 'requests 2nd'];
  const rows = streams.map((s) => [s, first.records.get(s) ?? 0, second.records.get(s) ?? 0, first.requests.get(s) ?? 0, second.requests.get(s) ?? 0].map(String));
  for (const extra of new Set([...first.requests.keys(), ...second.requests.keys()])) {
    if (!streams.includes(extra)) rows.push([extra, '', '', String(first.requests.get(extra) ?? 0), String(second.requests.get(extra) ?? 0)]);
  }
  const sum = (m: Map<string, number>): number => [...m.values()].reduce((a, b) => a + b, 0);
  rows.push(['total', String(sum(first.records)), String(sum(second.records)), String(first.totalRequests), String(second.totalRequests)]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(header), rule, ...rows.slice(0, -1).map(line), rule, line(rows.at(-1)!)].join('\n') + '\n';
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { seed: { type: 'string', default: '1' }, size: { type: 'string', default: 'small' }, 'keep-config': { type: 'boolean', default: false } },
  });
  const size = values.size === 'tiny' ? 'tiny' : 'small';
  const world = createWorld({ preset: size, seed: Number(values.seed) });
  // The built connector waits for real between polls of a usage export: here jobs are ready at once.
  configureUsageExport(world, { createdPolls: 0, processingPolls: 0 });
  const fake = await startFakeCircleCi({ world });
  const out = mkdtempSync(join(tmpdir(), 'source-circleci-demo-'));
  const token = world.token;
  try {
    const slugs = world.projectSlugs();
    const files = { config: join(out, 'config.json'), catalog: join(out, 'catalog.json'), state: join(out, 'state-after-sync-1.json') };
    writeFileSync(files.config, JSON.stringify({ api_token: token, project_slugs: slugs, start_date: '2020-01-01', api_url: fake.url, requests_per_minute: 100_000 }));
    write(`Fake CircleCI (${size} world, seed ${values.seed}) at ${fake.url}: ${world.collaborations().length} organizations, ${slugs.length} projects\n`);

    const check = parseLines((await connector(['check', '--config', files.config], token, 'check')).stdout).find((m) => m.type === 'CONNECTION_STATUS');
    write(`check: ${check?.connectionStatus.status}\n`);
    const catalog = parseLines((await connector(['discover', '--config', files.config], token, 'discover')).stdout).find((m) => m.type === 'CATALOG')!.catalog;
    const streams = (catalog.streams as Array<Record<string, any>>).map((s) => s.name as string);
    writeFileSync(
      files.catalog,
      JSON.stringify({
        streams: catalog.streams.map((stream: Record<string, any>) => {
          const incremental = stream.supported_sync_modes.includes('incremental');
          return { stream, sync_mode: incremental ? 'incremental' : 'full_refresh', destination_sync_mode: incremental ? 'append_dedup' : 'overwrite' };
        }),
      }),
    );
    write(`discover: ${streams.length} streams\n`);

    const first = await sync(fake, token, { config: files.config, catalog: files.catalog }, join(out, 'sync-1.jsonl'), 'first read');
    writeFileSync(files.state, JSON.stringify(first.finalState, null, 2));
    // A rerun on a pipeline the first read already saw: its updated_at does not change.
    const oldPipelines = parseLines(readFileSync(join(out, 'sync-1.jsonl'), 'utf8'))
      .filter((m) => m.type === 'RECORD' && m.record.stream === 'pipelines' && m.record.data.project_slug === (slugs[2] ?? slugs[0]))
      .map((m) => String(m.record.data.id));
    const changes = moveWorld(world, slugs, oldPipelines);
    write(`The world moved on by an hour: ${changes.join('; ')}.\n`);
    const second = await sync(fake, token, files, join(out, 'sync-2.jsonl'), 'second read');
    writeFileSync(join(out, 'state-after-sync-2.json'), JSON.stringify(second.finalState, null, 2));

    write(`\nfirst read (full history): ${first.seconds.toFixed(1)} s; second read (incremental from the first one's state): ${second.seconds.toFixed(1)} s\n\n`);
    write(table(streams, first, second));
    if (!values['keep-config']) rmSync(files.config);
    write(`\nOutputs in ${out}:\n`);
    write('  sync-1.jsonl, sync-2.jsonl              every message each read printed (one Airbyte message per line)\n');
    write('  catalog.json                            the configured catalog both reads used\n');
    write('  state-after-sync-1.json                 the state the second read started from\n');
    write('  state-after-sync-2.json                 the state a third read would start from\n');
    if (values['keep-config']) write('  config.json                             the config (holds the fake world\'s token)\n');
  } finally {
    await fake.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`demo: ${error instanceof DemoError ? error.message : (error as Error).stack}\n`);
  process.exitCode = 1;
});
