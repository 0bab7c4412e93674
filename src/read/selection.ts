import { ConfigError } from '../errors.js';
import { ConfiguredAirbyteCatalog, type SyncMode } from '../protocol/messages.js';
import { STREAM_NAMES, type StreamName } from '../streams/schemas/index.js';
import { STREAMS } from '../streams/streams.js';

/** The streams a read covers, in catalog order, with the sync mode chosen for each. */
export type Selection = Map<StreamName, SyncMode>;

const isStreamName = (name: string): name is StreamName => (STREAM_NAMES as readonly string[]).includes(name);

/** Validates a configured catalog; errors name the stream and what is wrong with it. */
export function parseSelection(raw: unknown): Selection {
  if (raw === null || typeof raw !== 'object' || !Array.isArray((raw as { streams?: unknown }).streams)) {
    throw new ConfigError('The catalog must be a JSON object with a "streams" list (a ConfiguredAirbyteCatalog)');
  }
  const entries = (raw as { streams: unknown[] }).streams;
  const selection: Selection = new Map();
  entries.forEach((entry, index) => {
    const name = (entry as { stream?: { name?: unknown } } | null)?.stream?.name;
    const label = typeof name === 'string' ? `stream "${name}"` : `streams[${index}]`;
    if (typeof name !== 'string') throw new ConfigError(`Catalog ${label} has no stream.name`);
    if (!isStreamName(name)) {
      throw new ConfigError(`Catalog ${label} is not a stream of this source; the streams are: ${STREAM_NAMES.join(', ')}`);
    }
    const parsed = ConfiguredAirbyteCatalog.shape.streams.element.safeParse(entry);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new ConfigError(`Catalog ${label}: ${issue.path.join('.') || 'entry'} is invalid (${issue.message}); sync_mode must be full_refresh or incremental`);
    }
    const mode = parsed.data.sync_mode;
    if (mode === 'incremental' && STREAMS[name].cursor === undefined) {
      throw new ConfigError(`Catalog ${label} asks for incremental sync, but ${name} supports full_refresh only`);
    }
    if (selection.has(name)) throw new ConfigError(`Catalog ${label} is listed twice`);
    selection.set(name, mode);
  });
  if (selection.size === 0) throw new ConfigError('The catalog selects no streams');
  return selection;
}
