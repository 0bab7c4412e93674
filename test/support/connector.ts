import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { Command } from '../../src/cli/args.js';
import { dispatch } from '../../src/commands/dispatch.js';
import { Emitter } from '../../src/protocol/emitter.js';
import type { RunOptions } from '../../src/run-options.js';
import { INSIGHTS_STREAMS } from '../../src/streams/insights.js';
import type { StreamName } from '../../src/streams/schemas/index.js';
import { STREAMS } from '../../src/streams/streams.js';

/** What one in-process run of the connector printed, split up for assertions. */
export interface RunResult {
  exitCode: number;
  lines: string[];
  messages: Array<Record<string, any>>;
  records: Map<string, Array<Record<string, unknown>>>;
  /** Every STATE message's per-stream state, in order. */
  states: Array<Record<string, any>>;
  /** The last state per stream: what the next sync starts from. */
  finalState: Array<Record<string, any>>;
  errors: Array<Record<string, any>>;
  logs: Array<{ level: string; message: string }>;
}

/** Collects what the connector writes, as text. */
export class LineSink extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.text += chunk.toString('utf8');
    done();
  }
}

export function writeJson(value: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'source-circleci-'));
  const path = join(dir, 'input.json');
  writeFileSync(path, typeof value === 'string' ? value : JSON.stringify(value));
  return path;
}

export function catalogOf(modes: Partial<Record<StreamName, 'full_refresh' | 'incremental'>>): unknown {
  return {
    streams: Object.entries(modes).map(([name, mode]) => ({
      stream: { name, json_schema: {}, supported_sync_modes: ['full_refresh', ...(STREAMS[name as StreamName].cursor ? ['incremental'] : [])] },
      sync_mode: mode,
      destination_sync_mode: mode === 'incremental' ? 'append_dedup' : 'overwrite',
    })),
  };
}

/**
 * Every stream in its best mode: incremental where supported. Streams read through an
 * asynchronous export (usage) are left out unless asked for: their jobs are polled with
 * waits and limited per hour, which test/read/usage.test.ts covers; the other suites
 * read what every sync can read at once.
 */
export function allStreams(
  mode: 'full_refresh' | 'incremental' = 'incremental',
  { exports = false }: { exports?: boolean } = {},
): Partial<Record<StreamName, 'full_refresh' | 'incremental'>> {
  const out: Partial<Record<StreamName, 'full_refresh' | 'incremental'>> = {};
  for (const [name, decl] of Object.entries(STREAMS)) {
    if (decl.asyncExport && !exports) continue;
    out[name as StreamName] = mode === 'incremental' && decl.cursor ? 'incremental' : 'full_refresh';
  }
  return out;
}

/** The streams allStreams() selects by default: every stream but those read through an export. */
export const LISTED_STREAMS: readonly StreamName[] = (Object.keys(STREAMS) as StreamName[]).filter((name) => !STREAMS[name].asyncExport);

/**
 * The listed streams but the Insights ones: what the tree and history suites (resume,
 * faults, fidelity, kill and resume) exercise. Insights snapshots carry the sync's time and
 * are compared with the truth in test/read/insights.test.ts, full-refresh and incremental.
 */
export const CORE_STREAMS: readonly StreamName[] = LISTED_STREAMS.filter((name) => !Object.hasOwn(INSIGHTS_STREAMS, name));

export function coreStreams(mode: 'full_refresh' | 'incremental' = 'incremental'): Partial<Record<StreamName, 'full_refresh' | 'incremental'>> {
  return Object.fromEntries(Object.entries(allStreams(mode)).filter(([name]) => CORE_STREAMS.includes(name as StreamName)));
}

export function parseRun(text: string, exitCode: number): RunResult {
  const lines = text.split('\n').filter((line) => line !== '');
  const messages = lines.map((line) => JSON.parse(line) as Record<string, any>);
  const records = new Map<string, Array<Record<string, unknown>>>();
  const states: Array<Record<string, any>> = [];
  const last = new Map<string, Record<string, any>>();
  for (const message of messages) {
    if (message.type === 'RECORD') {
      const list = records.get(message.record.stream) ?? [];
      list.push(message.record.data);
      records.set(message.record.stream, list);
    } else if (message.type === 'STATE') {
      states.push(message.state);
      last.set(message.state.stream.stream_descriptor.name, message.state);
    }
  }
  return {
    exitCode,
    lines,
    messages,
    records,
    states,
    finalState: [...last.values()],
    errors: messages.filter((m) => m.type === 'TRACE' && m.trace.type === 'ERROR').map((m) => m.trace.error),
    logs: messages.filter((m) => m.type === 'LOG').map((m) => m.log),
  };
}

export interface ReadInputs {
  config: Record<string, unknown>;
  streams: Partial<Record<StreamName, 'full_refresh' | 'incremental'>>;
  state?: unknown;
}

/** A config for a fake CircleCI world served at `url`: its token and a rate ceiling that never binds; `fields` add the rest. */
export function fakeConfig(world: { token: string }, url: string, fields: Record<string, unknown>): Record<string, unknown> {
  return { api_token: world.token, api_url: url, requests_per_minute: 100_000, ...fields };
}

/** The `read` command for these inputs, written to files as the CLI would be given them. */
export function readCommand(inputs: ReadInputs): Command {
  return {
    name: 'read',
    config: writeJson(inputs.config),
    catalog: writeJson(catalogOf(inputs.streams)),
    ...(inputs.state !== undefined ? { state: writeJson(inputs.state) } : {}),
  };
}

/** Runs `read` in-process against an API URL and returns everything it printed; `options` are the internal knobs. */
export async function runRead(inputs: ReadInputs, options: RunOptions = {}): Promise<RunResult> {
  const sink = new LineSink();
  // Export jobs are polled in virtual time: a wait between polls passes at once.
  const exitCode = await dispatch(readCommand(inputs), new Emitter(sink), { sleep: async () => undefined, ...options });
  return parseRun(sink.text, exitCode);
}

/** The ids a history stream's state follows as unfinished, over all its projects (each project's entry lists its own). */
export function followedIds(streamState: Record<string, any>): string[] {
  return Object.values((streamState.projects ?? {}) as Record<string, { unfinished?: string[] }>).flatMap((entry) => entry.unfinished ?? []);
}

/** A record's identity within its stream. */
export function primaryKeyOf(stream: StreamName, record: Record<string, unknown>): string {
  return JSON.stringify(STREAMS[stream].primaryKey.map((field) => record[field]));
}

/** Applies records to a destination table keyed by primary key, last write wins. */
export function dedupe(stream: StreamName, ...batches: Array<Array<Record<string, unknown>> | undefined>): Map<string, Record<string, unknown>> {
  const table = new Map<string, Record<string, unknown>>();
  for (const batch of batches) for (const record of batch ?? []) table.set(primaryKeyOf(stream, record), record);
  return table;
}
