import { parseApiTime } from '../config/dates.js';
import type { ApiRecord } from '../streams/declaration.js';
import { text, v2 } from '../streams/declaration.js';
import type { StreamName } from '../streams/schemas/index.js';
import { STREAMS } from '../streams/streams.js';
import { forEachConcurrent, settleAll, TaskGroup, type Semaphore } from './concurrency.js';
import { floorFor, isNew, latest, type Floor } from './cursor.js';
import { ListingProgress } from './listing-progress.js';
import { listItems, toRecord, type ReadContext } from './read-context.js';
import { serialiseState, type IncrementalState, type Resume, type UnfinishedWorkflow } from './state-input.js';
import { checkpointRecords } from './tuning.js';

/**
 * The walk of one project's pipelines (newest first) and their workflows and jobs.
 *
 * CircleCI lists a project's pipelines newest first and has no time filter, so an
 * incremental sync pages down only until pipelines are older than every selected stream's
 * bookmark (less the rerun lookback for workflows and jobs). Because the walk goes from
 * new to old, a bookmark can move only once the walk of its project is complete; until
 * then checkpoints save how far the walk got (`resume`: the range of pipeline numbers
 * whose children are all read, which with concurrent reading is the finished prefix of
 * the listing), so an interrupted sync resumes there instead of starting the project
 * over. Workflows seen while still running are saved as `unfinished` and read again on
 * later syncs until they reach a final status.
 */
export const HISTORY_STREAMS: readonly StreamName[] = ['pipelines', 'workflows', 'jobs'];

/** Statuses after which a workflow (and its jobs) no longer changes. */
const UNFINISHED_STATUSES = new Set(['running', 'failing', 'on_hold']);
/** Unfinished workflows are followed for at most this long and this many per stream. */
export const UNFINISHED_MAX_AGE_MS = 14 * 24 * 3600_000;
export const UNFINISHED_MAX = 1000;

/** What the walks of one read share. */
export interface HistoryRun {
  context: ReadContext;
  selected: readonly StreamName[];
  /** Pipelines whose children are being read, across all projects: the memory bound. */
  pipelineSlots: Semaphore;
  /** Projects being walked, in the order they started (currently_syncing is the first). */
  inProgress: Set<string>;
  /** A fatal error ended the read: walks start nothing new and save nothing more. */
  aborted: boolean;
}

/** What one stream needs from the walk of one project. */
interface StreamPlan {
  stream: StreamName;
  state?: IncrementalState; // set when incremental
  floor: Floor;
  /** Pipelines updated after this are walked for this stream (the floor less the lookback). */
  walkFloor: Floor;
  resume?: Resume;
  newest?: string;
  unfinished: Map<string, UnfinishedWorkflow>;
}

export class ProjectWalk {
  private readonly context: ReadContext;
  private readonly plans = new Map<StreamName, StreamPlan>();
  private readonly progress = new ListingProgress();
  private readonly tasks = new TaskGroup();
  /** Settled records inside the finished prefix since the last checkpoint (see `finished`). */
  private savedSinceCheckpoint = 0;
  private readonly counts = { pipelines: 0, workflows: 0, jobs: 0, pages: 0 };
  /** Unfinished workflows met during the walk; the others are fetched one by one afterwards. */
  private readonly seenUnfinished = new Set<string>();
  private readonly checkpointEvery = checkpointRecords();

  constructor(
    private readonly slug: string,
    private readonly run_: HistoryRun,
  ) {
    const context = run_.context;
    this.context = context;
    const lookbackMs = context.config.workflowLookbackHours * 3600_000;
    for (const stream of run_.selected) {
      const state = context.selection.get(stream) === 'incremental' ? context.states.get(stream) : undefined;
      const floor = floorFor(state, slug, context.config.startDate);
      const walkFloor = floor.strict && stream !== 'pipelines' && lookbackMs > 0 ? { ms: floor.ms - lookbackMs, strict: false } : floor;
      const plan: StreamPlan = { stream, floor, walkFloor, unfinished: new Map() };
      if (state) {
        plan.state = state;
        const resume = state.partitions.get(slug)?.resume;
        if (resume) plan.resume = resume;
        for (const workflow of state.unfinished) if (workflow.project_slug === slug) plan.unfinished.set(workflow.id, workflow);
      }
      this.plans.set(stream, plan);
    }
  }

  async run(): Promise<void> {
    this.run_.inProgress.add(this.slug);
    this.markSyncing();
    try {
      try {
        await this.walkPipelines();
      } catch (error) {
        this.tasks.fail(error);
      }
      await this.tasks.settle();
      if (this.run_.aborted) return;
      await this.revisitUnfinished();
      this.run_.inProgress.delete(this.slug);
      this.complete();
    } finally {
      this.run_.inProgress.delete(this.slug);
      this.markSyncing();
    }
    const { pipelines, workflows, jobs, pages } = this.counts;
    this.context.emitter.log('INFO', `project ${this.slug}: ${pipelines} pipelines, ${workflows} workflows, ${jobs} jobs emitted; ${pages} pages read`);
  }

  /**
   * Lists the pipelines, one page ahead: the next page is requested as soon as a page
   * shows the walk goes on, while the pipelines of the page wait for a slot. Returns
   * when the listing ends, reaches pipelines older than every floor, or the walk stops.
   */
  private async walkPipelines(): Promise<void> {
    const pages = listItems(STREAMS.pipelines, { slug: this.slug }, this.context)[Symbol.asyncIterator]();
    let next: Promise<IteratorResult<ApiRecord[]>> | undefined = pages.next();
    try {
      while (next !== undefined) {
        const page = await next;
        next = undefined;
        if (page.done || this.stopped) return;
        this.counts.pages += 1;
        const { batch, more } = this.inScope(page.value);
        if (more) {
          next = pages.next();
          next.catch(() => undefined); // awaited later; a failure meanwhile is not "unhandled"
        }
        for (const pipeline of batch) {
          if (this.stopped) return;
          await this.visit(pipeline);
        }
      }
    } finally {
      // A prefetched page still in flight: let it land (its errors no longer matter).
      if (next !== undefined) await next.then(() => pages.return?.(), () => undefined);
    }
  }

  private get stopped(): boolean {
    return this.tasks.failed || this.run_.aborted;
  }

  /** The page's pipelines down to the first one older than every floor, and whether the listing goes on. */
  private inScope(page: ApiRecord[]): { batch: ApiRecord[]; more: boolean } {
    const batch: ApiRecord[] = [];
    for (const item of page) {
      const pipeline = toRecord(STREAMS.pipelines, item, {});
      const time = pipelineTime(pipeline);
      if (time !== undefined && !this.someWalkFloorBelow(time)) return { batch, more: false }; // newest first: the rest is older still
      batch.push(pipeline);
    }
    return { batch, more: true };
  }

  private someWalkFloorBelow(time: number): boolean {
    for (const plan of this.plans.values()) if (within(plan.walkFloor, time)) return true;
    return false;
  }

  /** Emits a pipeline and starts reading its children once a slot is free. */
  private async visit(pipeline: ApiRecord): Promise<void> {
    const number = numberOf(pipeline);
    const index = this.progress.add(number);
    const tally: SettledTally = { records: 0 };
    const pipelinesPlan = this.active('pipelines', number);
    if (pipelinesPlan && isNew(pipelinesPlan.floor, pipeline.updated_at)) {
      this.emit('pipelines', pipeline);
      tally.records += 1; // a resumed walk skips the pipelines of its range
      pipelinesPlan.newest = latest(pipelinesPlan.newest, pipeline.updated_at);
    }
    const time = pipelineTime(pipeline);
    const wanted = (plan: StreamPlan | undefined) => plan !== undefined && (time === undefined || within(plan.walkFloor, time));
    const workflowsPlan = this.active('workflows', number);
    const jobsPlan = this.active('jobs', number);
    if (!wanted(workflowsPlan) && !wanted(jobsPlan)) {
      this.finished(index, tally);
      return;
    }
    await this.context.emitter.ready();
    await this.run_.pipelineSlots.acquire();
    if (this.stopped) {
      this.run_.pipelineSlots.release();
      return;
    }
    this.tasks.spawn(async () => {
      try {
        await this.readChildren(pipeline, tally, workflowsPlan, jobsPlan);
      } finally {
        this.run_.pipelineSlots.release();
      }
      this.finished(index, tally);
    });
  }

  private async readChildren(pipeline: ApiRecord, tally: SettledTally, workflowsPlan: StreamPlan | undefined, jobsPlan: StreamPlan | undefined): Promise<void> {
    for await (const page of listItems(STREAMS.workflows, pipeline, this.context)) {
      this.counts.pages += 1;
      const needJobs: ApiRecord[] = [];
      for (const item of page) {
        const workflow = toRecord(STREAMS.workflows, item, pipeline);
        if (workflowsPlan && this.considers(workflowsPlan, workflow)) {
          this.emit('workflows', workflow);
          if (!isFollowed(workflow)) tally.records += 1;
          workflowsPlan.newest = latest(workflowsPlan.newest, workflow.created_at);
          this.track(workflowsPlan, workflow);
        }
        if (jobsPlan && this.considers(jobsPlan, workflow)) needJobs.push(workflow);
      }
      await this.context.emitter.ready();
      if (needJobs.length === 1) await this.readJobs(jobsPlan!, needJobs[0]!, tally);
      else if (needJobs.length > 1) await settleAll(needJobs.map((workflow) => this.readJobs(jobsPlan!, workflow, tally)));
    }
  }

  /**
   * A pipeline's children are all read: the finished prefix may have grown. A checkpoint
   * is taken once the prefix holds `checkpointEvery` more settled records than at the last
   * one. Records of still-running workflows do not count: a resumed walk reads those again
   * (they are followed as `unfinished`), so a state that claimed only them would save
   * nothing, and a read resumed from it would repeat the first read record for record.
   */
  private finished(index: number, tally: SettledTally): void {
    const claimed = this.progress.finish(index, tally.records);
    if (claimed === 0) return;
    this.savedSinceCheckpoint += claimed;
    if (this.savedSinceCheckpoint >= this.checkpointEvery && !this.run_.aborted) this.checkpoint();
  }

  /**
   * Follow a workflow while it can still change; forget it once final. A workflow met in
   * this walk counts as seen, so the revisit after the walk does not read it again.
   */
  private track(plan: StreamPlan, workflow: ApiRecord): void {
    if (!plan.state) return;
    const id = text(workflow.id);
    if (isFollowed(workflow)) {
      plan.unfinished.set(id, { id, project_slug: this.slug, created_at: text(workflow.created_at) });
      this.seenUnfinished.add(id);
    } else {
      plan.unfinished.delete(id);
    }
  }

  /** Whether a plan wants this workflow: new since its bookmark, or one it is following. */
  private considers(plan: StreamPlan, workflow: ApiRecord): boolean {
    const id = text(workflow.id);
    if (plan.unfinished.has(id)) {
      this.seenUnfinished.add(id);
      return true;
    }
    return isNew(plan.floor, workflow.created_at);
  }

  /** `tally` is the pipeline's, when the jobs are read in the walk (not by a revisit after it). */
  private async readJobs(plan: StreamPlan, workflow: ApiRecord, tally?: SettledTally): Promise<void> {
    const settled = !isFollowed(workflow);
    for await (const page of listItems(STREAMS.jobs, workflow, this.context)) {
      this.counts.pages += 1;
      for (const item of page) this.emit('jobs', toRecord(STREAMS.jobs, item, workflow));
      if (tally && settled) tally.records += page.length;
      await this.context.emitter.ready();
    }
    plan.newest = latest(plan.newest, workflow.created_at);
    this.track(plan, workflow);
  }

  /** Unfinished workflows whose pipelines are older than this walk: read them by id. */
  private async revisitUnfinished(): Promise<void> {
    const workflowsPlan = this.plans.get('workflows');
    const jobsPlan = this.plans.get('jobs');
    const ids = new Set([...(workflowsPlan?.unfinished.keys() ?? []), ...(jobsPlan?.unfinished.keys() ?? [])]);
    for (const id of this.seenUnfinished) ids.delete(id);
    await forEachConcurrent([...ids], this.context.config.maxConcurrency, async (id) => {
      const workflow = await this.context.client.get<ApiRecord>(v2`/workflow/${id}`);
      this.counts.pages += 1;
      if (workflow === undefined) {
        this.context.emitter.log('INFO', `workflow ${id} of ${this.slug} no longer exists (404); no longer followed`);
        workflowsPlan?.unfinished.delete(id);
        jobsPlan?.unfinished.delete(id);
        return;
      }
      const record = toRecord(STREAMS.workflows, workflow, {});
      if (workflowsPlan?.unfinished.has(id)) {
        this.emit('workflows', record);
        this.track(workflowsPlan, record);
      }
      if (jobsPlan?.unfinished.has(id)) await this.readJobs(jobsPlan, record);
    });
  }

  /** A plan that still has work at this pipeline (not inside the range an earlier sync finished). */
  private active(stream: StreamName, number: number | undefined): StreamPlan | undefined {
    const plan = this.plans.get(stream);
    if (!plan) return undefined;
    const resume = plan.resume;
    if (resume && number !== undefined && number >= resume.done_down_to && number <= resume.newest_number) return undefined;
    return plan;
  }

  private emit(stream: 'pipelines' | 'workflows' | 'jobs', record: ApiRecord): void {
    this.context.emitter.record(stream, record);
    this.counts[stream] += 1;
  }

  /** currently_syncing of every history state: the earliest-started project still in progress. */
  private markSyncing(): void {
    const first = this.run_.inProgress.values().next();
    for (const plan of this.plans.values()) if (plan.state) plan.state.currentlySyncing = first.done ? undefined : first.value;
  }

  /** Saves how far the walk got without moving any bookmark. */
  private checkpoint(): void {
    this.savedSinceCheckpoint = 0;
    this.markSyncing();
    for (const plan of this.plans.values()) {
      if (!plan.state) continue;
      const entry = plan.state.partitions.get(this.slug) ?? {};
      const marker = this.resumeMarker(plan);
      plan.state.partitions.set(this.slug, marker ? { ...entry, resume: marker } : entry);
      this.saveUnfinished(plan);
      this.context.emitter.state(plan.stream, serialiseState(plan.stream, plan.state));
    }
  }

  /**
   * The pipelines finished so far, as one range of numbers from the top of the list. On
   * a resumed walk the new range joins the one finished earlier once the finished prefix
   * has reached it; until then the earlier marker stands (the newer pipelines are re-read).
   */
  private resumeMarker(plan: StreamPlan): Resume | undefined {
    const maxCursor = latest(plan.resume?.max_cursor, plan.newest);
    const withCursor = (resume: Resume): Resume => (maxCursor === undefined ? resume : { ...resume, max_cursor: maxCursor });
    const top = this.progress.topNumber;
    const doneDownTo = this.progress.doneDownTo;
    if (top === undefined || doneDownTo === undefined) return plan.resume;
    const earlier = plan.resume;
    if (earlier && doneDownTo > earlier.newest_number) return withCursor(earlier);
    const bottom = earlier && doneDownTo >= earlier.done_down_to ? earlier.done_down_to : doneDownTo;
    return withCursor({ newest_number: Math.max(top, earlier?.newest_number ?? top), done_down_to: bottom });
  }

  /** The walk is over: bookmarks move to the newest value seen, and the markers go. */
  private complete(): void {
    this.markSyncing();
    for (const plan of this.plans.values()) {
      if (!plan.state) continue;
      const entry = plan.state.partitions.get(this.slug) ?? {};
      const bookmark = latest(latest(entry.cursor, plan.resume?.max_cursor), plan.newest);
      plan.state.partitions.set(this.slug, bookmark === undefined ? {} : { cursor: bookmark });
      this.pruneUnfinished(plan, bookmark);
      this.saveUnfinished(plan);
      this.context.emitter.state(plan.stream, serialiseState(plan.stream, plan.state));
    }
  }

  private saveUnfinished(plan: StreamPlan): void {
    if (!plan.state || (plan.stream !== 'workflows' && plan.stream !== 'jobs')) return;
    plan.state.unfinished = [...plan.state.unfinished.filter((w) => w.project_slug !== this.slug), ...plan.unfinished.values()];
  }

  /**
   * Keeps the followed set bounded: drops the too old, then the oldest beyond the cap.
   * Age is measured against the newest workflow of the project, not the wall clock, so a
   * project that went quiet keeps following its last runs and replays stay deterministic.
   */
  private pruneUnfinished(plan: StreamPlan, newest: string | undefined): void {
    const now = parseApiTime(newest) ?? Date.now();
    const dropped: string[] = [];
    const ordered = [...plan.unfinished.values()].sort((a, b) => Date.parse(b.created_at) - Date.parse(a.created_at));
    ordered.forEach((workflow, index) => {
      if (now - Date.parse(workflow.created_at) > UNFINISHED_MAX_AGE_MS || index >= UNFINISHED_MAX) {
        plan.unfinished.delete(workflow.id);
        dropped.push(workflow.id);
      }
    });
    if (dropped.length > 0) {
      this.context.emitter.log(
        'WARN',
        `${plan.stream}: stopped following ${dropped.length} workflows of ${this.slug} still unfinished after ` +
          `${UNFINISHED_MAX_AGE_MS / 86_400_000} days or beyond the ${UNFINISHED_MAX} most recent (first: ${dropped[0]})`,
      );
    }
  }
}

/** Records of one pipeline that a walk resumed after it would not read again. */
interface SettledTally {
  records: number;
}

/** A workflow that can still change, so it is followed (and read again) until final. */
function isFollowed(workflow: ApiRecord): boolean {
  return UNFINISHED_STATUSES.has(text(workflow.status)) && typeof workflow.created_at === 'string';
}

function within(floor: Floor, ms: number): boolean {
  return floor.strict ? ms > floor.ms : ms >= floor.ms;
}

/** The latest moment a pipeline changed, for the stop condition of the newest-first walk. */
function pipelineTime(pipeline: ApiRecord): number | undefined {
  const updated = parseApiTime(pipeline.updated_at);
  const created = parseApiTime(pipeline.created_at);
  if (updated === undefined) return created;
  return created === undefined ? updated : Math.max(updated, created);
}

function numberOf(pipeline: ApiRecord): number | undefined {
  return typeof pipeline.number === 'number' && Number.isInteger(pipeline.number) ? pipeline.number : undefined;
}
