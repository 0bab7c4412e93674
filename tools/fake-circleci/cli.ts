#!/usr/bin/env node
// Start the fake CircleCI API server from the command line.
//
//   node dist/tools/fake-circleci/cli.js --port 8080 --size small --seed 1 [fault flags]
//
// Prints ONE JSON line to stdout: {"url", "api_url", "token", "project_token",
// "project_slugs"}. With --config-out FILE, also writes a connector config for this fake
// there. Logs requests to stderr with --verbose. Exits 0 on SIGINT/SIGTERM, and when the
// process that started it ends (`npm run fake-circleci` stopped by its PID).

import { mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { FaultOptions, FaultTarget } from './faults.js';
import { startFakeCircleCi } from './server.js';
import { configureUsageExport, type UsageExportOptions } from './usage-export.js';
import { benchmarkOptions, createWorld, type PresetName, type WorldInit } from './world.js';

const USAGE = `Usage: fake-circleci [options]

World:
  --port N                 listen port on 127.0.0.1 (default 8080; 0 = random)
  --size tiny|small|benchmark|many-projects   preset (default small)
  --seed N                 world seed (default 1)
  --orgs N --projects-per-org N --pipelines N --workflows N --jobs N
                           override preset sizes (workflows/jobs are maxima)
  --jobs-target N          benchmark shape with pipelines sized for about N jobs
                           (size flags above still override it)
  --page-size N            page size of list routes (default 20; tiny 2)
  --now ISO                world clock (default 2026-11-01T00:00:00.000Z)
  --page-token-ttl-ms N    page tokens older than N ms of world time answer 404
  --usage-export complete|fail|stuck   how usage export jobs end (default complete)
  --usage-export-polls N   GET polls a usage export job answers created (1) and processing (N);
                           default: none, a job is completed at its first poll
  --usage-export-stuck-orgs a,b     org ids whose usage export jobs stay processing
  --usage-export-missing-orgs a,b   org ids without the usage export (POST answers 404)

Faults (rates are probabilities per matching request, seeded by --fault-seed):
  --latency-ms N --jitter-ms N
  --rpm N [--rate-window-ms N] --max-concurrency N [--retry-after S] [--bare-429]
  --error-rate R [--error-status 500] [--error-burst N]
  --html-rate R [--html-status 502]
  --reset-rate R --hang-rate R --truncate-rate R
  --fault-route a,b        limit the rate faults above to these route names
  --fault-times N          each rate fault fires at most N times
  --fault-after N          each rate fault lets the first N matching requests through
  --not-found-ids a,b      pipeline/workflow/job ids answering 404
  --forbidden-group-orgs a,b   org ids whose groups answer 403
  --forbidden-projects a,b     project slugs whose env vars, checkout keys and webhooks answer 403
  --revoke-after N         the token answers 401 after N requests
  --repeat-token-route R   page token repeats forever on route R
  --fault-seed N
  --verbose                log every request to stderr
  --config-out FILE        write a connector config for this fake to FILE
                           (api_url, token, every project, start_date)
`;

/** How often the server checks that the process that started it still runs. */
const PARENT_CHECK_MS = 500;

function int(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`--${name} expects a number, got ${v}`);
  return n;
}

function list(v: string | undefined): string[] | undefined {
  return v === undefined ? undefined : v.split(',').map((s) => s.trim()).filter(Boolean);
}

/** The object without its undefined-valued keys. */
function definedOnly<T extends object>(options: T): T {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as T;
}

/**
 * The counts of the benchmark shape sized for about `jobs` jobs; the rest (page size,
 * contexts, clock) stays the preset's, and explicit size flags still win.
 */
function jobsTargetSizing(jobs: number): WorldInit {
  const { organizations, projectsPerOrg, pipelinesPerProject, workflowsPerPipeline, jobsPerWorkflow } = benchmarkOptions(jobs);
  return { organizations, projectsPerOrg, pipelinesPerProject, workflowsPerPipeline, jobsPerWorkflow };
}

export function parseCli(argv: string[]): {
  port: number;
  world: WorldInit;
  faults: FaultOptions;
  usageExport: Partial<UsageExportOptions>;
  verbose: boolean;
  configOut: string | undefined;
  help: boolean;
} {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      port: { type: 'string' },
      size: { type: 'string' },
      seed: { type: 'string' },
      orgs: { type: 'string' },
      'projects-per-org': { type: 'string' },
      pipelines: { type: 'string' },
      workflows: { type: 'string' },
      jobs: { type: 'string' },
      'jobs-target': { type: 'string' },
      'page-size': { type: 'string' },
      now: { type: 'string' },
      'page-token-ttl-ms': { type: 'string' },
      'usage-export': { type: 'string' },
      'usage-export-polls': { type: 'string' },
      'usage-export-stuck-orgs': { type: 'string' },
      'usage-export-missing-orgs': { type: 'string' },
      'latency-ms': { type: 'string' },
      'jitter-ms': { type: 'string' },
      rpm: { type: 'string' },
      'rate-window-ms': { type: 'string' },
      'max-concurrency': { type: 'string' },
      'retry-after': { type: 'string' },
      'bare-429': { type: 'boolean' },
      'error-rate': { type: 'string' },
      'error-status': { type: 'string' },
      'error-burst': { type: 'string' },
      'html-rate': { type: 'string' },
      'html-status': { type: 'string' },
      'reset-rate': { type: 'string' },
      'hang-rate': { type: 'string' },
      'truncate-rate': { type: 'string' },
      'fault-route': { type: 'string' },
      'fault-times': { type: 'string' },
      'fault-after': { type: 'string' },
      'not-found-ids': { type: 'string' },
      'forbidden-group-orgs': { type: 'string' },
      'forbidden-projects': { type: 'string' },
      'revoke-after': { type: 'string' },
      'repeat-token-route': { type: 'string' },
      'fault-seed': { type: 'string' },
      verbose: { type: 'boolean' },
      'config-out': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const size = (values.size ?? 'small') as PresetName;
  if (!['tiny', 'small', 'benchmark'].includes(size)) throw new Error(`--size must be tiny, small or benchmark`);
  const jobsTarget = int(values['jobs-target'], 'jobs-target');
  // Flags left out must not reach the world as `undefined` keys: spread after the
  // --jobs-target sizing, those would erase it.
  const explicit = definedOnly<WorldInit>({
    seed: int(values.seed, 'seed') ?? 1,
    organizations: int(values.orgs, 'orgs'),
    projectsPerOrg: int(values['projects-per-org'], 'projects-per-org'),
    pipelinesPerProject: int(values.pipelines, 'pipelines'),
    workflowsPerPipeline: int(values.workflows, 'workflows'),
    jobsPerWorkflow: int(values.jobs, 'jobs'),
    pageSize: int(values['page-size'], 'page-size'),
    now: values.now,
    pageTokenTtlMs: int(values['page-token-ttl-ms'], 'page-token-ttl-ms'),
  });
  const world: WorldInit = {
    preset: size,
    ...(jobsTarget !== undefined ? jobsTargetSizing(jobsTarget) : {}),
    ...explicit,
  };
  const target1 = (rate: string | undefined, name: string): FaultTarget | undefined => {
    const r = int(rate, name);
    if (r === undefined) return undefined;
    return {
      rate: r,
      route: list(values['fault-route']),
      times: int(values['fault-times'], 'fault-times'),
      after: int(values['fault-after'], 'fault-after'),
    };
  };
  const faults: FaultOptions = { seed: int(values['fault-seed'], 'fault-seed') ?? 1 };
  const latencyMs = int(values['latency-ms'], 'latency-ms');
  const jitterMs = int(values['jitter-ms'], 'jitter-ms');
  if (latencyMs !== undefined || jitterMs !== undefined) faults.latency = { fixedMs: latencyMs, jitterMs };
  const rpm = int(values.rpm, 'rpm');
  const maxConcurrent = int(values['max-concurrency'], 'max-concurrency');
  if (rpm !== undefined || maxConcurrent !== undefined) {
    faults.rateLimit = {
      requestsPerMinute: rpm,
      maxConcurrent,
      windowMs: int(values['rate-window-ms'], 'rate-window-ms'),
      retryAfterSeconds: int(values['retry-after'], 'retry-after'),
      headers: !values['bare-429'],
    };
  }
  const errors = target1(values['error-rate'], 'error-rate');
  if (errors) {
    faults.serverErrors = {
      ...errors,
      status: int(values['error-status'], 'error-status'),
      burst: int(values['error-burst'], 'error-burst'),
    };
  }
  const html = target1(values['html-rate'], 'html-rate');
  if (html) faults.htmlErrors = { ...html, status: int(values['html-status'], 'html-status') };
  const resets = target1(values['reset-rate'], 'reset-rate');
  if (resets) faults.resets = resets;
  const hangs = target1(values['hang-rate'], 'hang-rate');
  if (hangs) faults.hangs = hangs;
  const truncated = target1(values['truncate-rate'], 'truncate-rate');
  if (truncated) faults.truncated = truncated;
  const notFound = list(values['not-found-ids']);
  if (notFound) faults.notFoundIds = notFound;
  const forbidden = list(values['forbidden-group-orgs']);
  if (forbidden) faults.forbiddenGroupOrgs = forbidden;
  const forbiddenProjects = list(values['forbidden-projects']);
  if (forbiddenProjects) faults.forbiddenProjects = forbiddenProjects;
  const revoke = int(values['revoke-after'], 'revoke-after');
  if (revoke !== undefined) faults.revokeTokenAfter = revoke;
  if (values['repeat-token-route']) faults.repeatPageToken = values['repeat-token-route'];
  const outcome = values['usage-export'];
  if (outcome !== undefined && !['complete', 'fail', 'stuck'].includes(outcome)) {
    throw new Error('--usage-export must be complete, fail or stuck');
  }
  // By hand, the connector waits for real between polls: jobs are ready at once unless asked otherwise.
  const polls = int(values['usage-export-polls'], 'usage-export-polls');
  const usageExport = definedOnly<Partial<UsageExportOptions>>({
    outcome: outcome as UsageExportOptions['outcome'] | undefined,
    ...(polls === undefined ? { createdPolls: 0, processingPolls: 0 } : { processingPolls: polls }),
    stuckOrganizations: list(values['usage-export-stuck-orgs']),
    unavailableOrganizations: list(values['usage-export-missing-orgs']),
  });
  return {
    port: int(values.port, 'port') ?? 8080,
    world,
    faults,
    usageExport,
    verbose: values.verbose ?? false,
    configOut: values['config-out'],
    help: values.help ?? false,
  };
}

async function main(): Promise<void> {
  let parsed: ReturnType<typeof parseCli>;
  try {
    parsed = parseCli(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (parsed.help) {
    process.stdout.write(USAGE);
    return;
  }
  const world = createWorld(parsed.world);
  configureUsageExport(world, parsed.usageExport);
  const fake = await startFakeCircleCi({
    world,
    faults: parsed.faults,
    port: parsed.port,
    onRequest: parsed.verbose
      ? (e) => process.stderr.write(`${e.method} ${e.path} -> ${e.outcome} [${e.route}] ${e.ms}ms\n`)
      : undefined,
  });
  if (parsed.configOut !== undefined) {
    // The projects the fake serves, from the start of its world: a read of every stream
    // against it is the README's walk-through, so the config must match this world. Written
    // before the line on stdout, which tells a caller that everything is ready.
    const config = { api_token: world.token, project_slugs: world.projectSlugs(), start_date: '2020-01-01T00:00:00Z', api_url: fake.apiUrl };
    mkdirSync(dirname(parsed.configOut), { recursive: true });
    writeFileSync(parsed.configOut, `${JSON.stringify(config, null, 2)}\n`);
    process.stderr.write(`fake-circleci: wrote a config for ${fake.apiUrl} to ${parsed.configOut}\n`);
  }
  process.stdout.write(
    `${JSON.stringify({
      url: fake.url,
      api_url: fake.apiUrl,
      token: world.token,
      project_token: world.projectToken,
      project_slugs: world.projectSlugs(),
    })}\n`,
  );
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    fake.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  // A parent killed without passing its signal on (npm by SIGKILL, a closed terminal's
  // shell) leaves this process to init: its parent changes, and the server would serve on.
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) stop();
  }, PARENT_CHECK_MS).unref();
}

// Run only when executed (importing the module for parseCli has no side effects).
const invoked = process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
if (invoked) await main();
