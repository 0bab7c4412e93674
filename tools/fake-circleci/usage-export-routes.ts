// Route handlers of the usage export (see usage-export.ts). The route table entries are
// in routes.ts; helpers from it are used inside handlers only (no load-time cycle).

import { err, isUuid, type RouteRequest, type RouteResponse } from './route-kit.js';
import {
  createUsageExport,
  findUsageExport,
  pollUsageExport,
  s3ErrorXml,
  usageDownloadUrls,
  usageFile,
} from './usage-export.js';
import type { JsonObject, World } from './world.js';

/** POST /organizations/{org_id}/usage_export_job {start, end[, shared_org_ids]}: 201. */
export function createExportJob(req: RouteRequest, world: World): RouteResponse {
  const result = createUsageExport(world, req.params.orgId ?? '', req.body);
  if (!result.ok) {
    const headers: Record<string, string> = result.retryAfterSeconds !== undefined ? { 'Retry-After': String(result.retryAfterSeconds) } : {};
    return { status: result.status, headers, body: { message: result.message } };
  }
  const { job } = result;
  return {
    status: 201,
    body: {
      usage_export_job_id: job.id,
      state: 'created',
      start: new Date(job.startMs).toISOString(),
      end: new Date(job.endMs).toISOString(),
      download_urls: [],
    },
  };
}

/** GET /organizations/{org_id}/usage_export_job/{id}: every call is one poll. */
export function getExportJob(req: RouteRequest, world: World): RouteResponse {
  const id = req.params.jobId ?? '';
  if (!isUuid(id)) return err(400, 'Invalid usage_export_job_id: must be a UUID.');
  if (!world.orgById(req.params.orgId ?? '')) return err(404, 'Organization does not exist.');
  const job = findUsageExport(world, req.params.orgId ?? '', id);
  if (!job) return err(404, 'Usage export job does not exist.');
  const state = pollUsageExport(world, job);
  const body: JsonObject = {
    usage_export_job_id: job.id,
    state,
    download_urls: state === 'completed' ? usageDownloadUrls(world, job, req.baseUrl) : [],
  };
  if (state === 'failed') body.error_reason = 'The usage export query failed. Please try again.';
  return { status: 200, body };
}

/** GET /usage-files/{job}/{n}.csv.gz?X-Amz-…: the pre-signed download (no CircleCI auth). */
export function getExportFile(req: RouteRequest, world: World): RouteResponse {
  const file = Number(req.params.file ?? '');
  const result = usageFile(world, req.params.jobId ?? '', file, req.query, req.headers);
  if (!result.ok) {
    return {
      status: result.status,
      headers: { 'Content-Type': 'application/xml' },
      body: null,
      raw: Buffer.from(s3ErrorXml(result.code, result.message), 'utf8'),
    };
  }
  return { status: 200, headers: { 'Content-Type': 'application/octet-stream' }, body: null, raw: result.bytes };
}
