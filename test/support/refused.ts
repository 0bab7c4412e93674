import { expect } from '@jest/globals';

import type { StreamName } from '../../src/streams/schemas/index.js';
import { STREAM_GRAPH, STREAMS } from '../../src/streams/streams.js';
import type { RunResult } from './connector.js';

/** A stream's STREAM_STATUS values in order. */
export function statusesOf(run: RunResult, stream: string): string[] {
  return run.messages
    .filter((m) => m.type === 'TRACE' && m.trace.type === 'STREAM_STATUS' && m.trace.stream_status.stream_descriptor.name === stream)
    .map((m) => m.trace.stream_status.status as string);
}

/** One part CircleCI refused (403): a stream under one parent, as the connector names it (`collaborations gh/acme`, `project gh/acme/api`, a project slug for a root). */
export interface RefusedPart {
  stream: StreamName;
  parent: string;
}

/**
 * The failure rules for a 403, part by part: each refused part fails on its own, with a
 * WARN naming the stream, the parent and the stream's declared `forbidden` text (what
 * access it needs and what to do); its stream and the selected streams below it end
 * INCOMPLETE, every other selected stream COMPLETE; one TRACE ERROR at the end lists the
 * parts, as a config_error (the user must change the token or the selection); exit 1.
 */
export function expectRefusedParts(run: RunResult, parts: readonly RefusedPart[]): void {
  expect(run.exitCode).toBe(1);
  expect(run.errors).toHaveLength(1);
  const [error] = run.errors;
  expect(error!.failure_type).toBe('config_error');
  expect(run.messages.at(-1)!.type).toBe('TRACE');
  const selected = new Set(run.messages.filter((m) => m.type === 'TRACE' && m.trace.type === 'STREAM_STATUS').map((m) => m.trace.stream_status.stream_descriptor.name as StreamName));
  const failed = new Set<string>();
  for (const { stream, parent } of parts) {
    const hint = STREAMS[stream].forbidden;
    expect([stream, typeof hint]).toEqual([stream, 'string']);
    const said = `under ${parent} is incomplete: CircleCI refused access (403 on `;
    const warnings = run.logs.filter((log) => log.level === 'WARN' && log.message.startsWith(`${stream} ${said}`));
    expect([stream, parent, warnings.length]).toEqual([stream, parent, 1]);
    expect(warnings[0]!.message).toContain(`): ${hint}.`);
    expect(error!.message).toContain(` under ${parent}: CircleCI refused access (403 on `);
    expect(error!.message).toContain(hint);
    for (const name of [stream, ...STREAM_GRAPH.descendants(stream)]) if (selected.has(name)) failed.add(name);
  }
  for (const name of selected) expect([name, statusesOf(run, name).at(-1)]).toEqual([name, failed.has(name) ? 'INCOMPLETE' : 'COMPLETE']);
}
