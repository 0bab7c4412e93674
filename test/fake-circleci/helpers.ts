// Shared helpers of the fake CircleCI tests: request the core directly (no transport) and
// walk every route of a world the way a connector would.

import type { FakeCircleCiCore, Outcome } from '../../tools/fake-circleci/dispatch.js';
import { flakeKeys } from '../../tools/fake-circleci/insights-truth.js';
import { STREAM_NAMES, type JsonObject, type StreamName } from '../../tools/fake-circleci/world.js';

export type Response = Extract<Outcome, { kind: 'response' }>;

export async function get(
  core: FakeCircleCiCore,
  path: string,
  token: string | null = core.world.token,
  headers: Record<string, string> = {},
): Promise<Response> {
  const h: Record<string, string> = { ...headers };
  if (token !== null) h['circle-token'] = token;
  const out = await core.handle({ method: 'GET', path, headers: h });
  if (out.kind !== 'response') throw new Error(`expected a response for ${path}, got ${out.kind}`);
  return out;
}

export function body<T = JsonObject>(res: Response): T {
  return JSON.parse(res.body) as T;
}

export function withParam(path: string, name: string, value: string): string {
  return `${path}${path.includes('?') ? '&' : '?'}${name}=${encodeURIComponent(value)}`;
}

/** Follow next_page_token until null or absent (or maxPages, to survive a repeating token). */
export async function walkList(
  core: FakeCircleCiCore,
  path: string,
  maxPages = 500,
): Promise<{ pages: Response[]; items: JsonObject[] }> {
  const pages: Response[] = [];
  const items: JsonObject[] = [];
  let next: string | null = null;
  do {
    const res = await get(core, next === null ? path : withParam(path, 'page-token', next));
    if (res.status !== 200) throw new Error(`${path}: ${res.status} ${res.body}`);
    pages.push(res);
    const b = body<{ items: JsonObject[]; next_page_token?: string | null }>(res);
    items.push(...b.items);
    // A last page may come without the key at all (Insights runs; live API, test/reference/README.md).
    next = b.next_page_token ?? null;
  } while (next !== null && pages.length < maxPages);
  return { pages, items };
}

/** The job-level record sets the fake serves besides the connector's stream list. */
export const JOB_LEVEL = ['job_details', 'tests'] as const;

export interface WalkResult {
  /** Every response, in request order. */
  pages: { path: string; res: Response }[];
  /** Records as a connector would emit them (API items plus injected fields). */
  records: Record<StreamName | (typeof JOB_LEVEL)[number], JsonObject[]>;
}

/**
 * The documented `_test_key` rule, written here independently of the fake's:
 * `${file}::${classname}::${name}`, `#k` on the k-th (k >= 2) repeat within a job.
 */
export function testKeysOf(items: readonly JsonObject[]): string[] {
  const counts: Record<string, number> = {};
  const keys: string[] = [];
  for (const t of items) {
    const triple = [t.file, t.classname, t.name].map((v) => (typeof v === 'string' ? v : '')).join('::');
    counts[triple] = (counts[triple] ?? 0) + 1;
    keys.push(counts[triple] === 1 ? triple : `${triple}#${counts[triple]}`);
  }
  return keys;
}

/**
 * Walk every route of the fake: discovery through /me/collaborations and the private
 * project listing, then every list route to its last page, every workflow by id, and the
 * details and tests of every job that has a job_number.
 */
export async function walkWorld(core: FakeCircleCiCore): Promise<WalkResult> {
  const pages: WalkResult['pages'] = [];
  const records = Object.fromEntries([...STREAM_NAMES, ...JOB_LEVEL].map((name) => [name, []])) as unknown as WalkResult['records'];
  const one = async (path: string): Promise<JsonObject> => {
    const res = await get(core, path);
    pages.push({ path, res });
    if (res.status !== 200) throw new Error(`${path}: ${res.status} ${res.body}`);
    return body(res);
  };
  const list = async (path: string): Promise<JsonObject[]> => {
    const { pages: ps, items } = await walkList(core, path);
    ps.forEach((res, i) => pages.push({ path: i === 0 ? path : `${path} #${i + 1}`, res }));
    return items;
  };

  await one('/api/v2/me');
  const collabRes = await get(core, '/api/v2/me/collaborations');
  pages.push({ path: '/api/v2/me/collaborations', res: collabRes });
  const orgs = body<JsonObject[]>(collabRes);
  records.collaborations.push(...orgs);

  for (const org of orgs) {
    const orgId = org.id as string;
    for (const c of await list(`/api/v2/context?owner-id=${orgId}&owner-type=organization`)) {
      records.context.push({ ...c, organization_id: orgId });
    }
    for (const g of await list(`/api/v2/organizations/${orgId}/groups`)) records.groups.push({ ...g, organization_id: orgId });
    for (const e of await list(`/api/v2/deploy/environments?org-id=${orgId}&page-size=2`)) {
      records.deploy.push({ ...e, organization_id: orgId });
    }
    const summary = await one(`/api/v2/insights/${org.slug as string}/summary?reporting-window=last-90-days`);
    records.insights_org_summary.push({ ...summary, organization_id: orgId, _reporting_window: 'last-90-days', _synced_at: new Date(core.world.nowMs).toISOString() });
    const listed = await list(`/api/private/project?organization-id=${orgId}&page-size=50`);
    for (const [i, item] of listed.entries()) {
      const slug = item.slug as string;
      // alternate raw and URL-encoded slugs
      const slugPath = i % 2 === 0 ? encodeURIComponent(slug) : slug;
      const project = await one(`/api/v2/project/${slugPath}`);
      records.project.push(project);
      const projectId = project.id as string;
      const orgOfProject = project.organization_id as string;
      const defs = ((await one(`/api/v2/projects/${projectId}/pipeline-definitions`)).items ?? []) as JsonObject[];
      for (const d of defs) {
        records.pipeline_definition.push({ ...d, project_id: projectId, organization_id: orgOfProject });
        const triggers = ((await one(`/api/v2/projects/${projectId}/pipeline-definitions/${d.id as string}/triggers`)).items ??
          []) as JsonObject[];
        for (const t of triggers) {
          records.trigger.push({ ...t, project_id: projectId, pipeline_definition_id: d.id as string, organization_id: orgOfProject });
        }
      }
      await walkInsights(slug, slugPath, one, list, records, new Date(core.world.nowMs).toISOString());
      records.schedule.push(...(await list(`/api/v2/project/${slugPath}/schedule`)));
      const pipelines = await list(`/api/v2/project/${slugPath}/pipeline`);
      records.pipelines.push(...pipelines);
      for (const p of pipelines) {
        const workflows = await list(`/api/v2/pipeline/${p.id as string}/workflow`);
        records.workflows.push(...workflows);
        for (const w of workflows) {
          await one(`/api/v2/workflow/${w.id as string}`);
          const wf = { _workflow_id: w.id as string, _workflow_created_at: w.created_at as string };
          for (const j of await list(`/api/v2/workflow/${w.id as string}/job`)) {
            records.jobs.push({ ...j, ...wf, _pipeline_id: w.pipeline_id ?? null });
            if (j.job_number === undefined) continue;
            const number = j.job_number as number;
            records.job_details.push({ ...(await one(`/api/v2/project/${slugPath}/job/${number}`)), _job_id: j.id as string, ...wf });
            const tests = await list(`/api/v2/project/${slugPath}/${number}/tests`);
            const keys = testKeysOf(tests);
            tests.forEach((t, i) => {
              records.tests.push({
                ...t,
                _job_id: j.id as string,
                _job_number: number,
                ...wf,
                project_slug: j.project_slug as string,
                _test_key: keys[i] as string,
              });
            });
          }
        }
      }
    }
  }
  return { pages, records };
}

/**
 * Every Insights route of a project: workflow summaries, then per workflow name its recent
 * runs (every page) and job summaries, then flaky tests and branches.
 */
async function walkInsights(
  slug: string,
  slugPath: string,
  one: (path: string) => Promise<JsonObject>,
  list: (path: string) => Promise<JsonObject[]>,
  records: WalkResult['records'],
  syncedAt: string,
): Promise<void> {
  const base = `/api/v2/insights/${slugPath}`;
  const snapshot = { _reporting_window: 'last-90-days', _synced_at: syncedAt };
  for (const summary of await list(`${base}/workflows?all-branches=true&reporting-window=last-90-days`)) {
    records.insights_workflows.push({ ...summary, project_slug: slug, ...snapshot });
    const workflow = { project_slug: slug, workflow_name: summary.name as string };
    const name = encodeURIComponent(summary.name as string);
    for (const run of await list(`${base}/workflows/${name}?all-branches=true`)) records.insights_workflow_runs.push({ ...run, ...workflow });
    for (const job of await list(`${base}/workflows/${name}/jobs?all-branches=true&reporting-window=last-90-days`)) {
      records.insights_jobs.push({ ...job, ...workflow, ...snapshot });
    }
  }
  const flakes = (await one(`${base}/flaky-tests`))['flaky-tests'] as JsonObject[];
  const keys = flakeKeys(flakes);
  flakes.forEach((flake, i) => records.flaky_tests.push({ ...flake, project_slug: slug, _flake_key: keys[i]!, _synced_at: syncedAt }));
  await one(`${base}/branches`);
}

/** Order-insensitive comparison key: records sorted by their JSON text. */
export function canonical(records: JsonObject[]): string[] {
  return records.map((r) => JSON.stringify(sortKeys(r))).sort();
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(
      Object.keys(v as object)
        .sort()
        .map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
}
