/**
 * The contents of integration_tests/, rendered from the fake acceptance world (see
 * fake-account.ts). Pure functions of the world and the connector's stream declarations:
 * the generator writes them, and a test compares the committed files with a fresh render.
 */
import { buildCatalog } from '../../src/streams/catalog.js';
import type { PartitionKind } from '../../src/streams/declaration.js';
import type { StreamName } from '../../src/streams/schemas/types.js';
import { workflowPartition } from '../../src/streams/insights.js';
import { STREAM_GRAPH } from '../../src/streams/streams.js';
import type { World } from '../fake-circleci/index.js';
import { ACCEPTANCE_START_DATE, FAR_FUTURE, SAMPLE_CONFIG_PORT, loopbackUrl } from './fake-account.js';

type Json = Record<string, unknown>;

/** A STREAM state message body, as the platform passes it back in the --state file. */
export interface StreamStateEntry {
  type: 'STREAM';
  stream: { stream_descriptor: { name: string }; stream_state: Json };
}

/** The streams that support incremental sync, with their cursor field, in catalog order. */
export function incrementalStreams(): Array<{ name: string; cursor: string }> {
  return buildCatalog()
    .streams.filter((s) => s.supported_sync_modes.includes('incremental'))
    .map((s) => ({ name: s.name, cursor: s.default_cursor_field![0]! }));
}

/** Which key a stream's bookmarks hang under (organizations, projects): the declarations say. */
export function partitionKindOf(stream: string): PartitionKind {
  return STREAM_GRAPH.partition(stream as StreamName)!.partition.kind;
}

/** One stream's state with every partition bookmarked at `cursorValue`, in the connector's shape. */
export function bookmarkState(stream: string, cursor: string, partitions: readonly string[], cursorValue: string): StreamStateEntry {
  const entries: Record<string, Json> = {};
  for (const key of [...partitions].sort()) entries[key] = { [cursor]: cursorValue };
  const state: Json = { [partitionKindOf(stream)]: entries };
  if (STREAM_GRAPH.inHistory(stream as StreamName)) state.currently_syncing = null;
  if (STREAM_GRAPH.follows(stream as StreamName)) state.unfinished = [];
  return { type: 'STREAM', stream: { stream_descriptor: { name: stream }, stream_state: state } };
}

/** The partitions of each incremental stream in an account: organization ids, all project slugs, configured slugs. */
export interface Partitions {
  organizationIds: readonly string[];
  allProjectSlugs: readonly string[];
  configuredSlugs: readonly string[];
  /** `project-slug/workflow-name` of every workflow Insights lists for a configured slug. */
  projectWorkflows: readonly string[];
}

export function partitionsOf(stream: string, partitions: Partitions): readonly string[] {
  if (partitionKindOf(stream) === 'organizations') return partitions.organizationIds;
  if (partitionKindOf(stream) === 'project_workflows') return partitions.projectWorkflows;
  // Project partitions of a newest-first history are the configured slugs; the others, every project.
  return STREAM_GRAPH.inHistory(stream as StreamName) ? partitions.configuredSlugs : partitions.allProjectSlugs;
}

/** Every incremental stream, every partition, bookmarked at `cursorValue`. */
export function stateAt(partitions: Partitions, cursorValue: string): StreamStateEntry[] {
  return incrementalStreams().map(({ name, cursor }) => bookmarkState(name, cursor, partitionsOf(name, partitions), cursorValue));
}

export function worldPartitions(world: World): Partitions {
  return {
    organizationIds: world.collaborations().map((org) => org.id),
    allProjectSlugs: world.projectSlugs(),
    configuredSlugs: world.projectSlugs(),
    projectWorkflows: world.truth('insights_workflows').map((w) => workflowPartition(String(w.project_slug), String(w.name))),
  };
}

export function sampleConfig(world: World, port = SAMPLE_CONFIG_PORT): Json {
  return {
    // The fake world's token (seed 1): it opens nothing but the fake API.
    api_token: world.token,
    project_slugs: world.projectSlugs(),
    start_date: ACCEPTANCE_START_DATE,
    api_url: loopbackUrl(port),
    requests_per_minute: 100_000,
  };
}

/** A well-formed config whose token no CircleCI accepts: check must answer FAILED. */
export function invalidConfig(world: World): Json {
  return {
    api_token: `CCIPAT_INVALID_${'0'.repeat(40)}`,
    project_slugs: world.projectSlugs().slice(0, 1),
    start_date: ACCEPTANCE_START_DATE,
  };
}

/** Every discovered stream, incremental where it supports it. */
export function configuredCatalog(): Json {
  return {
    streams: buildCatalog().streams.map((stream) => {
      const incremental = stream.supported_sync_modes.includes('incremental');
      return {
        stream,
        sync_mode: incremental ? 'incremental' : 'full_refresh',
        destination_sync_mode: incremental ? 'append_dedup' : 'overwrite',
        ...(incremental ? { cursor_field: stream.default_cursor_field } : {}),
        primary_key: stream.source_defined_primary_key,
      };
    }),
  };
}

/** A realistic saved state: every partition bookmarked 30 days before the world's clock. */
export function sampleState(world: World): StreamStateEntry[] {
  return stateAt(worldPartitions(world), new Date(world.nowMs - 30 * 86_400_000).toISOString());
}

/** Every partition of every incremental stream bookmarked far in the future: a read from it finds nothing new. */
export function abnormalState(world: World): StreamStateEntry[] {
  return stateAt(worldPartitions(world), FAR_FUTURE);
}

/**
 * Streams whose records depend on the run's clock: snapshots stamp each record with the
 * sync's start (`_synced_at`), and an endpoint that reaches back a fixed time from now
 * (`since.horizonDays`) answers by the connector's clock, not the fake world's. No two
 * reads agree on them, so CAT's expected records leave them out (basic_read still reads,
 * validates and checks them).
 */
export function clockDependent(stream: string): boolean {
  const decl = STREAM_GRAPH.get(stream as StreamName);
  return decl.adds?._synced_at !== undefined || decl.since !== undefined;
}

/** The full read of the sample config, as CAT's expect_records file: one {stream, data, emitted_at} per line. */
export function expectedRecords(world: World): string {
  const config = sampleConfig(world);
  const lines: string[] = [];
  for (const { name } of buildCatalog().streams) {
    if (clockDependent(name)) continue;
    const records = world.truth(name as Parameters<World['truth']>[0], {
      projectSlugs: config.project_slugs as string[],
      startDate: ACCEPTANCE_START_DATE,
    });
    for (const data of records) lines.push(JSON.stringify({ stream: name, data, emitted_at: world.epochMs }));
  }
  return lines.join('\n') + '\n';
}

const pretty = (value: unknown): string => JSON.stringify(value, null, 2) + '\n';

/** integration_tests/<file> → contents, for every file derived from the fake world or the catalog. */
export function renderIntegrationFiles(world: World): Map<string, string> {
  return new Map([
    ['sample_config.json', pretty(sampleConfig(world))],
    ['invalid_config.json', pretty(invalidConfig(world))],
    ['configured_catalog.json', pretty(configuredCatalog())],
    ['sample_state.json', pretty(sampleState(world))],
    ['abnormal_state.json', pretty(abnormalState(world))],
    ['expected_records.jsonl', expectedRecords(world)],
  ]);
}
