/**
 * The connector's fan-out against the fake API, asserted on behaviour, never on time:
 * how many requests are in flight at the server, which requests are made (each once,
 * no more than the world needs), how a rate-limited server is treated, and that a
 * blocked stdout stops new requests (the bound on memory).
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { Writable } from 'node:stream';
import { dispatch } from '../../src/commands/dispatch.js';
import { Emitter } from '../../src/protocol/emitter.js';
import { createWorld, startFakeCircleCi, type FaultOptions, type RunningFake, type World } from '../../tools/fake-circleci/index.js';
import type { RequestLogEntry } from '../../tools/fake-circleci/dispatch.js';
import { worldFigures } from '../../tools/bench/world-figures.js';
import { CORE_STREAMS, coreStreams, dedupe, fakeConfig, parseRun, readCommand, runRead, type RunResult } from '../support/connector.js';

const START = '2025-01-01T00:00:00Z';

/** The fake the current test started; closed after it. */
let current: RunningFake | undefined;
afterEach(async () => {
  await current?.close();
  current = undefined;
});

/** A fake over `world` that logs every request it answers. */
async function startLogged(world: World, faults: FaultOptions = {}): Promise<{ fake: RunningFake; log: RequestLogEntry[] }> {
  const log: RequestLogEntry[] = [];
  current = await startFakeCircleCi({ world, faults, onRequest: (entry) => log.push(entry) });
  return { fake: current, log };
}

function configFor(world: World, url: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return fakeConfig(world, url, { project_slugs: world.projectSlugs(), start_date: START, ...extra });
}

/** Every stream's records equal the world's truth, and none was emitted twice. */
function expectComplete(run: RunResult, world: World): void {
  expect(run.errors).toEqual([]);
  expect(run.exitCode).toBe(0);
  for (const stream of CORE_STREAMS) {
    const emitted = run.records.get(stream) ?? [];
    const truth = world.truth(stream, { projectSlugs: world.projectSlugs(), startDate: START }) as Array<Record<string, unknown>>;
    expect(dedupe(stream, emitted).size).toBe(emitted.length);
    expect(dedupe(stream, emitted)).toEqual(dedupe(stream, truth));
  }
}

describe('a latency-bound sync', () => {
  // Latency far above what the connector needs to start a request, even on a loaded 2-core machine, so every slot fills.
  it('keeps max_concurrency requests in flight at the server and never more, walking the projects at once', async () => {
    const world = createWorld({ preset: 'small', seed: 3 });
    const { fake, log } = await startLogged(world, { latency: { fixedMs: 250 } });
    const run = await runRead({ config: configFor(world, fake.url, { max_concurrency: 6 }), streams: coreStreams() });
    expectComplete(run, world);
    expect(fake.stats.peakInFlight).toBe(6);
    // Every project's first pipeline page is answered before any project's second one.
    const projects = world.projectSlugs().length;
    const firstPages = log.filter((entry) => entry.route === 'pipelines').slice(0, projects);
    expect(firstPages.every((entry) => !entry.path.includes('page-token'))).toBe(true);
    expect(new Set(firstPages.map((entry) => entry.path)).size).toBe(projects);
  });

  it('makes exactly the requests the world needs, none of them twice', async () => {
    const world = createWorld({ preset: 'small', seed: 4, pipelinesPerProject: 40 });
    const { fake, log } = await startLogged(world, { latency: { fixedMs: 2 } });
    const run = await runRead({ config: configFor(world, fake.url, { max_concurrency: 16 }), streams: coreStreams() });
    expectComplete(run, world);
    const perUrl = new Map<string, number>();
    for (const entry of log) perUrl.set(entry.path, (perUrl.get(entry.path) ?? 0) + 1);
    expect([...perUrl].filter(([, count]) => count > 1)).toEqual([]);
    const figures = worldFigures(world, 100);
    expect(fake.stats.byRoute).toEqual(figures.minimumByRoute);
    expect(fake.stats.total).toBe(figures.minimum);
  });
});

describe('a rate-limited server, its limit unknown to the connector (default config)', () => {
  it('announcing its quota in headers gets almost no 429s', async () => {
    // Four pipelines per project: about the requests a full sync made before job details and tests (~350).
    const world = createWorld({ preset: 'small', seed: 5, pipelinesPerProject: 4 });
    // 40 requests per second: below what the connector climbs to at 5 ms a request.
    const { fake } = await startLogged(world, { latency: { fixedMs: 5 }, rateLimit: { requestsPerMinute: 40, windowMs: 1_000 } });
    const run = await runRead({ config: configFor(world, fake.url, { requests_per_minute: undefined }), streams: coreStreams() });
    expectComplete(run, world);
    expect(fake.stats.total).toBeGreaterThan(100);
    expect(fake.stats.rateLimited).toBeLessThanOrEqual(Math.ceil(0.02 * fake.stats.total));
  });

  it('answering bare 429s (no headers) still gets a complete sync, with the 429s a small share of the requests', async () => {
    const world = createWorld({ preset: 'small', seed: 6, pipelinesPerProject: 4 });
    // 100 requests per 5 s window, refused with nothing but the status: the first burst meets it on any machine.
    const { fake } = await startLogged(world, { latency: { fixedMs: 5 }, rateLimit: { requestsPerMinute: 100, windowMs: 5_000, headers: false } });
    const run = await runRead({ config: configFor(world, fake.url, { requests_per_minute: undefined }), streams: coreStreams() });
    expectComplete(run, world);
    expect(fake.stats.rateLimited).toBeGreaterThan(0);
    expect(fake.stats.rateLimited).toBeLessThanOrEqual(Math.ceil(0.05 * fake.stats.total));
    expect(run.logs.some((log) => /^read complete: .*rate [\d,]+\/min \((limit [\d,]+\/min|no limit shown)\), [1-9]\d* × 429$/.test(log.message))).toBe(true);
  });
});

/** stdout that accepts lines until `blockAfter` records have gone through, then holds every write until released. */
class GatedStdout extends Writable {
  text = '';
  records = 0;
  blockedAt: number | undefined;
  private readonly held: Array<() => void> = [];
  private open = false;

  constructor(
    private readonly blockAfter: number,
    private readonly onBlock: () => void,
  ) {
    super({ highWaterMark: 16 * 1024 });
  }

  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    const text = chunk.toString('utf8');
    this.text += text;
    this.records += text.split('"type":"RECORD"').length - 1;
    if (this.open || this.records < this.blockAfter) {
      done();
      return;
    }
    if (this.blockedAt === undefined) {
      this.blockedAt = this.records;
      this.onBlock();
    }
    this.held.push(done);
  }

  release(): void {
    this.open = true;
    for (const done of this.held.splice(0)) done();
  }
}

describe('backpressure from stdout', () => {
  it('a consumer that stops reading stops the requests after a bounded few; once it reads again the sync completes', async () => {
    const world = createWorld({ preset: 'small', seed: 7, pipelinesPerProject: 150 });
    const { fake } = await startLogged(world);
    const maxConcurrency = 4;
    let requestsAtBlock = 0;
    const stdout = new GatedStdout(1_500, () => (requestsAtBlock = fake.stats.total));
    const finished = dispatch(readCommand({ config: configFor(world, fake.url, { max_concurrency: maxConcurrency }), streams: coreStreams() }), new Emitter(stdout));
    // Wait until no request has been made for a while (the sync is stalled on stdout).
    let seen = -1;
    while (stdout.blockedAt === undefined || fake.stats.total !== seen || fake.stats.inFlight > 0) {
      seen = fake.stats.total;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const stalledAt = fake.stats.total;
    const needed = worldFigures(world, 100).minimum;
    // What was already queued or in flight finishes; nothing new starts. The bound is the
    // pipelines being read (2 × max_concurrency), each with a workflow list, a job list per
    // workflow and a job's details and first test page per job, plus a pipeline page per
    // project walk: it depends on the concurrency.
    const workflows = world.options.workflowsPerPipeline;
    const jobs = workflows * Math.max(world.options.jobsPerWorkflow, 3);
    const bound = 2 * maxConcurrency * (1 + workflows + 1 + 2 * jobs) + 2 * world.projectSlugs().length;
    expect(stalledAt - requestsAtBlock).toBeLessThanOrEqual(bound);
    expect(stalledAt).toBeLessThan(needed / 4);
    stdout.release();
    const exitCode = await finished;
    expectComplete(parseRun(stdout.text, exitCode), world);
    expect(fake.stats.total).toBe(needed);
    // A whole sync of 150 pipelines per project, job details and tests included: give a loaded machine time.
  }, 180_000);
});
