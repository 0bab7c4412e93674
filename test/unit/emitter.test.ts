/**
 * The emitter's bookkeeping: one line per message, recordCount per stream since its last
 * STATE, no identical consecutive STATE, statuses written as said, secrets redacted, records batched into chunks without reordering, and backpressure
 * through ready().
 */
import { describe, expect, it } from '@jest/globals';

import { Emitter } from '../../src/protocol/emitter.js';
import { Redactor } from '../../src/protocol/redactor.js';
import { CapturingStream, ofType, type Message } from '../support/protocol.js';

const TOKEN = 'CCIPAT_abcdefghijklmnop_0123456789abcdef0123456789';
const TOKEN_BASE64 = Buffer.from(TOKEN).toString('base64');
const BASIC_BASE64 = Buffer.from(`${TOKEN}:`).toString('base64');

function setup(): { out: CapturingStream; emitter: Emitter } {
  const out = new CapturingStream();
  return { out, emitter: new Emitter(out, () => 1_700_000_000_000) };
}

const states = (messages: Message[]) => ofType(messages, 'STATE').map((m) => m.state);
const statuses = (messages: Message[]) =>
  ofType(messages, 'TRACE', 'STREAM_STATUS').map((m) => `${m.trace.stream_status.stream_descriptor.name}:${m.trace.stream_status.status}`);

describe('Emitter output', () => {
  it('writes exactly one JSON line per message, each ending in a newline', () => {
    const { out, emitter } = setup();
    emitter.log('INFO', 'line one\nline two');
    emitter.record('pipelines', { id: 'a', text: 'multi\nline' });
    emitter.state('pipelines', { cursor: 'x' });
    emitter.streamStatus('pipelines', 'COMPLETE');
    emitter.error('boom\nsecond line', 'system_error');
    expect(out.text.endsWith('\n')).toBe(true);
    expect(out.lines).toHaveLength(5);
    expect(out.messages.map((m) => m.type)).toEqual(['LOG', 'RECORD', 'STATE', 'TRACE', 'TRACE']);
    expect(out.messages[0]!.log.message).toBe('line one\nline two');
  });

  it('uses the injected clock for emitted_at', () => {
    const { out, emitter } = setup();
    emitter.record('jobs', { id: 1 });
    emitter.flush();
    emitter.streamStatus('jobs', 'COMPLETE');
    const [record, status] = out.messages;
    expect(status!.trace.emitted_at).toBe(1_700_000_000_000);
    expect(record!.record.emitted_at).toBe(1_700_000_000_000);
  });

  it('a stream name needing JSON escaping still gives valid JSON', () => {
    const { out, emitter } = setup();
    emitter.record('we"ird\\name', { id: 1 });
    emitter.state('we"ird\\name', { a: 1 });
    emitter.streamStatus('we"ird\\name', 'COMPLETE');
    expect(out.messages.map((m) => m.record?.stream ?? m.state?.stream.stream_descriptor.name ?? m.trace?.stream_status.stream_descriptor.name)).toEqual([
      'we"ird\\name',
      'we"ird\\name',
      'we"ird\\name',
    ]);
  });
});

describe('STATE bookkeeping', () => {
  it('recordCount counts the records of that stream since its previous STATE', () => {
    const { out, emitter } = setup();
    emitter.record('pipelines', { id: 1 });
    emitter.record('workflows', { id: 'w1' });
    emitter.record('pipelines', { id: 2 });
    emitter.record('pipelines', { id: 3 });
    expect(emitter.state('pipelines', { at: 1 })).toBe(true);
    emitter.record('workflows', { id: 'w2' });
    expect(emitter.state('workflows', { at: 1 })).toBe(true);
    emitter.record('pipelines', { id: 4 });
    expect(emitter.state('pipelines', { at: 2 })).toBe(true);
    expect(emitter.state('jobs', { at: 0 })).toBe(true); // a stream with no records still gets its state
    expect(states(out.messages).map((s) => [s.stream.stream_descriptor.name, s.sourceStats.recordCount])).toEqual([
      ['pipelines', 3],
      ['workflows', 2],
      ['pipelines', 1],
      ['jobs', 0],
    ]);
  });

  it('every STATE is per-stream (type STREAM), never LEGACY', () => {
    const { out, emitter } = setup();
    emitter.state('deploy', { a: 1 });
    const [state] = states(out.messages);
    expect(state.type).toBe('STREAM');
    expect(state.data).toBeUndefined();
    expect(state.stream).toEqual({ stream_descriptor: { name: 'deploy' }, stream_state: { a: 1 } });
  });

  it('an identical consecutive STATE with no records in between is suppressed', () => {
    const { out, emitter } = setup();
    expect(emitter.state('deploy', { a: 1 })).toBe(true);
    expect(emitter.state('deploy', { a: 1 })).toBe(false);
    expect(states(out.messages)).toHaveLength(1);
  });

  it('an identical STATE after records is emitted again, with the new count', () => {
    const { out, emitter } = setup();
    emitter.state('deploy', { a: 1 });
    emitter.record('deploy', { id: 'x' });
    expect(emitter.state('deploy', { a: 1 })).toBe(true);
    expect(states(out.messages).map((s) => s.sourceStats.recordCount)).toEqual([0, 1]);
  });

  it('records of another stream do not un-suppress a stream’s identical state', () => {
    const { out, emitter } = setup();
    emitter.state('deploy', { a: 1 });
    emitter.record('jobs', { id: 'j' });
    expect(emitter.state('deploy', { a: 1 })).toBe(false);
    expect(states(out.messages)).toHaveLength(1);
  });

  it('a different state is emitted even without records; equal states of different streams are independent', () => {
    const { out, emitter } = setup();
    emitter.state('deploy', { a: 1 });
    expect(emitter.state('deploy', { a: 2 })).toBe(true);
    expect(emitter.state('pipelines', { a: 2 })).toBe(true);
    expect(emitter.state('deploy', { a: 1 })).toBe(true); // not identical to the *previous* one
    expect(states(out.messages)).toHaveLength(4);
  });
});

describe('stream status', () => {
  it('statuses are written as said, in order, with no RUNNING added by records', () => {
    const { out, emitter } = setup();
    emitter.streamStatus('pipelines', 'STARTED');
    emitter.record('pipelines', { id: 1 });
    emitter.streamStatus('pipelines', 'COMPLETE');
    expect(statuses(out.messages)).toEqual(['pipelines:STARTED', 'pipelines:COMPLETE']);
    expect(out.messages.map((m) => m.type)).toEqual(['TRACE', 'RECORD', 'TRACE']);
  });

  it('a stream without records gets no RUNNING', () => {
    const { out, emitter } = setup();
    emitter.streamStatus('groups', 'STARTED');
    emitter.state('groups', {});
    emitter.streamStatus('groups', 'COMPLETE');
    expect(statuses(out.messages)).toEqual(['groups:STARTED', 'groups:COMPLETE']);
  });
});

describe('redaction', () => {
  function redacting(): { out: CapturingStream; emitter: Emitter } {
    const result = setup();
    result.emitter.redactor.add(TOKEN);
    return result;
  }

  it('removes the token and its base64 forms from LOG', () => {
    const { out, emitter } = redacting();
    emitter.log('WARN', `header Circle-Token: ${TOKEN}; basic ${BASIC_BASE64}; b64 ${TOKEN_BASE64}; twice ${TOKEN}${TOKEN}`);
    expect(out.text).not.toContain(TOKEN);
    expect(out.text).not.toContain(TOKEN_BASE64);
    expect(out.text).not.toContain(BASIC_BASE64);
    expect(out.messages[0]!.log.message).toBe('header Circle-Token: ****; basic ****; b64 ****; twice ********');
  });

  it('removes the token from TRACE ERROR message and internal_message', () => {
    const { out, emitter } = redacting();
    emitter.error(`request with ${TOKEN} failed`, 'config_error', { internalMessage: `headers: {"Circle-Token":"${TOKEN}"} ${TOKEN_BASE64}` });
    expect(out.text).not.toContain(TOKEN);
    expect(out.text).not.toContain(TOKEN_BASE64);
    const error = out.messages[0]!.trace.error;
    expect(error.message).toBe('request with **** failed');
    expect(error.internal_message).toContain('****');
  });

  it('removes the URL-encoded token', () => {
    const { out, emitter } = setup();
    const token = 'tok+en/with=chars&more';
    emitter.redactor.add(token);
    emitter.log('INFO', `url ?circle-token=${encodeURIComponent(token)}`);
    expect(out.text).not.toContain(encodeURIComponent(token));
    expect(out.text).not.toContain(token);
  });

  it('removes the token from a CONNECTION_STATUS message', () => {
    const { out, emitter } = redacting();
    emitter.connectionStatus({ status: 'FAILED', message: `CircleCI said: "token ${TOKEN} is invalid"` });
    expect(out.text).not.toContain(TOKEN);
    expect(out.messages[0]!.connectionStatus).toEqual({ status: 'FAILED', message: 'CircleCI said: "token **** is invalid"' });
  });

  it('leaves text alone when no secret is registered, and ignores secrets too short to redact', () => {
    const redactor = new Redactor();
    expect(redactor.redact(`plain ${TOKEN}`)).toBe(`plain ${TOKEN}`);
    redactor.add('abc');
    expect(redactor.redact('abc abcdef')).toBe('abc abcdef');
  });

  it('a redactor passed to the constructor is the one used', () => {
    const redactor = new Redactor();
    redactor.add(TOKEN);
    const out = new CapturingStream();
    const emitter = new Emitter(out, Date.now, redactor);
    expect(emitter.redactor).toBe(redactor);
    emitter.log('ERROR', TOKEN);
    expect(out.text).not.toContain(TOKEN);
  });
});

describe('record batching', () => {
  const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

  it('records of one turn of the event loop go out in one write, at the end of the turn', async () => {
    const { out, emitter } = setup();
    emitter.streamStatus('jobs', 'RUNNING');
    const writesBefore = out.writes;
    for (let i = 0; i < 50; i += 1) emitter.record('jobs', { id: i });
    expect(out.writes).toBe(writesBefore);
    await nextTurn();
    expect(out.writes).toBe(writesBefore + 1);
    expect(ofType(out.messages, 'RECORD').map((m) => m.record.data.id)).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it('a STATE is written at once, after the records it covers, in the same order', () => {
    const { out, emitter } = setup();
    emitter.record('jobs', { id: 1 });
    emitter.record('workflows', { id: 'w' });
    emitter.record('jobs', { id: 2 });
    expect(emitter.state('jobs', { at: 2 })).toBe(true);
    // No turn of the event loop has passed: the STATE flushed the records before it.
    expect(out.messages.map((m) => (m.type === 'RECORD' ? `${m.record.stream}:${m.record.data.id}` : m.type === 'STATE' ? 'STATE' : m.trace.stream_status.status))).toEqual([
      'jobs:1',
      'workflows:w',
      'jobs:2',
      'STATE',
    ]);
  });

  it('logs, errors and statuses also go out at once behind the waiting records', () => {
    const { out, emitter } = setup();
    emitter.record('jobs', { id: 1 });
    emitter.log('WARN', 'after the record');
    emitter.record('jobs', { id: 2 });
    emitter.error('after two records', 'system_error');
    expect(out.messages.map((m) => m.type)).toEqual(['RECORD', 'LOG', 'RECORD', 'TRACE']);
  });

  it('a chunk is written as soon as it reaches 64 KB, without waiting for the turn to end', () => {
    const { out, emitter } = setup();
    const padding = 'x'.repeat(1000);
    let records = 0;
    while (out.lines.length < 1) {
      emitter.record('jobs', { id: records, padding });
      records += 1;
    }
    // The first chunk: the fewest whole record lines that reach 64 KB.
    const lineLength = out.lines[0]!.length + 1;
    expect(records).toBe(Math.ceil((64 * 1024) / lineLength));
    expect(out.writes).toBe(1);
    expect(ofType(out.messages, 'RECORD')).toHaveLength(records);
  });

  it('flush() writes what waits and nothing twice', async () => {
    const { out, emitter } = setup();
    emitter.record('jobs', { id: 1 });
    emitter.flush();
    emitter.flush();
    await nextTurn();
    expect(ofType(out.messages, 'RECORD')).toHaveLength(1);
  });
});

describe('backpressure', () => {
  it('ready() resolves at once while the stream has room', async () => {
    const { emitter } = setup();
    emitter.log('INFO', 'x');
    let resolved = false;
    void emitter.ready().then(() => (resolved = true));
    await Promise.resolve();
    await Promise.resolve();
    expect(resolved).toBe(true);
  });

  it('ready() resolves only after the slow stream drains', async () => {
    const out = new CapturingStream({ highWaterMark: 16, delayMs: 20 });
    const emitter = new Emitter(out);
    let drained = false;
    out.on('drain', () => (drained = true));
    for (let i = 0; i < 5; i += 1) emitter.record('jobs', { id: i, padding: 'x'.repeat(50) });
    emitter.flush();
    expect(out.writableNeedDrain).toBe(true);
    let ready = false;
    const waiting = emitter.ready().then(() => {
      ready = true;
      // When ready() resolves the stream has drained and has room again.
      expect(drained).toBe(true);
      expect(out.writableNeedDrain).toBe(false);
    });
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(ready).toBe(false);
    await waiting;
    expect(ready).toBe(true);
    // Nothing was lost while waiting.
    expect(out.messages.filter((m) => m.type === 'RECORD')).toHaveLength(5);
    // Once drained, ready() is immediate again until the next full buffer.
    await expect(emitter.ready()).resolves.toBeUndefined();
  });

  it('every waiter is released by the same drain, and a later full buffer needs a new drain', async () => {
    const out = new CapturingStream({ highWaterMark: 8, delayMs: 5 });
    const emitter = new Emitter(out);
    emitter.log('INFO', 'x'.repeat(100));
    const first = emitter.ready();
    emitter.log('INFO', 'y'.repeat(100)); // still full: same wait
    const second = emitter.ready();
    expect(second).toBe(first);
    await Promise.all([first, second]);
    emitter.log('INFO', 'z'.repeat(100));
    expect(out.writableNeedDrain).toBe(true);
    const third = emitter.ready();
    expect(third).not.toBe(first);
    await third;
    expect(out.lines).toHaveLength(3);
  });
});
