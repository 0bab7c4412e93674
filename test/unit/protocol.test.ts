/**
 * Every kind of message the emitter prints validates against the official Airbyte
 * protocol schema and against our zod AirbyteMessage; invalid ones fail both.
 */
import { describe, expect, it } from '@jest/globals';

import { loadSpec } from '../../src/config/spec.js';
import { Emitter, RECORD_CHANGES } from '../../src/protocol/emitter.js';
import { AirbyteMessage, FailureType, LogLevel, StreamStatus } from '../../src/protocol/messages.js';
import { buildCatalog } from '../../src/streams/catalog.js';
import { STREAM_NAMES } from '../../src/streams/schemas/index.js';
import { CapturingStream, assertProtocolLines, validateMessage, type Message } from '../support/protocol.js';

/** Runs `emit` against a fresh emitter and returns the one message it printed. */
function emitOne(emit: (emitter: Emitter) => void): Message {
  const out = new CapturingStream();
  emit(new Emitter(out, () => 1_735_689_600_000));
  const messages = assertProtocolLines(out.text);
  expect(messages).toHaveLength(1);
  return messages[0]!;
}

/** Valid for both the official schema and our zod schema. */
function expectValid(message: unknown): void {
  expect(validateMessage(message)).toEqual([]);
  const zod = AirbyteMessage.safeParse(message);
  expect(zod.success ? [] : zod.error.issues).toEqual([]);
}

/** Rejected by both the official schema and our zod schema. */
function expectInvalid(message: unknown): void {
  expect(validateMessage(message)).not.toEqual([]);
  expect(AirbyteMessage.safeParse(message).success).toBe(false);
}

describe('messages the emitter prints are valid Airbyte protocol', () => {
  it('SPEC from spec.json', () => {
    const message = emitOne((e) => e.spec(loadSpec()));
    expect(message.type).toBe('SPEC');
    expect(message.spec.connectionSpecification.properties.api_token.airbyte_secret).toBe(true);
    expectValid(message);
  });

  it.each(['SUCCEEDED', 'FAILED'] as const)('CONNECTION_STATUS %s', (status) => {
    const message = emitOne((e) => e.connectionStatus(status === 'FAILED' ? { status, message: 'the token is invalid' } : { status }));
    expect(message.connectionStatus.status).toBe(status);
    expectValid(message);
  });

  it('CATALOG from buildCatalog()', () => {
    const message = emitOne((e) => e.catalog(buildCatalog()));
    expect(message.catalog.streams).toHaveLength(STREAM_NAMES.length);
    expectValid(message);
  });

  it('RECORD', () => {
    const out = new CapturingStream();
    const emitter = new Emitter(out, () => 1_735_689_600_000);
    emitter.record('pipelines', { id: 'p1', number: 3, nested: { a: [1, null] }, text: 'quote " and \n newline' });
    emitter.flush();
    const [message] = assertProtocolLines(out.text);
    expect(message).toEqual({
      type: 'RECORD',
      record: { stream: 'pipelines', data: { id: 'p1', number: 3, nested: { a: [1, null] }, text: 'quote " and \n newline' }, emitted_at: 1_735_689_600_000 },
    });
    expectValid(message!);
  });

  it('RECORD with meta.changes: the changes a record carries under RECORD_CHANGES, never in its data', () => {
    const out = new CapturingStream();
    const emitter = new Emitter(out, () => 1_735_689_600_000);
    const changes = [{ field: 'run_time', change: 'NULLED', reason: 'SOURCE_SERIALIZATION_ERROR' }] as const;
    emitter.record('tests', { _job_id: 'j1', run_time: null, [RECORD_CHANGES]: changes });
    emitter.flush();
    const [message] = assertProtocolLines(out.text);
    expect(message).toEqual({
      type: 'RECORD',
      record: { stream: 'tests', data: { _job_id: 'j1', run_time: null }, emitted_at: 1_735_689_600_000, meta: { changes } },
    });
    expectValid(message!);
    expectInvalid({ ...message, record: { ...message!.record, meta: { changes: [{ field: 'run_time', change: 'DROPPED', reason: 'SOURCE_SERIALIZATION_ERROR' }] } } });
  });

  it('STATE with sourceStats', () => {
    const out = new CapturingStream();
    const emitter = new Emitter(out);
    emitter.record('deploy', { id: 'a' });
    emitter.state('deploy', { org: { updated_at: '2025-01-01T00:00:00Z' } });
    const state = assertProtocolLines(out.text).find((m) => m.type === 'STATE')!;
    expect(state.state).toEqual({
      type: 'STREAM',
      stream: { stream_descriptor: { name: 'deploy' }, stream_state: { org: { updated_at: '2025-01-01T00:00:00Z' } } },
      sourceStats: { recordCount: 1 },
    });
    expectValid(state);
  });

  it.each(LogLevel.options)('LOG %s', (level) => {
    const message = emitOne((e) => e.log(level, `a ${level} line`));
    expect(message.log).toEqual({ level, message: `a ${level} line` });
    expectValid(message);
  });

  it.each(FailureType.options)('TRACE ERROR %s', (failureType) => {
    const message = emitOne((e) => e.error('it broke', failureType, { internalMessage: 'stack here' }));
    expect(message.trace.type).toBe('ERROR');
    expect(message.trace.error).toEqual({ message: 'it broke', failure_type: failureType, internal_message: 'stack here' });
    expectValid(message);
  });

  it('TRACE ERROR with a stream_descriptor', () => {
    const message = emitOne((e) => e.error('jobs failed', 'transient_error', { stream: 'jobs' }));
    expect(message.trace.error.stream_descriptor).toEqual({ name: 'jobs' });
    expectValid(message);
  });

  it.each(StreamStatus.options)('TRACE STREAM_STATUS %s', (status) => {
    const message = emitOne((e) => e.streamStatus('workflows', status));
    expect(message.trace).toEqual({
      type: 'STREAM_STATUS',
      emitted_at: 1_735_689_600_000,
      stream_status: { stream_descriptor: { name: 'workflows' }, status },
    });
    expectValid(message);
  });

  it('TRACE ESTIMATE of a stream', () => {
    const message = emitOne((e) => e.estimate('pipelines', 1234));
    expect(message.trace).toEqual({
      type: 'ESTIMATE',
      emitted_at: 1_735_689_600_000,
      estimate: { name: 'pipelines', type: 'STREAM', row_estimate: 1234 },
    });
    expectValid(message);
  });
});

describe('invalid messages are rejected by both schemas', () => {
  const emittedAt = 1_735_689_600_000;
  it.each([
    ['failure_type oops', { type: 'TRACE', trace: { type: 'ERROR', emitted_at: emittedAt, error: { message: 'x', failure_type: 'oops' } } }],
    ['unknown message type', { type: 'NOPE' }],
    ['log level VERBOSE', { type: 'LOG', log: { level: 'VERBOSE', message: 'x' } }],
    ['log without message', { type: 'LOG', log: { level: 'INFO' } }],
    ['record without emitted_at', { type: 'RECORD', record: { stream: 's', data: {} } }],
    ['record data not an object', { type: 'RECORD', record: { stream: 's', data: 'x', emitted_at: emittedAt } }],
    ['connection status MAYBE', { type: 'CONNECTION_STATUS', connectionStatus: { status: 'MAYBE' } }],
    ['stream status DONE', { type: 'TRACE', trace: { type: 'STREAM_STATUS', emitted_at: emittedAt, stream_status: { stream_descriptor: { name: 's' }, status: 'DONE' } } }],
    ['state type PER_STREAM', { type: 'STATE', state: { type: 'PER_STREAM' } }],
    ['recordCount as a string', { type: 'STATE', state: { type: 'STREAM', stream: { stream_descriptor: { name: 's' } }, sourceStats: { recordCount: '1' } } }],
    ['trace without emitted_at', { type: 'TRACE', trace: { type: 'ERROR', error: { message: 'x' } } }],
    ['catalog sync mode INVALID', { type: 'CATALOG', catalog: { streams: [{ name: 's', json_schema: {}, supported_sync_modes: ['INVALID'] }] } }],
    ['estimate type TABLE', { type: 'TRACE', trace: { type: 'ESTIMATE', emitted_at: emittedAt, estimate: { name: 's', type: 'TABLE', row_estimate: 1 } } }],
    ['estimate without name', { type: 'TRACE', trace: { type: 'ESTIMATE', emitted_at: emittedAt, estimate: { type: 'STREAM', row_estimate: 1 } } }],
    ['estimate byte_estimate as a string', { type: 'TRACE', trace: { type: 'ESTIMATE', emitted_at: emittedAt, estimate: { name: 's', type: 'STREAM', byte_estimate: '1' } } }],
    ['estimate row_estimate 1.5', { type: 'TRACE', trace: { type: 'ESTIMATE', emitted_at: emittedAt, estimate: { name: 's', type: 'STREAM', row_estimate: 1.5 } } }],
  ])('%s', (_name, message) => {
    expectInvalid(message);
  });

  it('assertProtocolLines rejects a line that is not JSON, or not a message', () => {
    expect(() => assertProtocolLines('{"type":"LOG","log":{"level":"INFO","message":"ok"}}\nhello\n')).toThrow(/line 2 is not JSON/);
    expect(() => assertProtocolLines('{"type":"LOG","log":{"level":"LOUD","message":"x"}}\n')).toThrow(/line 1 is not a valid AirbyteMessage/);
    expect(() => assertProtocolLines('[1]\n')).toThrow(/not a JSON object/);
    expect(assertProtocolLines('')).toEqual([]);
  });
});
