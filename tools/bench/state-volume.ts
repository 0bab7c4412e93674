// How much STATE a full sync writes against its records, as the organization grows: the
// history streams of every project of one organization (5 pipelines each, 20 ms per
// request), read from scratch. Airbyte persists every STATE message, so a checkpoint
// volume growing faster than the data is a cost that grows with the organization.
//
//   node dist/tools/bench/bench.js --only state-volume [--quick]

import { configuredCatalog } from '../acceptance/integration-files.js';
import type { StreamName } from '../../src/streams/schemas/types.js';
import { STREAM_GRAPH } from '../../src/streams/streams.js';
import { runConnector } from './connector-run.js';
import { startFakeChild } from './fake-child.js';

const START_DATE = '2025-01-01T00:00:00Z';
const PIPELINES_PER_PROJECT = 5;
/** A full sync's STATE bytes are at most this share of its RECORD bytes. */
export const STATE_SHARE_TARGET = 0.5;
/** The final state (every stream's, as the next sync gets it) is at most this many bytes per project. */
export const FINAL_BYTES_PER_PROJECT_TARGET = 1024;

export interface StateVolumeRow {
  projects: number;
  exitCode: number;
  records: number;
  expectedRecords: number;
  stateMessages: number;
  stateBytes: number;
  recordBytes: number;
  finalStateBytes: number;
  wallSeconds: number;
  met: boolean;
}

/** Every history stream (pipelines and all below), incremental: the streams whose state grows with the organization. */
function historyCatalog(): unknown {
  const { streams, ...rest } = configuredCatalog() as { streams: Array<{ stream: { name: string } }> };
  return { ...rest, streams: streams.filter((entry) => STREAM_GRAPH.inHistory(entry.stream.name as StreamName)) };
}

export async function measureStateVolume(sizes: readonly number[], nodeFlags: string[]): Promise<StateVolumeRow[]> {
  const catalog = historyCatalog();
  const historyStreams = (catalog as { streams: Array<{ stream: { name: string } }> }).streams.map((entry) => entry.stream.name);
  const rows: StateVolumeRow[] = [];
  for (const projects of sizes) {
    process.stderr.write(`  state-volume ${projects} projects ...`);
    const fake = await startFakeChild({
      seed: 1,
      preset: 'many-projects',
      projectsPerOrg: projects,
      pipelinesPerProject: PIPELINES_PER_PROJECT,
      faults: { latency: { fixedMs: 20 } },
      connectorPageSize: 100,
    });
    try {
      // No project_slugs: every project of the organization, as an operator of a large one would configure it.
      const config = { api_token: fake.token, start_date: START_DATE, api_url: fake.url };
      const run = await runConnector({ config, catalog, nodeFlags });
      const finalState = [...run.lastStates.values()];
      const expectedRecords = historyStreams.reduce((sum, name) => sum + (fake.figures.recordsByStream[name] ?? 0), 0);
      const row: StateVolumeRow = {
        projects,
        exitCode: run.exitCode,
        records: run.records,
        expectedRecords,
        stateMessages: run.stateMessages,
        stateBytes: run.stateBytes,
        recordBytes: run.recordBytes,
        finalStateBytes: Buffer.byteLength(JSON.stringify(finalState)),
        wallSeconds: run.wallMs / 1000,
        met: false,
      };
      row.met =
        run.exitCode === 0 &&
        run.records === expectedRecords &&
        row.stateBytes <= STATE_SHARE_TARGET * row.recordBytes &&
        row.finalStateBytes / projects <= FINAL_BYTES_PER_PROJECT_TARGET;
      process.stderr.write(` ${row.wallSeconds.toFixed(1)} s, exit ${run.exitCode}${run.errors.length ? `: ${run.errors[0]}` : ''}\n`);
      rows.push(row);
    } finally {
      await fake.close();
    }
  }
  return rows;
}

const int = (n: number): string => Math.round(n).toLocaleString('en-US');
const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(2)} MB`;

export function stateVolumeTable(rows: readonly StateVolumeRow[]): string {
  const header = ['projects', 'records', 'STATE messages', 'STATE bytes', 'RECORD bytes', 'STATE ÷ RECORD', 'final state / project', 'wall s', 'target', 'met'];
  const target = `STATE ≤ ${STATE_SHARE_TARGET} × RECORD, final ≤ ${FINAL_BYTES_PER_PROJECT_TARGET} B/project`;
  const body = rows.map((row) => [
    int(row.projects) + (row.exitCode === 0 ? '' : ` [exit ${row.exitCode}]`),
    row.records === row.expectedRecords ? int(row.records) : `${int(row.records)} (want ${int(row.expectedRecords)})`,
    int(row.stateMessages),
    mb(row.stateBytes),
    mb(row.recordBytes),
    (row.stateBytes / row.recordBytes).toFixed(3),
    `${int(row.finalStateBytes / row.projects)} B`,
    row.wallSeconds.toFixed(1),
    target,
    row.met ? 'met' : 'NOT MET',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  const title = `State volume: a full sync of the history streams, every project of one organization, ${PIPELINES_PER_PROJECT} pipelines each, 20 ms per request`;
  return [title, '', line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}
