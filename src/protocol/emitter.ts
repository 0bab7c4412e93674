import type { Writable } from 'node:stream';
import type {
  AirbyteCatalog,
  AirbyteConnectionStatus,
  AirbyteRecordMessageMetaChange,
  ConnectorSpecification,
  FailureType,
  LogLevel,
  StreamStatus,
} from './messages.js';
import { Redactor } from './redactor.js';

/**
 * Records are gathered into chunks of about this many characters before they are
 * written: one write per record costs a system call each (stdout to a pipe is
 * synchronous on Linux), and at tens of thousands of records a second that is most of
 * the CPU. Every other message flushes the chunk, so a STATE is never written before
 * the records it covers and is itself written at once.
 */
const RECORD_CHUNK_CHARS = 64 * 1024;

/**
 * Where a record's data carries the changes the source made to it (the record's
 * `meta.changes`). A symbol key: JSON.stringify leaves it out of `data`, and the record
 * keeps it through every reader that passes it along, without a second argument on each.
 */
export const RECORD_CHANGES = Symbol('record meta changes');
export type WithChanges = { [RECORD_CHANGES]?: readonly AirbyteRecordMessageMetaChange[] };

/**
 * The only writer of stdout. Every Airbyte message goes out through here as one JSON
 * line; nothing else in the connector may print to stdout (lint forbids console.log).
 *
 * It also keeps the bookkeeping the protocol asks of a source: records per stream since
 * its last STATE (`sourceStats.recordCount`) and no identical STATE twice in a row.
 * Stream statuses are written as the read says them (read.ts: STARTED and RUNNING for
 * every selected stream before any record, COMPLETE or INCOMPLETE at the end).
 *
 * Records wait in a chunk (see RECORD_CHUNK_CHARS) until it is full, another message is
 * written, `flush()` is called, or the current turn of the event loop ends (a
 * `setImmediate`), so a record is never held while the connector waits on the network.
 */
export class Emitter {
  private readonly recordsSinceState = new Map<string, number>();
  /** Characters of the record lines per stream since its last STATE: what a checkpoint is weighed against (read/checkpoints.ts). */
  private readonly recordCharsSinceState = new Map<string, number>();
  private readonly recordsTotal = new Map<string, number>();
  private readonly lastState = new Map<string, string>();
  private readonly recordPrefix = new Map<string, string>();
  private drain: Promise<void> | undefined;
  /** Record lines not yet written, in order. */
  private pending = '';
  private flushScheduled = false;
  private readonly scheduledFlush = (): void => {
    this.flushScheduled = false;
    this.flush();
  };
  readonly redactor: Redactor;

  constructor(
    private readonly out: Writable = process.stdout,
    private readonly now: () => number = Date.now,
    redactor?: Redactor,
  ) {
    this.redactor = redactor ?? new Redactor();
  }

  /** Resolves once stdout has room again; readers await it between pages (backpressure). */
  ready(): Promise<void> {
    return this.drain ?? Promise.resolve();
  }

  spec(spec: ConnectorSpecification): void {
    this.write({ type: 'SPEC', spec });
  }

  connectionStatus(status: AirbyteConnectionStatus): void {
    this.write({
      type: 'CONNECTION_STATUS',
      connectionStatus: status.message === undefined ? status : { ...status, message: this.redactor.redact(status.message) },
    });
  }

  catalog(catalog: AirbyteCatalog): void {
    this.write({ type: 'CATALOG', catalog });
  }

  /** Records written for `stream` so far (for progress and the read's summary). */
  recordCount(stream: string): number {
    return this.recordsTotal.get(stream) ?? 0;
  }

  /** Characters of `stream`'s record lines written since its last STATE. */
  recordCharsSince(stream: string): number {
    return this.recordCharsSinceState.get(stream) ?? 0;
  }

  /** Hot path: one JSON.stringify per record, the envelope is concatenated around it; `meta.changes` from RECORD_CHANGES. */
  record(stream: string, data: object): void {
    let prefix = this.recordPrefix.get(stream);
    if (prefix === undefined) {
      prefix = `{"type":"RECORD","record":{"stream":${JSON.stringify(stream)},"data":`;
      this.recordPrefix.set(stream, prefix);
    }
    this.recordsSinceState.set(stream, (this.recordsSinceState.get(stream) ?? 0) + 1);
    this.recordsTotal.set(stream, (this.recordsTotal.get(stream) ?? 0) + 1);
    const changes = (data as WithChanges)[RECORD_CHANGES];
    const meta = changes === undefined ? '' : `,"meta":{"changes":${JSON.stringify(changes)}}`;
    const line = `${prefix}${JSON.stringify(data)},"emitted_at":${this.now()}${meta}}}\n`;
    this.recordCharsSinceState.set(stream, (this.recordCharsSinceState.get(stream) ?? 0) + line.length);
    this.pending += line;
    if (this.pending.length >= RECORD_CHUNK_CHARS) this.flush();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.scheduledFlush);
    }
  }

  /**
   * A per-stream STATE with the records emitted since the previous one. A state equal to
   * the previous one for the stream, with no records in between, is not repeated.
   * Returns whether a message was written.
   */
  state(stream: string, streamState: object): boolean {
    const serialized = JSON.stringify(streamState);
    const count = this.recordsSinceState.get(stream) ?? 0;
    if (count === 0 && this.lastState.get(stream) === serialized) return false;
    this.lastState.set(stream, serialized);
    this.recordsSinceState.set(stream, 0);
    this.recordCharsSinceState.set(stream, 0);
    this.writeLine(
      `{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":${JSON.stringify(stream)}},` +
        `"stream_state":${serialized}},"sourceStats":{"recordCount":${count}}}}`,
    );
    return true;
  }

  /** WARN lines written so far (the read's end points to them only when there are some). */
  warnings = 0;

  log(level: LogLevel, message: string): void {
    if (level === 'WARN') this.warnings += 1;
    this.write({ type: 'LOG', log: { level, message: this.redactor.redact(message) } });
  }

  streamStatus(stream: string, status: StreamStatus): void {
    this.write({
      type: 'TRACE',
      trace: { type: 'STREAM_STATUS', emitted_at: this.now(), stream_status: { stream_descriptor: { name: stream }, status } },
    });
  }

  /** The rows `stream` is expected to emit in this sync (an ESTIMATE trace of type STREAM; each replaces the last). */
  estimate(stream: string, rows: number): void {
    this.write({
      type: 'TRACE',
      trace: { type: 'ESTIMATE', emitted_at: this.now(), estimate: { name: stream, type: 'STREAM', row_estimate: Math.round(rows) } },
    });
  }

  error(message: string, failureType: FailureType, options: { stream?: string; internalMessage?: string } = {}): void {
    this.write({
      type: 'TRACE',
      trace: {
        type: 'ERROR',
        emitted_at: this.now(),
        error: {
          message: this.redactor.redact(message),
          failure_type: failureType,
          ...(options.internalMessage ? { internal_message: this.redactor.redact(options.internalMessage) } : {}),
          ...(options.stream ? { stream_descriptor: { name: options.stream } } : {}),
        },
      },
    });
  }

  private write(message: object): void {
    this.writeLine(JSON.stringify(message));
  }

  /** Writes the records waiting in the chunk, if any. */
  flush(): void {
    if (this.pending === '') return;
    const chunk = this.pending;
    this.pending = '';
    this.writeChunk(chunk);
  }

  /** Any message but a record: written at once, after the records before it. */
  private writeLine(line: string): void {
    const chunk = `${this.pending}${line}\n`;
    this.pending = '';
    this.writeChunk(chunk);
  }

  private writeChunk(chunk: string): void {
    if (!this.out.write(chunk) && this.drain === undefined) {
      this.drain = new Promise((resolve) =>
        this.out.once('drain', () => {
          this.drain = undefined;
          resolve();
        }),
      );
    }
  }
}
