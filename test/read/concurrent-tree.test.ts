/**
 * The organization tree and the project histories run side by side, and an organization's
 * project details are fetched several at a time. Shown against the fake API with latency,
 * from the order in which the fake received and answered requests (never from timings):
 *
 * - both sides have requests in flight at the same moment, and the data is unchanged;
 * - a token revoked while both run ends the read with one TRACE ERROR (config_error),
 *   exit 1, nothing written after the final messages, and a resume completes the data;
 * - a request refused in one part (401/403/400 on one route) fails only that part; the
 *   token refused outright (401 on /me) stops both sides from starting further work;
 * - project details overlap, keep the listing's order, and a listed project that
 *   answers 404 is skipped with a log line.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';

import { dispatch } from '../../src/commands/dispatch.js';
import { Emitter } from '../../src/protocol/emitter.js';
import { parseSelection } from '../../src/read/selection.js';
import { parseState } from '../../src/read/state-input.js';
import { INSIGHTS_STREAMS } from '../../src/streams/insights.js';
import { STREAM_NAMES } from '../../src/streams/schemas/index.js';
import {
  createFaults,
  createWorld,
  FakeStats,
  INVENTORY_ROUTE_NAMES,
  startFakeCircleCi,
  FaultController,
  type FaultOptions,
  type RequestLogEntry,
  type RunningFake,
  type World,
} from '../../tools/fake-circleci/index.js';
import { allStreams, catalogOf, dedupe, fakeConfig, LineSink, parseRun, readCommand, type RunResult } from '../support/connector.js';
import { lastStates } from '../reliability/harness.js';

const START = '2026-08-01T00:00:00Z';
/**
 * The streams read here: the organization tree and the project histories. Not the export
 * (usage: test/read/usage.test.ts) nor the Insights roots, further sides that are not what
 * this is about (test/read/insights.test.ts).
 */
const STREAMS = Object.fromEntries(Object.entries(allStreams()).filter(([name]) => !Object.hasOwn(INSIGHTS_STREAMS, name))) as ReturnType<typeof allStreams>;
const NAMES = STREAM_NAMES.filter((name) => name in STREAMS);

/** Routes the organization tree reads, and those the project histories read (`me`: the token check after a 401, counted with the tree). */
const TREE_ROUTES = new Set(['me', 'collaborations', 'contexts', 'groups', 'deploy_environments', 'private_projects', 'project', 'pipeline_definitions', 'triggers', 'schedules', ...INVENTORY_ROUTE_NAMES]);
const HISTORY_ROUTES = new Set(['pipelines', 'pipeline_workflows', 'workflow', 'workflow_jobs', 'job_details', 'job_tests']);

type Side = 'tree' | 'history';

interface TimelineEvent {
  /** `abort`: an AbortController in this process was aborted (the read hearing of a fatal error). */
  kind: 'begin' | 'end' | 'abort';
  route: string;
  /** Set on `end`: the request path and the answer's status. */
  path?: string;
  outcome?: RequestLogEntry['outcome'];
}

/**
 * The fake's requests in the order it received and answered them: `begin` when a request
 * arrives (before any latency), `end` when its answer is sent.
 */
class Timeline extends FakeStats {
  readonly events: TimelineEvent[] = [];

  override begin(route: string): void {
    super.begin(route);
    this.events.push({ kind: 'begin', route });
  }

  readonly onRequest = (entry: RequestLogEntry): void => {
    this.events.push({ kind: 'end', route: entry.route, path: entry.path, outcome: entry.outcome });
  };

  /** For each request's arrival: its side and how many requests of each side were in flight just before. */
  arrivals(): Array<{ index: number; side: Side; route: string; inFlight: Record<Side, number> }> {
    const inFlight: Record<Side, number> = { tree: 0, history: 0 };
    const out: Array<{ index: number; side: Side; route: string; inFlight: Record<Side, number> }> = [];
    this.events.forEach((event, index) => {
      const side = sideOf(event.route);
      if (event.kind === 'begin') {
        out.push({ index, side, route: event.route, inFlight: { ...inFlight } });
        inFlight[side] += 1;
      } else if (event.kind === 'end') {
        inFlight[side] -= 1;
      }
    });
    return out;
  }

  /** Requests of one side that arrived before event `index` (all of them without it). */
  arrived(side: Side, before = this.events.length, route?: string): number {
    return this.events.slice(0, before).filter((event) => event.kind === 'begin' && sideOf(event.route) === side && (route === undefined || event.route === route)).length;
  }

  /** The index of the first answer with this status (-1 if none). */
  firstAnswer(status: number): number {
    return this.events.findIndex((event) => event.kind === 'end' && event.outcome === status);
  }

  /** The index of the first abort after event `after` (-1 if none). */
  firstAbortAfter(after: number): number {
    return this.events.findIndex((event, index) => index > after && event.kind === 'abort');
  }

  /** Puts an `abort` event on the timeline whenever an AbortController aborts, until restored. */
  watchAborts(): { mockRestore(): void } {
    const abort = AbortController.prototype.abort;
    const events = this.events;
    return jest.spyOn(AbortController.prototype, 'abort').mockImplementation(function (this: AbortController, reason?: unknown) {
      events.push({ kind: 'abort', route: '' });
      abort.call(this, reason);
    });
  }
}

function sideOf(route: string): Side {
  if (TREE_ROUTES.has(route)) return 'tree';
  if (HISTORY_ROUTES.has(route)) return 'history';
  throw new Error(`a read requested route ${route}, which neither side reads`);
}

interface WatchedRun extends RunResult {
  /** Whatever was written after `read` returned, once the fake had answered every request. */
  writtenAfterReturn: string;
}

/** `read` in-process (as runRead does), keeping the output open after it returns to catch late writes. */
async function readWatched(fake: RunningFake, config: Record<string, unknown>, state?: unknown): Promise<WatchedRun> {
  const sink = new LineSink();
  const exitCode = await dispatch(readCommand({ config, streams: STREAMS, state }), new Emitter(sink));
  const atReturn = sink.text.length;
  // Anything still running behind the read's back would write once its answer lands.
  while (fake.stats.inFlight > 0) await new Promise((resolve) => setTimeout(resolve, 10));
  await new Promise((resolve) => setTimeout(resolve, 50));
  return { ...parseRun(sink.text.slice(0, atReturn), exitCode), writtenAfterReturn: sink.text.slice(atReturn) };
}

interface Setup {
  world: World;
  fake: RunningFake;
  timeline: Timeline;
  faults: FaultController;
  config: Record<string, unknown>;
  slugs: string[];
}

/**
 * Three organizations, one project each; 30 pipelines per project in pages of 2, so the
 * histories take many round trips; every answer 20 ms late.
 */
async function setUp(faults: FaultOptions = {}): Promise<Setup> {
  const world = createWorld({ preset: 'tiny', seed: 7, pipelinesPerProject: 30 });
  const timeline = new Timeline();
  const controller = createFaults({ latency: { fixedMs: 20 }, ...faults });
  const fake = await startFakeCircleCi({ world, faults: controller, stats: timeline, onRequest: timeline.onRequest });
  const slugs = world.projects.map((project) => project.slug);
  const config = fakeConfig(world, fake.url, { project_slugs: slugs, start_date: START });
  return { world, fake, timeline, faults: controller, config, slugs };
}

/** A config for one organization's world: its first project configured, `maxConcurrency` in flight. */
function firstProjectConfig(world: World, fake: RunningFake, maxConcurrency: number): Record<string, unknown> {
  return fakeConfig(world, fake.url, { project_slugs: [world.projects[0]!.slug], start_date: START, max_concurrency: maxConcurrency });
}

function statusesOf(run: RunResult, stream: string): string[] {
  return run.messages
    .filter((m) => m.type === 'TRACE' && m.trace.type === 'STREAM_STATUS' && m.trace.stream_status.stream_descriptor.name === stream)
    .map((m) => m.trace.stream_status.status as string);
}

const isFinalStatus = (m: Record<string, any>) =>
  m.type === 'TRACE' && m.trace.type === 'STREAM_STATUS' && ['COMPLETE', 'INCOMPLETE'].includes(m.trace.stream_status.status);

/**
 * The end of a failed read: every stream's one final status, with only final STATEs among
 * them, then the TRACE ERROR as the very last message; nothing written after it.
 */
function expectCleanEnding(run: WatchedRun): void {
  const firstFinal = run.messages.findIndex(isFinalStatus);
  expect(firstFinal).toBeGreaterThan(0);
  const ending = run.messages.slice(firstFinal);
  const last = ending.pop()!;
  expect(last.type === 'TRACE' && last.trace.type === 'ERROR').toBe(true);
  for (const message of ending) expect(message.type === 'STATE' || isFinalStatus(message)).toBe(true);
  for (const name of NAMES) expect(statusesOf(run, name).filter((s) => s === 'COMPLETE' || s === 'INCOMPLETE')).toHaveLength(1);
  expect(run.writtenAfterReturn).toBe('');
}

function expectEqualsTruth(world: World, slugs: string[], ...runs: RunResult[]): void {
  for (const name of NAMES) {
    const truth = dedupe(name, world.truth(name, { projectSlugs: slugs, startDate: START }) as Array<Record<string, unknown>>);
    expect(truth.size).toBeGreaterThan(0);
    expect(dedupe(name, ...runs.map((run) => run.records.get(name)))).toEqual(truth);
  }
}

describe('the organization tree and the project histories run side by side', () => {
  let setup: Setup;
  let full: WatchedRun;
  /** Requests a full read makes on each side (the yardstick for the failing reads below). */
  let fullTree: number;
  let fullHistory: number;
  let fullPipelinePages: number;

  beforeAll(async () => {
    setup = await setUp();
    full = await readWatched(setup.fake, setup.config);
    fullTree = setup.timeline.arrived('tree');
    fullHistory = setup.timeline.arrived('history');
    fullPipelinePages = setup.timeline.arrived('history', undefined, 'pipelines');
  });
  afterAll(() => setup.fake.close());

  it('emits exactly the world, nothing twice, every stream COMPLETE with its state', () => {
    expect(full.errors).toEqual([]);
    expect(full.exitCode).toBe(0);
    expectEqualsTruth(setup.world, setup.slugs, full);
    for (const name of NAMES) {
      expect((full.records.get(name) ?? []).length).toBe(dedupe(name, full.records.get(name)).size);
      expect(statusesOf(full, name)).toEqual(['STARTED', 'RUNNING', 'COMPLETE']);
    }
    expect(full.writtenAfterReturn).toBe('');
  });

  it('requests of the tree and of the histories are in flight at the same time, each side arriving while the other waits', () => {
    const arrivals = setup.timeline.arrivals();
    // Run one after the other, no request of one side would ever meet one of the other.
    const treeMeetsHistory = arrivals.filter((a) => a.side === 'tree' && a.inFlight.history > 0);
    const historyMeetsTree = arrivals.filter((a) => a.side === 'history' && a.inFlight.tree > 0);
    expect(treeMeetsHistory.length).toBeGreaterThan(0);
    expect(historyMeetsTree.length).toBeGreaterThan(0);
    // The histories do not wait for the tree: their first request arrives long before the tree's last.
    const firstHistory = arrivals.find((a) => a.side === 'history')!;
    const lastTree = arrivals.findLast((a) => a.side === 'tree')!;
    expect(firstHistory.index).toBeLessThan(lastTree.index);
  });

  describe.each([8, 20])('the token is revoked after %i requests, while both sides run', (allowed) => {
    let failing: Setup;
    let first: WatchedRun;
    let resumed: WatchedRun;

    beforeAll(async () => {
      failing = await setUp({ revokeTokenAfter: allowed });
      first = await readWatched(failing.fake, failing.config);
      failing.faults.set({ latency: { fixedMs: 20 } }); // a new token; the user runs the sync again
      resumed = await readWatched(failing.fake, failing.config, lastStates(first));
    });
    afterAll(() => failing.fake.close());

    it('both sides were under way, neither done, when the first 401 was answered', () => {
      const first401 = failing.timeline.firstAnswer(401);
      expect(first401).toBeGreaterThan(0);
      for (const [side, total] of [['tree', fullTree], ['history', fullHistory]] as const) {
        const before = failing.timeline.arrived(side, first401);
        expect(before).toBeGreaterThan(0);
        expect(before).toBeLessThan(total);
      }
    });

    it('ends with exactly one TRACE ERROR (config_error, naming the 401), exit 1, nothing after the final messages', () => {
      expect(first.exitCode).toBe(1);
      expect(first.errors).toHaveLength(1);
      expect(first.errors[0]!.failure_type).toBe('config_error');
      expect(first.errors[0]!.message).toContain('401');
      expect(first.errors[0]!.stream_descriptor).toBeUndefined();
      expectCleanEnding(first);
      // Neither side reported the other's 401 (or anything after it) as a failure of its own.
      expect(first.logs.filter((log) => log.level === 'ERROR')).toEqual([]);
    });

    it('no stream ends COMPLETE or with a final state: the 401 stopped both sides mid-way', () => {
      const firstFinal = first.messages.findIndex(isFinalStatus);
      expect(first.messages.slice(firstFinal).filter((m) => m.type === 'STATE')).toEqual([]);
      for (const name of NAMES) expect(statusesOf(first, name).at(-1)).toBe('INCOMPLETE');
    });

    it('the STATEs before it are valid, and resuming from them completes the data', () => {
      const selection = parseSelection(catalogOf(STREAMS));
      for (const state of first.states) expect(() => parseState([state], selection)).not.toThrow();
      expect(resumed.errors).toEqual([]);
      expect(resumed.exitCode).toBe(0);
      expectEqualsTruth(failing.world, failing.slugs, first, resumed);
    });
  });

  describe('a request refused in one part: that part ends INCOMPLETE, everything else completes with its state', () => {
    /** Exit 1, one TRACE ERROR (config_error) naming `route`, clean ending; `failed` INCOMPLETE after a final STATE, the rest COMPLETE. */
    function expectPartFailed(run: WatchedRun, failed: readonly string[], route: string): void {
      expect(run.exitCode).toBe(1);
      expect(run.errors).toHaveLength(1);
      expect(run.errors[0]!.failure_type).toBe('config_error');
      expect(run.errors[0]!.message).toContain(route);
      for (const name of failed) expect(run.errors[0]!.message).toContain(name);
      expectCleanEnding(run);
      const of = (m: Record<string, any>, type: string, name: string) =>
        m.type === type && (type === 'RECORD' ? m.record.stream === name : m.state.stream.stream_descriptor.name === name);
      for (const name of NAMES) {
        expect([name, statusesOf(run, name).at(-1)]).toEqual([name, failed.includes(name) ? 'INCOMPLETE' : 'COMPLETE']);
        // Every stream, a failed one too, ends with a STATE covering its last record (the emitter skips an unchanged one).
        if (!full.messages.some((m) => of(m, 'STATE', name))) continue;
        const lastRecord = run.messages.findLastIndex((m) => of(m, 'RECORD', name));
        expect([name, run.messages.findLastIndex((m) => of(m, 'STATE', name)) > lastRecord]).toEqual([name, true]);
      }
      expect(run.logs.some((log) => log.level === 'WARN' && log.message.includes(route) && failed.some((name) => log.message.startsWith(name)))).toBe(true);
    }

    /** Every stream not in `failed` equals the world; a resume from the final states completes the failed ones (their failed part's bookmark did not move). */
    async function expectResumeCompletes(failing: Setup, first: WatchedRun, failed: readonly string[]): Promise<void> {
      for (const name of NAMES) {
        if (failed.includes(name)) continue;
        const truth = dedupe(name, failing.world.truth(name, { projectSlugs: failing.slugs, startDate: START }) as Array<Record<string, unknown>>);
        expect([name, dedupe(name, first.records.get(name))]).toEqual([name, truth]);
      }
      failing.faults.set({ latency: { fixedMs: 20 } }); // the user fixed the access
      const resumed = await readWatched(failing.fake, failing.config, lastStates(first));
      expect(resumed.errors).toEqual([]);
      expect(resumed.exitCode).toBe(0);
      expectEqualsTruth(failing.world, failing.slugs, first, resumed);
    }

    it('the token refused on /context only (401): contexts INCOMPLETE, the histories and the rest of the tree complete', async () => {
      const failing = await setUp({ serverErrors: { route: 'contexts', status: 401 } });
      try {
        const run = await readWatched(failing.fake, failing.config);
        // context_env_vars is listed under each context: refused with it.
        expectPartFailed(run, ['context', 'context_env_vars'], '/api/v2/context');
        expect(run.errors[0]!.message).toContain('this resource only');
        await expectResumeCompletes(failing, run, ['context', 'context_env_vars']);
      } finally {
        await failing.fake.close();
      }
    });

    it('a 400 on one trigger listing: only that definition\'s triggers are missing', async () => {
      const failing = await setUp({ serverErrors: { route: 'triggers', status: 400, times: 1 } });
      try {
        const run = await readWatched(failing.fake, failing.config);
        expectPartFailed(run, ['trigger'], '/trigger');
        const truth = failing.world.truth('trigger', { projectSlugs: failing.slugs, startDate: START });
        expect((run.records.get('trigger') ?? []).length).toBeGreaterThan(0);
        expect((run.records.get('trigger') ?? []).length).toBeLessThan(truth.length);
        await expectResumeCompletes(failing, run, ['trigger']);
      } finally {
        await failing.fake.close();
      }
    });

    it("a 403 on one project's pipeline definitions: its definitions and triggers are missing, the others are read", async () => {
      const failing = await setUp({ serverErrors: { route: 'pipeline_definitions', status: 403, times: 1 } });
      try {
        const run = await readWatched(failing.fake, failing.config);
        expectPartFailed(run, ['pipeline_definition', 'trigger'], '403');
        expect((run.records.get('pipeline_definition') ?? []).length).toBeGreaterThan(0);
        await expectResumeCompletes(failing, run, ['pipeline_definition', 'trigger']);
      } finally {
        await failing.fake.close();
      }
    });

    it('the token refused on /me (401): the read stops at once, every stream INCOMPLETE, each project walk asks for at most one pipeline page more', async () => {
      const failing = await setUp({ serverErrors: { route: 'collaborations', status: 401 } });
      try {
        const run = await readWatched(failing.fake, failing.config);
        expect(run.exitCode).toBe(1);
        expect(run.errors).toHaveLength(1);
        expect(run.errors[0]!.failure_type).toBe('config_error');
        expect(run.errors[0]!.message).toContain('rejected the API token');
        expectCleanEnding(run);
        const firstFinal = run.messages.findIndex(isFinalStatus);
        expect(run.messages.slice(firstFinal).filter((m) => m.type === 'STATE')).toEqual([]);
        for (const name of NAMES) expect(statusesOf(run, name).at(-1)).toBe('INCOMPLETE');
        const fatal = failing.timeline.firstAnswer(401);
        const pipelinePages = failing.timeline.arrived('history', undefined, 'pipelines');
        const pipelinePagesAfter = pipelinePages - failing.timeline.arrived('history', fatal, 'pipelines');
        expect(pipelinePagesAfter).toBeLessThanOrEqual(failing.slugs.length);
        expect(pipelinePages).toBeLessThan(fullPipelinePages);
      } finally {
        await failing.fake.close();
      }
    });
  });
});

/** Holds the answer to the first project detail request long enough for later ones to overtake it. */
class SlowFirstDetail extends FaultController {
  private details = 0;

  override latencyMs(route: string): number {
    if (route === 'project' && this.details++ === 0) return 300;
    return super.latencyMs(route);
  }
}

describe("an organization's project details", () => {
  const PROJECTS = 8;
  let world: World;
  let fake: RunningFake;
  let timeline: Timeline;
  let run: WatchedRun;
  let missing: string;

  beforeAll(async () => {
    // One organization, so overlapping detail requests can only be the same listing's.
    world = createWorld({ preset: 'tiny', seed: 11, organizations: 1, projectsPerOrg: PROJECTS });
    timeline = new Timeline();
    const faults = new SlowFirstDetail({
      latency: { fixedMs: 10 },
      // The third detail request answers 404: a project deleted between the listing and its details.
      serverErrors: { route: 'project', status: 404, after: 2, times: 1, message: 'Project not found' },
    });
    fake = await startFakeCircleCi({ world, faults, stats: timeline, onRequest: timeline.onRequest });
    // No project_slugs: every project of the organization is in scope.
    run = await readWatched(fake, fakeConfig(world, fake.url, { start_date: START, max_concurrency: 4 }));
    const answered404 = timeline.events.find((e) => e.kind === 'end' && e.route === 'project' && e.outcome === 404)!;
    missing = decodeURIComponent(answered404.path!.replace('/api/v2/project/', ''));
  });
  afterAll(() => fake.close());

  it('are requested several at a time, never more than max_concurrency', () => {
    let inFlight = 0;
    let peak = 0;
    for (const event of timeline.events) {
      if (event.route !== 'project') continue;
      inFlight += event.kind === 'begin' ? 1 : -1;
      peak = Math.max(peak, inFlight);
    }
    expect(timeline.arrived('tree', undefined, 'project')).toBe(PROJECTS);
    expect(peak).toBeGreaterThan(1);
    expect(peak).toBeLessThanOrEqual(4);
  });

  it('a listed project that answers 404 is skipped with a log line; the sync completes without it', () => {
    expect(world.projects.map((p) => p.slug)).toContain(missing);
    expect(run.errors).toEqual([]);
    expect(run.exitCode).toBe(0);
    expect(run.logs.some((log) => log.level === 'INFO' && log.message === `project ${missing} answers 404; the project stream and those under it skip it`)).toBe(true);
    const projects = (run.records.get('project') ?? []).map((p) => p.slug);
    expect(projects).not.toContain(missing);
    expect(run.records.get('schedule')?.some((s) => s['project-slug'] === missing)).toBe(false);
  });

  it('keep the order of the listing, whatever order the answers came in', () => {
    const listed = world.projects.map((p) => p.slug).filter((slug) => slug !== missing);
    expect((run.records.get('project') ?? []).map((p) => p.slug)).toEqual(listed);
    // The first project's details were answered after others (the fake held them back).
    const answered = timeline.events.filter((e) => e.kind === 'end' && e.route === 'project').map((e) => decodeURIComponent(e.path!));
    expect(answered[0]).not.toBe(`/api/v2/project/${world.projects[0]!.slug}`);
  });

  it('the other projects and their children equal the world', () => {
    const slugs = world.projectSlugs();
    const kept = (record: Record<string, unknown>) => record.slug !== missing && record['project-slug'] !== missing && record.project_id !== world.projects.find((p) => p.slug === missing)!.id;
    let children = 0;
    for (const name of ['project', 'pipeline_definition', 'trigger', 'schedule'] as const) {
      const truth = (world.truth(name, { projectSlugs: slugs, startDate: START }) as Array<Record<string, unknown>>).filter(kept);
      if (name === 'project') expect(truth).toHaveLength(PROJECTS - 1);
      else children += truth.length;
      expect(dedupe(name, run.records.get(name))).toEqual(dedupe(name, truth));
    }
    expect(children).toBeGreaterThan(0);
  });
});

/** Pipeline pages answer late and project details slowly, so the history's 401 (the token refused: /me answers 401 too) lands while details are being fetched. */
class LateFatalPipelines extends FaultController {
  override latencyMs(route: string): number {
    if (route === 'pipelines') return 400;
    if (route === 'project') return 60;
    return super.latencyMs(route);
  }
}

describe("a fatal error while an organization's project details are fetched", () => {
  const PROJECTS = 16;
  const MAX_CONCURRENCY = 2;

  it('starts no further detail request once the read heard of it', async () => {
    const world = createWorld({ preset: 'tiny', seed: 13, organizations: 1, projectsPerOrg: PROJECTS });
    const timeline = new Timeline();
    const faults = new LateFatalPipelines({ latency: { fixedMs: 10 }, serverErrors: [{ route: 'pipelines', status: 401, times: 1 }, { route: 'me', status: 401 }] });
    const fake = await startFakeCircleCi({ world, faults, stats: timeline, onRequest: timeline.onRequest });
    const aborts = timeline.watchAborts();
    try {
      const run = await readWatched(fake, firstProjectConfig(world, fake, MAX_CONCURRENCY));
      expect(run.exitCode).toBe(1);
      expect(run.errors).toHaveLength(1);
      expectCleanEnding(run);
      const fatal = timeline.firstAnswer(401);
      const heard = timeline.firstAbortAfter(fatal);
      expect(heard).toBeGreaterThan(fatal);
      const before = timeline.arrived('tree', fatal, 'project');
      // Precondition: the 400 came while the details were being fetched, one at a time
      // (the history's request holds the other slot) for 16 × 60 ms.
      expect(before).toBeGreaterThan(0);
      expect(before).toBeLessThan(PROJECTS - 2);
      // Once the read heard of it, only detail calls already under way may still arrive:
      // at most max_concurrency of them, never the rest of the listing. (Counted from the
      // abort, not from the 400's answer: on a loaded machine the answer can take longer to
      // reach the read than one detail request takes.)
      const afterHeard = timeline.arrived('tree', undefined, 'project') - timeline.arrived('tree', heard, 'project');
      expect(afterHeard).toBeLessThanOrEqual(MAX_CONCURRENCY);
      // Nor does the tree fall back to the configured projects.
      expect(run.logs.some((log) => log.message.includes('did not list organization projects'))).toBe(false);
    } finally {
      aborts.mockRestore();
      await fake.close();
    }
  });
});
