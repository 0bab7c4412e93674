import type { AirbyteCatalog, AirbyteStream } from '../protocol/messages.js';
import { STREAM_NAMES, streamSchemas } from './schemas/index.js';
import { STREAMS } from './streams.js';

/** The catalog `discover` prints: every stream with its schema, keys and sync modes. */
export function buildCatalog(): AirbyteCatalog {
  return { streams: STREAM_NAMES.map((name): AirbyteStream => describeStream(name)) };
}

function describeStream(name: (typeof STREAM_NAMES)[number]): AirbyteStream {
  const stream = STREAMS[name];
  const incremental = stream.cursor !== undefined;
  return {
    name,
    json_schema: streamSchemas[name] as unknown as Record<string, unknown>,
    supported_sync_modes: incremental ? ['full_refresh', 'incremental'] : ['full_refresh'],
    source_defined_primary_key: stream.primaryKey.map((field) => [field]),
    ...(incremental ? { source_defined_cursor: true, default_cursor_field: [stream.cursor!], is_resumable: true } : { is_resumable: false }),
  };
}
