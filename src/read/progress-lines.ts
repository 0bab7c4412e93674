import type { StreamName } from '../streams/schemas/index.js';
import type { ReadContext } from './read-context.js';
import { count } from './read-summary.js';

/**
 * The LOG lines that tell the person watching a read where it is: one at least every 30 s
 * (records per stream, requests, the request rate and its limit, each walk under way), and
 * one at the end of each partition's walk (a project's records per stream).
 */

/** `1,234 requests, rate 950/min (no configured limit)`: the read's requests so far and the governor's rate now. */
export function requestsAndRate(context: ReadContext): string {
  const { client, config } = context;
  const limit = config.requestsPerMinute === undefined ? 'no configured limit' : `limit ${config.requestsPerMinute.toLocaleString('en-US')}/min`;
  return `${count(client.stats.requests, 'request')}, rate ${Math.round(client.rate.perMinute).toLocaleString('en-US')}/min (${limit})`;
}

/** Where a read is: records per stream so far, requests, the request rate, each walk under way and what each wait is for. */
export function progressLine(context: ReadContext, startedAt: number): string {
  const { emitter, selection } = context;
  const records = [...selection.keys()].map((stream) => `${stream} ${emitter.recordCount(stream).toLocaleString('en-US')}`).join(', ');
  const walks = [...(context.walking?.values() ?? [])].map((describe) => describe());
  const waits = [...(context.waiting?.values() ?? [])].map((describe) => describe());
  return (
    `progress after ${Math.round((Date.now() - startedAt) / 1000)} s: records ${records}; ${requestsAndRate(context)}` +
    `${walks.length > 0 ? `; walking ${walks.join('; ')}` : ''}${waits.length > 0 ? `; waiting on ${waits.join('; ')}` : ''}`
  );
}

/**
 * The end of one partition's walk: how much of it (`walked`, see walkShare), its records
 * per stream and pages, then the read's requests and rate so far.
 */
export function partitionEndLine(partition: string, walked: string, records: ReadonlyMap<StreamName, number>, pages: number, context: ReadContext): string {
  const emitted = [...records].map(([stream, n]) => `${stream} ${count(n, 'record')}`).join(', ') || 'no records';
  return `${partition} finished: ${walked}; ${emitted}; ${count(pages, 'page')} read; read so far: ${requestsAndRate(context)}`;
}

/**
 * How far a walk is: `120 of ~500 pipelines (24%)` where the walk's extent is known (the
 * records between the newest and the last sync's newest), else `120 pipelines finished`.
 * The share stops at 100%: the extent is an estimate (a lookback may walk further).
 */
export function walkShare(finished: number, extent: number | undefined, unit: string): string {
  const done = finished.toLocaleString('en-US');
  if (extent === undefined) return `${done} ${unit} finished`;
  const percent = extent === 0 ? 100 : Math.min(100, Math.floor((finished * 100) / extent));
  return `${done} of ~${extent.toLocaleString('en-US')} ${unit} (${percent}%)`;
}
