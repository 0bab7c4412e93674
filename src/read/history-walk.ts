import { parseApiTime } from '../config/dates.js';
import { ApiError } from '../http/api-error.js';
import { fillPath, text, type AnyStreamDeclaration, type ApiRecord, type NewestFirst } from '../streams/declaration.js';
import type { StreamName } from '../streams/schemas/index.js';
import { STREAM_GRAPH as graph } from '../streams/streams.js';
import { forEachConcurrent, settleAll, TaskGroup, type Semaphore } from '../util/concurrency.js';
import { floorFor, isNew, latest, type Floor } from './cursor.js';
import { ListingProgress } from './listing-progress.js';
import { partitionEndLine, walkShare } from './progress-lines.js';
import { rowsAbove } from './row-estimates.js';
import { count } from './read-summary.js';
import { listItems, ParentListing, toRecords, type ReadContext } from './read-context.js';
import { Followed, UNFINISHED_MAX, UNFINISHED_MAX_AGE_MS, fingerprint } from './followed.js';
import { serialiseState, type IncrementalState, type Resume } from './state-input.js';

/**
 * The walk of one partition of a newest-first history (one project's pipelines, newest
 * first, and everything below them).
 *
 * The root is listed newest first with no time filter, so an incremental sync pages down
 * only until root records are older than every selected stream's bookmark (less the
 * lookback of streams below a followed stream). Because the walk goes from new to old, a
 * bookmark can move only once the walk of its partition is complete; until then
 * checkpoints save how far the walk got (`resume`: the range of positions whose children
 * are all read, which with concurrent reading is the finished prefix of the listing), so
 * an interrupted sync resumes there instead of starting the partition over. Records of a
 * followed stream seen while unfinished are saved as `unfinished` and read again, with
 * what is below them, on later syncs until final.
 *
 * Which streams are read under a record is decided at its unit (graph.unit): the root for
 * the root's own stream, the followed record for the streams at and below it. A stream
 * below a unit emits everything listed under a unit record it was admitted for.
 */

/** What the walks of one history share. */
export interface HistoryRun {
  context: ReadContext;
  root: AnyStreamDeclaration;
  selected: readonly StreamName[];
  /** Root records whose children are being read, across all partitions: the memory bound. */
  rootSlots: Semaphore;
  /** Partitions being walked, in the order they started (currently_syncing is the first). */
  inProgress: Set<string>;
  /** A fatal error ended the read: walks start nothing new and save nothing more. */
  aborted: boolean;
  /** The sync was cancelled: walks start nothing new, and each saves its finished prefix once. */
  cancelled: boolean;
  /** A checkpoint is due once the finished prefix holds this many more settled records. */
  checkpointRecords: number;
}

/** What one stream needs from the walk of one partition. */
interface StreamPlan {
  stream: StreamName;
  /** The stream whose records decide whether this one is read (graph.unit). */
  unit: StreamName;
  state?: IncrementalState; // set when incremental
  floor: Floor;
  /** Root records changed after this are walked for this stream (the floor, less the lookback where discovery is refused). */
  walkFloor: Floor;
  /** How far before the floor the unit's followed records are looked for again. */
  lookbackMs: number;
  resume?: Resume;
  /** The newest root position the last sync saw here (undefined in a first sync, or a state saved before it was kept). */
  since?: number;
  newest?: string;
  /** The followed records still unfinished, and the final ones read lately (the discovery reads each once). */
  followed: Followed;
}

/** The followed record a branch of the walk is under, if any. */
type UnitRecord = { decl: AnyStreamDeclaration; record: ApiRecord } | undefined;

/** Records of one root record that a walk resumed after it would not read again. */
interface SettledTally {
  records: number;
}

export class HistoryWalk {
  private readonly context: ReadContext;
  private readonly root: AnyStreamDeclaration;
  private readonly order: NewestFirst;
  private readonly plans: StreamPlan[] = [];
  private readonly needed: Set<StreamName>;
  private readonly progress = new ListingProgress();
  private readonly tasks = new TaskGroup();
  /** Settled records inside the finished prefix since the last checkpoint (see `finished`). */
  private savedSinceCheckpoint = 0;
  private readonly counts = new Map<StreamName, number>();
  private pages = 0;
  /** Root records between the newest listed and the oldest plan's `since`: how far the walk goes (when positions are sequential). */
  private extent: number | undefined;
  private measured = false;
  /** Unfinished records met during the walk; the others are read by id afterwards. */
  private readonly seenUnfinished = new Set<string>();
  /** The discovery groups of the followed records met in this walk. */
  private readonly groupsSeen = new Set<string>();
  /** Discovery groups listed by the API, per followed stream; absent where discovery is off or refused. */
  private readonly groups = new Map<StreamName, Set<string>>();
  /** When the walk started, by the API server's clock (saved where the partition has an activity). */
  private startedAt = 0;
  /** The cursors (ms) of the followed records the discovery listed, by fingerprint: how long each read lately is kept. */
  private readonly listedRecent = new Map<string, number>();

  constructor(
    private readonly partition: ApiRecord,
    private readonly key: string,
    private readonly run_: HistoryRun,
  ) {
    const context = run_.context;
    this.context = context;
    this.root = run_.root;
    this.order = this.root.newestFirst!;
    this.needed = new Set(run_.selected.flatMap((name) => graph.lineage(name)));
    for (const stream of run_.selected) {
      const unit = graph.unit(stream);
      const state = context.selection.get(stream) === 'incremental' ? context.states.get(stream) : undefined;
      const floor = floorFor(state, key, context.config.startDate);
      const follow = graph.get(unit).follow;
      const lookbackMs = follow?.lookbackMs(context.config) ?? 0;
      // With a discovery, the walk stops at the floor; `probeDiscovery` lowers it where the discovery is refused.
      const walkFloor = follow?.discover ? floor : lookedBack(floor, lookbackMs);
      const entry = state?.partitions.get(key);
      const plan: StreamPlan = { stream, unit, floor, walkFloor, lookbackMs, followed: new Followed(entry) };
      if (state) {
        plan.state = state;
        if (entry?.resume) plan.resume = entry.resume;
        if (entry?.newestNumber !== undefined) plan.since = entry.newestNumber;
      }
      this.plans.push(plan);
    }
  }

  /**
   * How far this walk is: root records finished, of how many where that is known, and the
   * root positions (pipeline numbers) from the newest down to the lowest finished.
   */
  describeProgress(): string {
    const top = this.progress.topNumber;
    if (top === undefined) return this.extent === 0 ? `${this.key}: nothing new in ${this.root.name}, ${count(this.pages, 'page')}` : `${this.key}: starting`;
    const bottom = this.progress.doneDownTo;
    const range = bottom === undefined ? `from #${top}` : `#${top} down to #${bottom}`;
    return `${this.key}: ${walkShare(this.progress.finished, this.extent, this.root.name)}, ${range}, ${count(this.pages, 'page')}`;
  }

  /**
   * Counts, from the first page, what this walk will read where positions are sequential:
   * the root records above the newest position the last sync saw are the new ones (less
   * those an interrupted sync already finished). Tells the row estimate of the root
   * stream and the walk's extent for its percentage; without a saved position (a first
   * sync, a state from before positions were kept) neither is known, and neither is said.
   */
  private measure(batch: readonly ApiRecord[]): void {
    if (this.measured) return;
    this.measured = true;
    if (batch.length === 0) {
      // Nothing in scope: nothing to read here, whatever the saved state.
      this.extent = 0;
      this.context.estimates?.report(this.root.name, this.key, 0);
      return;
    }
    const top = this.order.position(batch[0]!);
    if (!this.order.sequential || top === undefined) {
      this.context.estimates?.report(this.root.name, this.key, undefined);
      return;
    }
    // The root stream's state keeps the position (the others' would repeat it): the walk's extent is known where it is selected.
    const sinces = this.plans.flatMap((plan) => (plan.since === undefined ? [] : [plan.since]));
    if (sinces.length > 0) this.extent = Math.max(0, top - Math.min(...sinces));
    const rootPlan = this.plans.find((plan) => plan.stream === this.root.name);
    if (!rootPlan) return;
    const known = rootPlan.state !== undefined && rootPlan.since !== undefined;
    this.context.estimates?.report(this.root.name, this.key, known ? rowsAbove(top, rootPlan.since!, rootPlan.resume) : undefined);
  }

  async run(): Promise<void> {
    this.startedAt = this.context.client.serverNow();
    this.context.walking?.set(this.key, () => this.describeProgress());
    this.run_.inProgress.add(this.key);
    this.markSyncing();
    try {
      try {
        await this.probeDiscovery();
        await this.walkRoot();
      } catch (error) {
        this.tasks.fail(error);
      }
      try {
        await this.tasks.settle();
      } catch (error) {
        if (!this.run_.cancelled) throw error;
      }
      if (this.run_.cancelled) {
        this.checkpoint(); // the root records finished before the cancel, and nothing more
        return;
      }
      if (this.run_.aborted) return;
      await this.discoverRecent();
      await this.revisitUnfinished();
      this.run_.inProgress.delete(this.key);
      this.complete();
    } finally {
      this.context.walking?.delete(this.key);
      this.run_.inProgress.delete(this.key);
      this.markSyncing();
    }
    const walked = walkShare(this.progress.finished, this.extent, this.root.name);
    this.context.emitter.log('INFO', partitionEndLine(this.key, walked, this.counts, this.pages, this.context));
  }

  /**
   * Lists the root, one page ahead: the next page is requested as soon as a page shows
   * the walk goes on, while the records of the page wait for a slot. Returns when the
   * listing ends, reaches records older than every floor, or the walk stops.
   */
  private async walkRoot(): Promise<void> {
    const listing = new ParentListing(this.context.syncedAt);
    const pages = listItems(this.root, this.partition, this.context)[Symbol.asyncIterator]();
    let next: Promise<IteratorResult<ApiRecord[]>> | undefined = pages.next();
    try {
      while (next !== undefined) {
        const page = await next;
        next = undefined;
        if (this.stopped) return;
        if (page.done) {
          this.measure([]); // an empty listing (or a project not found): nothing to read
          return;
        }
        this.pages += 1;
        const { batch, more } = this.inScope(page.value, listing);
        if (batch.length > 0 || !more) this.measure(batch);
        if (more) {
          next = pages.next();
          next.catch(() => undefined); // awaited later; a failure meanwhile is not "unhandled"
        }
        for (const record of batch) {
          if (this.stopped) return;
          await this.visitRoot(record);
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

  /** The page's records down to the first one older than every floor, and whether the listing goes on. */
  private inScope(page: ApiRecord[], listing: ParentListing): { batch: ApiRecord[]; more: boolean } {
    const batch: ApiRecord[] = [];
    for (const item of page) {
      // One at a time: items past the stop are not read, so not counted as skipped either.
      const [record] = toRecords(this.root, [item], this.partition, listing, this.context);
      if (record === undefined) continue;
      const time = this.order.changedAt(record);
      if (time !== undefined && !this.plans.some((plan) => within(plan.walkFloor, time))) return { batch, more: false }; // newest first: the rest is older still
      batch.push(record);
    }
    return { batch, more: true };
  }

  /** Emits a root record and starts reading its children once a slot is free. */
  private async visitRoot(record: ApiRecord): Promise<void> {
    const position = this.order.position(record);
    const index = this.progress.add(position);
    const tally: SettledTally = { records: 0 };
    const time = this.order.changedAt(record);
    const rootName = this.root.name;
    const live = this.plans.filter((plan) => {
      if (!this.active(plan, position)) return false;
      if (plan.unit === rootName) return isNew(plan.floor, record[this.root.cursor!]);
      return time === undefined || within(plan.walkFloor, time);
    });
    if (live.some((plan) => plan.stream === rootName)) this.emit(this.root, record, tally, undefined);
    for (const plan of live) if (plan.unit === rootName) plan.newest = latest(plan.newest, record[this.root.cursor!]);
    const below = live.filter((plan) => plan.stream !== rootName);
    if (below.length === 0) {
      this.finished(index, tally);
      return;
    }
    await this.context.emitter.ready();
    await this.run_.rootSlots.acquire();
    if (this.stopped) {
      this.run_.rootSlots.release();
      return;
    }
    this.tasks.spawn(async () => {
      try {
        await this.readChildren(this.root, record, below, undefined, tally);
      } finally {
        this.run_.rootSlots.release();
      }
      this.finished(index, tally);
    });
  }

  /** Reads every needed child stream of `decl` under `record`, for the plans at or below each. */
  private async readChildren(decl: AnyStreamDeclaration, record: ApiRecord, plans: StreamPlan[], unit: UnitRecord, tally?: SettledTally): Promise<void> {
    const work: Array<Promise<void>> = [];
    for (const child of graph.children(decl.name)) {
      if (!this.needed.has(child)) continue;
      const mine = plans.filter((plan) => graph.within(plan.stream, child));
      if (mine.length > 0) work.push(this.readUnder(graph.get(child), record, mine, unit, tally));
    }
    if (work.length === 1) await work[0];
    else if (work.length > 1) await settleAll(work);
  }

  /** Lists `decl` under one parent record and visits each record it lists. */
  private async readUnder(decl: AnyStreamDeclaration, parent: ApiRecord, plans: StreamPlan[], unit: UnitRecord, tally?: SettledTally): Promise<void> {
    const listing = new ParentListing(this.context.syncedAt);
    for await (const page of listItems(decl, parent, this.context)) {
      this.pages += 1;
      const admitted = toRecords(decl, page, parent, listing, this.context).map((record) => ({ record, ...this.admit(decl, record, plans, unit, tally) }));
      await this.context.emitter.ready();
      const work = admitted.filter((entry) => entry.live.length > 0).map((entry) => this.descend(decl, entry.record, entry.live, entry.unit, tally));
      if (work.length === 1) await work[0];
      else if (work.length > 1) await settleAll(work);
    }
  }

  /**
   * Which plans a record serves, and its emission when its own stream's plan is among
   * them. At a followed stream the record decides: a plan wants it when it is new since
   * the plan's bookmark or one the plan follows.
   */
  private admit(decl: AnyStreamDeclaration, record: ApiRecord, plans: StreamPlan[], unit: UnitRecord, tally?: SettledTally): { live: StreamPlan[]; unit: UnitRecord } {
    let live = plans;
    if (decl.follow) {
      unit = { decl, record };
      if (decl.follow.discover) this.groupsSeen.add(decl.follow.discover.groupOf(record));
      live = plans.filter((plan) => this.considers(plan, decl, record));
    }
    if (live.some((plan) => plan.stream === decl.name)) this.emit(decl, record, tally, unit);
    return { live, unit };
  }

  /** Reads what is below an admitted record; at a followed record, then updates the plans' bookmarks and follow lists. */
  private async descend(decl: AnyStreamDeclaration, record: ApiRecord, live: StreamPlan[], unit: UnitRecord, tally?: SettledTally): Promise<void> {
    const below = live.filter((plan) => plan.stream !== decl.name);
    if (below.length > 0) await this.readChildren(decl, record, below, unit, tally);
    if (!decl.follow) return;
    for (const plan of live) {
      plan.newest = latest(plan.newest, record[decl.cursor!]);
      this.track(plan, decl, record);
    }
  }

  /**
   * A root record's children are all read: the finished prefix may have grown. A
   * checkpoint is taken once the prefix holds `checkpointRecords` more settled records than
   * at the last one. Records under unfinished followed records do not count: a resumed
   * walk reads those again (they are followed as `unfinished`), so a state that claimed
   * only them would save nothing, and a read resumed from it would repeat the first read
   * record for record.
   */
  private finished(index: number, tally: SettledTally): void {
    const claimed = this.progress.finish(index, tally.records);
    if (claimed === 0) return;
    this.savedSinceCheckpoint += claimed;
    if (this.savedSinceCheckpoint >= this.run_.checkpointRecords && !this.run_.aborted) this.checkpoint();
  }

  /**
   * Follow a record while it can still change; forget it once final. A record met in this
   * walk counts as seen, so the revisit after the walk does not read it again.
   */
  private track(plan: StreamPlan, decl: AnyStreamDeclaration, record: ApiRecord): void {
    if (!plan.state) return;
    const id = idOf(decl, record);
    const created = parseApiTime(record[decl.cursor!]);
    if (isFollowed(decl, record)) {
      plan.followed.follow(id, created);
      this.seenUnfinished.add(id);
    } else {
      plan.followed.final(id, created, decl.follow!.discover?.groupOf(record));
    }
  }

  /** Incremental plans with a bookmark under a followed stream that discovers: those the discovery serves. */
  private discoveryPlans(name: StreamName): StreamPlan[] {
    return this.plans.filter((plan) => plan.unit === name && plan.state !== undefined && plan.floor.strict);
  }

  /**
   * Lists the discovery groups (workflow names) before the walk. Where the API refuses
   * (403, or 404: no Insights on this plan or server), says so once for the partition and
   * falls back to the lookback walk: the children of root records changed within
   * `lookbackMs` before the bookmark are listed again.
   */
  private async probeDiscovery(): Promise<void> {
    for (const name of new Set(this.plans.map((plan) => plan.unit))) {
      const discover = graph.get(name).follow?.discover;
      const plans = this.discoveryPlans(name);
      if (!discover || plans.length === 0) continue;
      const groups = new Set<string>();
      try {
        for await (const page of discover.groups(this.partition, this.context.listContext)) {
          this.pages += 1;
          for (const item of page) groups.add(discover.groupOf(item));
        }
      } catch (error) {
        if (!isRefusal(error)) throw error;
        const said = discover.refused(plans[0]!.lookbackMs / 3600_000);
        this.context.emitter.log('WARN', `${name}: ${this.key}: the listing of recent ${name} was refused (${error.status} on ${error.route}): ${said}`);
        for (const plan of plans) plan.walkFloor = lookedBack(plan.floor, plan.lookbackMs);
        continue;
      }
      this.groups.set(name, groups);
    }
  }

  /**
   * Followed records the walk could not reach: created lately under older root records
   * (reruns of old pipelines). Each group (workflow name) known from the API, the walk or
   * the state is listed from the oldest plan's floor less its lookback; each record listed
   * there that a plan has not read yet is read by id with what is below it. Whatever a plan
   * reads (in the walk or here) is in its `recent` once final, or followed while not. The lookback covers the API's delay in listing a
   * record (completed runs only, indexed late): a record already read is recognised by
   * its id in `recent`, which holds the final records of that span.
   */
  private async discoverRecent(): Promise<void> {
    for (const [name, listed] of this.groups) {
      if (this.stopped) return;
      const decl = graph.get(name);
      const discover = decl.follow!.discover!;
      const plans = this.discoveryPlans(name);
      const since = Math.min(...plans.map((plan) => plan.floor.ms - plan.lookbackMs));
      const names = new Set([...listed, ...this.groupsSeen, ...plans.flatMap((plan) => plan.followed.groups())]);
      const taken = new Set<string>();
      let refused = false;
      await forEachConcurrent([...names].sort(), this.context.config.maxConcurrency, async (group) => {
        if (refused || this.stopped) return;
        try {
          for await (const page of discover.recent(this.partition, group, new Date(since).toISOString(), this.context.listContext)) {
            this.pages += 1;
            for (const item of page) {
              const id = text(item[decl.primaryKey[0]!]);
              const cursor = parseApiTime(item[decl.cursor!]);
              if (id === '') continue;
              if (cursor !== undefined) this.listedRecent.set(fingerprint(id), cursor);
              if (taken.has(id)) continue;
              const wanting = plans.filter(
                (plan) => !plan.followed.readLately(id) && !plan.followed.unfinished.has(id) && (cursor === undefined || cursor >= plan.floor.ms - plan.lookbackMs),
              );
              if (wanting.length === 0) continue;
              taken.add(id);
              await this.readDiscovered(decl, id, wanting);
            }
          }
        } catch (error) {
          if (!isRefusal(error)) throw error;
          if (!refused) {
            this.context.emitter.log('WARN', `${name}: ${this.key}: the listing of recent ${name} was refused (${error.status} on ${error.route}); records it would list are missed this sync`);
          }
          refused = true;
        }
      });
    }
  }

  /** Reads a discovered followed record by id and everything below it, for the plans that want it. */
  private async readDiscovered(decl: AnyStreamDeclaration, id: string, plans: StreamPlan[]): Promise<void> {
    const body = await this.context.client.get<ApiRecord>(fillPath(decl.follow!.reread, { id }));
    this.pages += 1;
    if (body === undefined) return; // listed, then gone: nothing to read
    // Built like a listed record: one without its key is skipped and counted.
    const [record] = toRecords(decl, [body], {}, new ParentListing(this.context.syncedAt), this.context);
    if (record === undefined) return;
    const unit: UnitRecord = { decl, record };
    if (plans.some((plan) => plan.stream === decl.name)) this.emit(decl, record, undefined, unit);
    await this.descend(decl, record, plans, unit);
  }

  /** Whether a plan wants this followed record: new since its bookmark, or one it is following. */
  private considers(plan: StreamPlan, decl: AnyStreamDeclaration, record: ApiRecord): boolean {
    const id = idOf(decl, record);
    if (plan.followed.unfinished.has(id)) {
      this.seenUnfinished.add(id);
      return true;
    }
    return isNew(plan.floor, record[decl.cursor!]);
  }

  /** Followed records not met in this walk (their root records are older): read them by id, with what is below them. */
  private async revisitUnfinished(): Promise<void> {
    for (const name of new Set(this.plans.map((plan) => plan.unit))) {
      const decl = graph.get(name);
      if (!decl.follow) continue;
      const plans = this.plans.filter((plan) => plan.unit === name);
      const ids = new Set(plans.flatMap((plan) => [...plan.followed.unfinished.keys()]));
      for (const id of this.seenUnfinished) ids.delete(id);
      await forEachConcurrent([...ids], this.context.config.maxConcurrency, async (id) => {
        const body = await this.context.client.get<ApiRecord>(fillPath(decl.follow!.reread, { id }));
        this.pages += 1;
        if (body === undefined) {
          this.context.emitter.log('INFO', `${decl.name} ${id} of ${this.key} no longer exists (404); no longer followed`);
          for (const plan of plans) plan.followed.unfinished.delete(id);
          return;
        }
        // Built like a listed record: one without its key is skipped and counted, and stays followed.
        const [record] = toRecords(decl, [body], {}, new ParentListing(this.context.syncedAt), this.context);
        if (record === undefined) return;
        const following = plans.filter((plan) => plan.followed.unfinished.has(id));
        const { live, unit } = this.admit(decl, record, following, undefined);
        await this.descend(decl, record, live, unit);
      });
    }
  }

  /** Whether a plan still has work at this root record (not inside the range an earlier sync finished). */
  private active(plan: StreamPlan, position: number | undefined): boolean {
    const resume = plan.resume;
    return !(resume && position !== undefined && position >= resume.done_down_to && position <= resume.newest_number);
  }

  /** `tally` counts the record when a resumed walk would not read it again (it is not under an unfinished record). */
  private emit(decl: AnyStreamDeclaration, record: ApiRecord, tally: SettledTally | undefined, unit: UnitRecord): void {
    this.context.emitter.record(decl.name, record);
    this.counts.set(decl.name, (this.counts.get(decl.name) ?? 0) + 1);
    if (tally && (unit === undefined || !isFollowed(unit.decl, unit.record))) tally.records += 1;
  }

  /** currently_syncing of every state of this history: the earliest-started partition still in progress. */
  private markSyncing(): void {
    const first = this.run_.inProgress.values().next();
    for (const plan of this.plans) if (plan.state) plan.state.currentlySyncing = first.done ? undefined : first.value;
  }

  /** Saves how far the walk got without moving any bookmark (written where it outweighs its records: read/checkpoints.ts). */
  private checkpoint(): void {
    this.savedSinceCheckpoint = 0;
    this.markSyncing();
    for (const plan of this.plans) {
      if (!plan.state) continue;
      const entry = plan.state.partitions.get(this.key) ?? {};
      const marker = this.resumeMarker(plan);
      // What the end of the walk would drop anyway, and this sync's discovery does not look at (before the floor's lookback).
      const newest = parseApiTime(plan.newest);
      const discover = graph.get(plan.unit).follow?.discover;
      const from = newest === undefined ? undefined : plan.floor.strict ? Math.min(newest, plan.floor.ms) : newest;
      if (discover && from !== undefined) plan.followed.trim(from - plan.lookbackMs, from - discover.groupsDelayMs);
      plan.state.partitions.set(this.key, plan.followed.saveTo(marker ? { ...entry, resume: marker } : entry));
      this.offerState(plan);
    }
  }

  private offerState(plan: StreamPlan): void {
    const state = plan.state!;
    this.context.checkpoints.offer(plan.stream, () => serialiseState(plan.stream, state));
  }

  /**
   * The root records finished so far, as one range of positions from the top of the
   * list. On a resumed walk the new range joins the one finished earlier once the
   * finished prefix has reached it; until then the earlier marker stands (the newer
   * records are re-read).
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
    for (const plan of this.plans) {
      if (!plan.state) continue;
      const entry = plan.state.partitions.get(this.key) ?? {};
      const bookmark = latest(latest(entry.cursor, plan.resume?.max_cursor), plan.newest);
      // The newest position listed (the walk read everything down from it), or the last sync's when nothing new was listed.
      const newestNumber = Math.max(this.progress.topNumber ?? -Infinity, plan.since ?? -Infinity);
      // Where the partition has an activity, when this walk started (read/idle-skip.ts).
      const activity = this.order.lastActivity?.(this.partition);
      this.pruneFollowed(plan, bookmark);
      plan.state.partitions.set(
        this.key,
        plan.followed.saveTo({
          ...(bookmark === undefined ? {} : { cursor: bookmark }),
          ...(Number.isFinite(newestNumber) && plan.stream === this.root.name ? { newestNumber } : {}),
          ...(activity === undefined ? {} : { walkedAt: Math.floor(this.startedAt / 1000) }),
        }),
      );
      this.offerState(plan);
    }
  }

  /**
   * Unfinished records are followed for a bounded time and number (measured against the
   * newest record of the partition, not the wall clock, so a partition that went quiet keeps
   * following its last runs and replays stay deterministic). Records read lately are kept
   * as long as the next discovery lists them again (the lookback before the bookmark), and
   * their groups as long as the group listing may miss a new group.
   */
  private pruneFollowed(plan: StreamPlan, bookmark: string | undefined): void {
    if (!graph.follows(plan.stream)) return;
    const newest = parseApiTime(bookmark);
    const dropped = plan.followed.pruneUnfinished(newest ?? Date.now());
    if (dropped.length > 0) {
      this.context.emitter.log(
        'WARN',
        `${plan.stream}: stopped following ${dropped.length} ${plan.unit} records of ${this.key} still unfinished after ` +
          `${UNFINISHED_MAX_AGE_MS / 86_400_000} days or beyond the ${UNFINISHED_MAX} most recent (first: ${dropped[0]})`,
      );
    }
    const discover = graph.get(plan.unit).follow?.discover;
    if (!discover || newest === undefined) return;
    plan.followed.pruneRecent(newest - plan.lookbackMs, this.listedRecent);
    plan.followed.pruneNames(newest - discover.groupsDelayMs, this.groups.get(plan.unit));
  }
}

/** A record that can still change, so it is followed (and read again) until final. */
function isFollowed(decl: AnyStreamDeclaration, record: ApiRecord): boolean {
  return !decl.follow!.isFinal(record) && typeof record[decl.cursor!] === 'string';
}

function idOf(decl: AnyStreamDeclaration, record: ApiRecord): string {
  return text(record[decl.primaryKey[0]!]);
}

/** The floor moved back by the lookback: root records changed that long before a bookmark are walked again. */
function lookedBack(floor: Floor, lookbackMs: number): Floor {
  return floor.strict && lookbackMs > 0 ? { ms: floor.ms - lookbackMs, strict: false } : floor;
}

/** A refusal that means "not available here" rather than a failure of the sync. */
function isRefusal(error: unknown): error is ApiError {
  return error instanceof ApiError && (error.status === 403 || error.status === 404);
}

function within(floor: Floor, ms: number): boolean {
  return floor.strict ? ms > floor.ms : ms >= floor.ms;
}
