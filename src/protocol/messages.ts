// Airbyte protocol v0 messages, as zod schemas and the TypeScript types inferred from
// them. Only the messages this source prints or reads are modelled; every object stays
// open (`passthrough`/`looseObject`) because the official schema allows extra keys.
// The official schema (airbyte_protocol.yaml) is checked against our output in tests.
import { z } from 'zod';

export const FailureType = z.enum(['config_error', 'system_error', 'transient_error']);
export type FailureType = z.infer<typeof FailureType>;

export const SyncMode = z.enum(['full_refresh', 'incremental']);
export type SyncMode = z.infer<typeof SyncMode>;

export const DestinationSyncMode = z.enum(['append', 'overwrite', 'append_dedup', 'update']);

export const StreamDescriptor = z.looseObject({ name: z.string(), namespace: z.string().optional() });
export type StreamDescriptor = z.infer<typeof StreamDescriptor>;

export const LogLevel = z.enum(['FATAL', 'ERROR', 'WARN', 'INFO', 'DEBUG', 'TRACE']);
export type LogLevel = z.infer<typeof LogLevel>;

export const StreamStatus = z.enum(['STARTED', 'RUNNING', 'COMPLETE', 'INCOMPLETE']);
export type StreamStatus = z.infer<typeof StreamStatus>;

const JsonObject = z.record(z.string(), z.unknown());

export const AirbyteStream = z.looseObject({
  name: z.string(),
  json_schema: JsonObject,
  supported_sync_modes: z.array(SyncMode).min(1),
  source_defined_cursor: z.boolean().optional(),
  default_cursor_field: z.array(z.string()).optional(),
  source_defined_primary_key: z.array(z.array(z.string())).optional(),
  is_resumable: z.boolean().optional(),
});
export type AirbyteStream = z.infer<typeof AirbyteStream>;

export const AirbyteCatalog = z.looseObject({ streams: z.array(AirbyteStream) });
export type AirbyteCatalog = z.infer<typeof AirbyteCatalog>;

export const ConfiguredAirbyteStream = z.looseObject({
  stream: z.looseObject({ name: z.string() }),
  sync_mode: SyncMode,
  destination_sync_mode: DestinationSyncMode.optional(),
  cursor_field: z.array(z.string()).optional(),
  primary_key: z.array(z.array(z.string())).optional(),
});
export type ConfiguredAirbyteStream = z.infer<typeof ConfiguredAirbyteStream>;

export const ConfiguredAirbyteCatalog = z.looseObject({ streams: z.array(ConfiguredAirbyteStream) });
export type ConfiguredAirbyteCatalog = z.infer<typeof ConfiguredAirbyteCatalog>;

export const StateStats = z.looseObject({ recordCount: z.number().optional() });

export const AirbyteStreamState = z.looseObject({
  stream_descriptor: StreamDescriptor,
  stream_state: JsonObject.optional(),
});

export const AirbyteStateMessage = z.looseObject({
  type: z.enum(['STREAM', 'GLOBAL', 'LEGACY']).optional(),
  stream: AirbyteStreamState.optional(),
  global: z.unknown().optional(),
  data: z.unknown().optional(),
  sourceStats: StateStats.optional(),
});
export type AirbyteStateMessage = z.infer<typeof AirbyteStateMessage>;

/** What `--state` may hold: an array of per-stream states (Airbyte's current format). */
export const StateInput = z.array(AirbyteStateMessage);

/** A change the source made to a record's data (a value it could not serialize as its schema says, nulled). */
export const AirbyteRecordMessageMetaChange = z.looseObject({
  field: z.string(),
  change: z.enum(['NULLED', 'TRUNCATED']),
  reason: z.enum([
    'SOURCE_RECORD_SIZE_LIMITATION',
    'DESTINATION_RECORD_SIZE_LIMITATION',
    'PLATFORM_RECORD_SIZE_LIMITATION',
    'SOURCE_FIELD_SIZE_LIMITATION',
    'DESTINATION_FIELD_SIZE_LIMITATION',
    'PLATFORM_FIELD_SIZE_LIMITATION',
    'SOURCE_SERIALIZATION_ERROR',
    'DESTINATION_SERIALIZATION_ERROR',
    'PLATFORM_SERIALIZATION_ERROR',
    'SOURCE_RETRIEVAL_ERROR',
    'DESTINATION_TYPECAST_ERROR',
  ]),
});
export type AirbyteRecordMessageMetaChange = z.infer<typeof AirbyteRecordMessageMetaChange>;

export const AirbyteRecordMessageMeta = z.looseObject({ changes: z.array(AirbyteRecordMessageMetaChange).optional() });

export const AirbyteRecordMessage = z.looseObject({
  stream: z.string(),
  data: JsonObject,
  emitted_at: z.number(),
  namespace: z.string().optional(),
  meta: AirbyteRecordMessageMeta.optional(),
});
export type AirbyteRecordMessage = z.infer<typeof AirbyteRecordMessage>;

export const AirbyteLogMessage = z.looseObject({
  level: LogLevel,
  message: z.string(),
  stack_trace: z.string().optional(),
});

export const AirbyteErrorTrace = z.looseObject({
  message: z.string(),
  internal_message: z.string().optional(),
  stack_trace: z.string().optional(),
  failure_type: FailureType.optional(),
  stream_descriptor: StreamDescriptor.optional(),
});

export const AirbyteStreamStatusTrace = z.looseObject({
  stream_descriptor: StreamDescriptor,
  status: StreamStatus,
  reasons: z
    .array(z.looseObject({ type: z.literal('RATE_LIMITED'), rate_limited: z.looseObject({ quota_reset: z.number().optional() }).optional() }))
    .optional(),
});

export const AirbyteEstimateTrace = z.looseObject({
  name: z.string(),
  type: z.enum(['STREAM', 'SYNC']),
  namespace: z.string().optional(),
  row_estimate: z.number().int().optional(),
  byte_estimate: z.number().int().optional(),
});

export const AirbyteTraceMessage = z.looseObject({
  type: z.enum(['ERROR', 'ESTIMATE', 'STREAM_STATUS', 'ANALYTICS']),
  emitted_at: z.number(),
  error: AirbyteErrorTrace.optional(),
  estimate: AirbyteEstimateTrace.optional(),
  stream_status: AirbyteStreamStatusTrace.optional(),
});
export type AirbyteTraceMessage = z.infer<typeof AirbyteTraceMessage>;

export const AirbyteConnectionStatus = z.looseObject({
  status: z.enum(['SUCCEEDED', 'FAILED']),
  message: z.string().optional(),
});
export type AirbyteConnectionStatus = z.infer<typeof AirbyteConnectionStatus>;

export const ConnectorSpecification = z.looseObject({
  documentationUrl: z.string().optional(),
  changelogUrl: z.string().optional(),
  connectionSpecification: JsonObject,
  supportsIncremental: z.boolean().optional(),
  supported_destination_sync_modes: z.array(DestinationSyncMode).optional(),
});
export type ConnectorSpecification = z.infer<typeof ConnectorSpecification>;

export const AirbyteMessage = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('RECORD'), record: AirbyteRecordMessage }),
  z.looseObject({ type: z.literal('STATE'), state: AirbyteStateMessage }),
  z.looseObject({ type: z.literal('LOG'), log: AirbyteLogMessage }),
  z.looseObject({ type: z.literal('SPEC'), spec: ConnectorSpecification }),
  z.looseObject({ type: z.literal('CONNECTION_STATUS'), connectionStatus: AirbyteConnectionStatus }),
  z.looseObject({ type: z.literal('CATALOG'), catalog: AirbyteCatalog }),
  z.looseObject({ type: z.literal('TRACE'), trace: AirbyteTraceMessage }),
]);
export type AirbyteMessage = z.infer<typeof AirbyteMessage>;
