import { gunzipSync } from 'node:zlib';
import { ApiError } from '../http/api-error.js';
import { ConnectorError } from '../errors.js';
import { csvRecords, CsvError } from '../util/csv.js';
import { defineStream, fillPath, text, type ApiRecord, type ExportStatus, type ExportWindow, type ListContext } from './declaration.js';
import { USAGE_COLUMNS, USAGE_CURSOR, USAGE_PRIMARY_KEY, type UsageColumnType } from './schemas/usage-columns.js';

/**
 * `usage`: CircleCI's usage export, one record per job run with its credits, per
 * organization. POST /organizations/{org_id}/usage_export_job starts a job for a window,
 * GET …/usage_export_job/{id} is polled until `completed`, and its `download_urls`
 * (pre-signed, on another host) are gzip CSV files. Limits (CircleCI's usage API docs and
 * support pages, /work/shared/reference/README.md): a window of at most 32 days starting
 * within the last 13 months, about 10 jobs per hour per organization, a job may take long;
 * data is refreshed daily through the previous full day.
 */

const CREATE_PATH = '/organizations/{org_id}/usage_export_job';
const JOB_PATH = '/organizations/{org_id}/usage_export_job/{usage_export_job_id}';

interface ExportJob {
  usage_export_job_id?: unknown;
  state?: unknown;
  download_urls?: unknown;
  error_reason?: unknown;
}

async function startJob(org: ApiRecord, window: ExportWindow, { client }: ListContext): Promise<string | undefined> {
  const path = fillPath(CREATE_PATH, { org_id: text(org.id) });
  // The API's end is inclusive; a window is [start, end), so the job ends 1 ms before the
  // next window starts: no job run falls in two windows, none between them.
  const body = { start: window.start, end: new Date(Date.parse(window.end) - 1).toISOString() };
  let job: ExportJob | undefined;
  try {
    job = await client.post<ExportJob>(path, body);
  } catch (error) {
    // Our window was refused: a problem of this stream, not of the whole read (a 400 elsewhere stops it).
    if (error instanceof ApiError && error.status === 400) throw new ConnectorError(`usage: ${error.message}`, 'system_error');
    throw error;
  }
  if (job === undefined) return undefined; // no usage export for this organization: said by `notFound`, read as empty
  if (typeof job.usage_export_job_id !== 'string' || job.usage_export_job_id === '') {
    throw new ConnectorError(`usage: CircleCI answered POST ${path} without a usage_export_job_id; the API may have changed.`, 'system_error');
  }
  return job.usage_export_job_id;
}

async function pollJob(org: ApiRecord, id: string, { client }: ListContext): Promise<ExportStatus> {
  const path = fillPath(JOB_PATH, { org_id: text(org.id), usage_export_job_id: id });
  const job = await client.get<ExportJob>(path);
  // A job the service no longer knows (expired) is asked for again.
  if (job === undefined) return { state: 'failed', reason: 'the job no longer exists (404)' };
  if (job.state === 'completed') {
    const urls = job.download_urls;
    if (!Array.isArray(urls) || urls.some((u) => typeof u !== 'string')) {
      throw new ConnectorError(`usage: a completed export job has no list of download_urls; the API may have changed.`, 'system_error');
    }
    return { state: 'completed', files: urls as string[] };
  }
  if (job.state === 'failed') return { state: 'failed', reason: typeof job.error_reason === 'string' ? job.error_reason.slice(0, 300) : 'no reason given' };
  if (job.state === 'created' || job.state === 'processing') return { state: 'pending' };
  throw new ConnectorError(`usage: an export job is in state ${JSON.stringify(job.state)}, which this connector does not know; the API may have changed.`, 'system_error');
}

const TYPES = new Map(USAGE_COLUMNS.map(([name, type]) => [name, type]));

/** `2026-10-31 22:01:12.345` (UTC without zone, as the files write it) or an ISO date-time → ISO. */
function timestamp(value: string): string | undefined {
  const m = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)(Z|[+-]\d{2}:?\d{2})?$/.exec(value.trim());
  if (!m) return undefined;
  const ms = Date.parse(`${m[1]}T${m[2]}${m[3] ?? 'Z'}`);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

function typed(type: UsageColumnType, value: string): unknown {
  switch (type) {
    case 'string':
      return value;
    case 'integer':
      return /^-?\d+$/.test(value.trim()) ? Number(value) : undefined;
    case 'number': {
      const n = Number(value);
      return value.trim() !== '' && Number.isFinite(n) ? n : undefined;
    }
    case 'boolean': {
      const v = value.trim().toLowerCase();
      return v === 'true' || v === '1' ? true : v === 'false' || v === '0' ? false : undefined;
    }
    case 'timestamp':
      return timestamp(value);
    case 'date':
      return /^\d{4}-\d{2}-\d{2}$/.test(value.trim()) ? value.trim() : undefined;
  }
}

/** The records of one export file (gzip CSV, or plain CSV if a host already decompressed it), typed by column name. */
export function* usageRecords(file: Buffer): Generator<ApiRecord> {
  const gzipped = file.length >= 2 && file[0] === 0x1f && file[1] === 0x8b;
  const csv = (gzipped ? gunzipSync(file) : file).toString('utf8');
  let row = 0;
  try {
    for (const raw of csvRecords(csv)) {
      row += 1;
      const record: ApiRecord = {};
      for (const [column, value] of Object.entries(raw)) {
        const name = column.toUpperCase();
        const type = TYPES.get(name) ?? 'string'; // a column added upstream is kept, as text
        if (value === null || (value === '' && type !== 'string')) {
          record[name.toLowerCase()] = null;
          continue;
        }
        const out = typed(type, value);
        if (out === undefined) {
          throw new ConnectorError(`usage: row ${row} of an export file has ${JSON.stringify(value.slice(0, 40))} in ${name}, which is not a ${type}.`, 'system_error');
        }
        record[name.toLowerCase()] = out;
      }
      yield record;
    }
  } catch (error) {
    if (error instanceof CsvError) throw new ConnectorError(`usage: an export file is not readable CSV (${error.message}).`, 'system_error');
    throw error;
  }
}

/** How long one sync waits for an export job, from the config. */
const maxWaitMs = (config: { usageExportMaxWaitMinutes: number }) => config.usageExportMaxWaitMinutes * 60_000;

export const usage = defineStream({
  name: 'usage',
  primaryKey: USAGE_PRIMARY_KEY,
  cursor: USAGE_CURSOR,
  parent: 'collaborations',
  // The job's path names the source; the records are the files' rows (schemas/usage-columns.ts).
  endpoint: { path: JOB_PATH, shape: 'single' },
  when: (org) => typeof org.id === 'string' && org.id !== '',
  partition: { kind: 'organizations', key: (org) => text(org.id) },
  forbidden: "the usage export needs organization admin rights; use an organization admin's token, or deselect the stream",
  // Per the seed's 404 rule: empty. An installation (CircleCI Server) or an organization without the usage API answers 404.
  notFound: (org) =>
    `CircleCI has no usage export for organization ${text(org.slug || org.name || org.id)} (404 on starting one: CircleCI Server, or an organization ` +
    `without the usage API); read as empty`,
  asyncExport: {
    maxWindowDays: 32,
    maxAgeMonths: 13,
    // Data is refreshed through the previous full day, and a job run is in an export only
    // once it has stopped before the export's day: a run started late on day D and still
    // running at midnight is missing from an export made on D+1. Windows end one more day
    // back, so every run in them had a whole day to stop before it was exported.
    settleDays: 1,
    maxWaitMs,
    // CircleCI's support pages: at most 10 export jobs (POSTs) per hour per organization.
    jobsPerHour: 10,
    start: startJob,
    poll: pollJob,
    records: usageRecords,
  },
});

