/**
 * Protocol checks shared by the tests: the official Airbyte protocol schema
 * (test/reference/airbyte_protocol.yaml, draft-07) compiled with ajv, and a Writable that
 * collects what an Emitter prints.
 *
 *   validateMessage(obj)        → list of schema errors ([] when valid)
 *   assertProtocolLines(stdout) → throws unless every line is a valid AirbyteMessage; returns them parsed
 *   new CapturingStream()       → pass to `new Emitter(stream)`; read `.text`, `.lines`, `.messages`
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable, type WritableOptions } from 'node:stream';

import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { parse as parseYaml } from 'yaml';

import { repoRoot } from '../../tools/repo-root.js';

// ajv-formats is CommonJS; under NodeNext its default import is module.exports.
const addFormats = addFormatsModule.default;

/** A parsed Airbyte message; loose on purpose, tests index into it freely. */
export type Message = Record<string, any>;

export const REPO_ROOT = repoRoot();
export const PROTOCOL_SCHEMA_PATH = join(REPO_ROOT, 'test', 'reference', 'airbyte_protocol.yaml');

let compiled: ValidateFunction | undefined;

/** The official schema's AirbyteMessage definition, compiled once. */
export function airbyteMessageValidator(): ValidateFunction {
  if (compiled) return compiled;
  const doc = parseYaml(readFileSync(PROTOCOL_SCHEMA_PATH, 'utf8')) as { $id?: string; definitions?: Record<string, unknown> };
  if (!doc.definitions?.AirbyteMessage) throw new Error(`${PROTOCOL_SCHEMA_PATH} has no definitions.AirbyteMessage`);
  // strict: false — the official schema carries non-standard keywords (existingJavaType, …).
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  const id = doc.$id ?? 'airbyte_protocol.yaml';
  ajv.addSchema({ ...doc, $id: id });
  const validate = ajv.getSchema(`${id}#/definitions/AirbyteMessage`);
  if (!validate) throw new Error('could not compile AirbyteMessage from the official schema');
  compiled = validate;
  return validate;
}

/** Schema errors of one message against the official AirbyteMessage ([] when it is valid). */
export function validateMessage(message: unknown): string[] {
  const validate = airbyteMessageValidator();
  if (validate(message)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
}

/** Throws unless the message validates against the official schema. */
export function assertValidMessage(message: unknown): void {
  const errors = validateMessage(message);
  if (errors.length > 0) throw new Error(`not a valid AirbyteMessage: ${JSON.stringify(message)}\n  ${errors.join('\n  ')}`);
}

/**
 * Every line of `stdout` must be one JSON AirbyteMessage valid against the official
 * schema (a trailing newline is fine; blank lines in between are not). Returns the
 * parsed messages.
 */
export function assertProtocolLines(stdout: string): Message[] {
  const lines = stdout.endsWith('\n') ? stdout.slice(0, -1).split('\n') : stdout === '' ? [] : stdout.split('\n');
  return lines.map((line, index) => {
    let message: unknown;
    try {
      message = JSON.parse(line);
    } catch {
      throw new Error(`stdout line ${index + 1} is not JSON: ${JSON.stringify(line.slice(0, 300))}`);
    }
    if (message === null || typeof message !== 'object' || Array.isArray(message)) {
      throw new Error(`stdout line ${index + 1} is not a JSON object: ${line.slice(0, 300)}`);
    }
    const errors = validateMessage(message);
    if (errors.length > 0) throw new Error(`stdout line ${index + 1} is not a valid AirbyteMessage: ${line.slice(0, 300)}\n  ${errors.join('\n  ')}`);
    return message as Message;
  });
}

/** Messages of one type (and, for TRACE, one trace type). */
export function ofType(messages: Message[], type: string, traceType?: string): Message[] {
  return messages.filter((m) => m.type === type && (traceType === undefined || m.trace?.type === traceType));
}

/**
 * A Writable that keeps everything written to it, for `new Emitter(stream)`. With
 * `delayMs` each write completes only after that delay, so together with a small
 * `highWaterMark` it applies backpressure like a slow destination.
 */
export class CapturingStream extends Writable {
  private readonly chunks: string[] = [];
  private readonly delayMs: number | undefined;
  /** Calls of write() that reached the stream (the emitter batches records into chunks). */
  writes = 0;

  constructor(options: WritableOptions & { delayMs?: number } = {}) {
    const { delayMs, ...rest } = options;
    super({ decodeStrings: false, ...rest });
    this.delayMs = delayMs;
  }

  override _write(chunk: Buffer | string, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    const text = typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    this.writes += 1;
    this.chunks.push(text);
    if (this.delayMs === undefined) done();
    else setTimeout(done, this.delayMs);
  }

  /** Everything written so far. */
  get text(): string {
    return this.chunks.join('');
  }

  /** Written lines, without the trailing empty one. */
  get lines(): string[] {
    const text = this.text;
    return text === '' ? [] : text.replace(/\n$/, '').split('\n');
  }

  /** Written lines, each parsed and validated against the official schema. */
  get messages(): Message[] {
    return assertProtocolLines(this.text);
  }

  clear(): void {
    this.chunks.length = 0;
  }
}
