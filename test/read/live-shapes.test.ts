/**
 * Shapes that live CircleCI accounts send and the spec does not describe (issue #21, the
 * shapes captured from the live API): each served here by a payload we wrote from its
 * description, and read whole. Each is read without a crash, every record fits the
 * schema discover declares, and keys stay unique.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { HttpResponse, http, type JsonBodyType } from 'msw';

import { buildCatalog } from '../../src/streams/catalog.js';
import type { StreamName } from '../../src/streams/schemas/index.js';
import { dedupe, runRead, type RunResult } from '../support/connector.js';
import { TEST_API, TEST_TOKEN, useMockApi, type SeenRequest } from '../support/http.js';

const addFormats = addFormatsModule.default;
const ajv = new Ajv({ strict: true, allErrors: true });
addFormats(ajv);
const validators = new Map<string, ValidateFunction>(buildCatalog().streams.map((stream) => [stream.name, ajv.compile(stream.json_schema)]));

const NOW = Date.UTC(2026, 0, 10);
const ORG = '5e0e8c1a-2b8e-4c65-9d3b-6f1f0b2a7c11';
const PROJECT = '9a4f6d2e-7c1b-4e8a-b3d5-1c2e3f4a5b6c';
/** A project of a CircleCI-native organization (GitHub App, GitLab): slugged by ids, not names. */
const SLUG = `circleci/${ORG}/${PROJECT}`;
/** CircleCI's opaque page tokens run to 140 characters. */
const TOKEN_140 = `${'AARLwwV'.repeat(19)}Zx8kQ7`.slice(0, 140);
const TOKEN_140_B = `${'Q2lyY2xl'.repeat(18)}Ab3d`.slice(0, 140);

const LEGACY_PIPELINE = 'f0e1d2c3-0000-4000-8000-00000000a001';
const ERRORED_PIPELINE = 'f0e1d2c3-0000-4000-8000-00000000a002';
const PIPELINE = 'f0e1d2c3-0000-4000-8000-00000000a003';
const WORKFLOW = 'c0ffee00-0000-4000-8000-00000000b001';
const LEGACY_WORKFLOW = 'c0ffee00-0000-4000-8000-00000000b002';
const APPROVAL_JOB = 'j0b00000-0000-4000-8000-00000000c001';
const BUILD_JOB = 'j0b00000-0000-4000-8000-00000000c002';
const GONE_JOB = 'j0b00000-0000-4000-8000-00000000c003';

const json = (body: JsonBodyType) => HttpResponse.json(body, { headers: { Date: new Date(NOW).toUTCString() } });
const api = (path: string) => `${TEST_API}/api/v2${path}`;

/** The pages of a listing, chained by 140-character tokens; the last page has no next_page_token key at all. */
function paged(request: Request, pages: JsonBodyType[][], tokens: readonly string[] = [TOKEN_140, TOKEN_140_B]) {
  const token = new URL(request.url).searchParams.get('page-token');
  const index = token === null ? 0 : tokens.indexOf(token) + 1;
  if ((token !== null && index === 0) || index >= pages.length) return HttpResponse.json({ message: 'bad page token' }, { status: 400 });
  const body: Record<string, JsonBodyType> = { items: pages[index]! };
  if (index < pages.length - 1) body.next_page_token = tokens[index];
  return json(body);
}

const handlers = [
  http.get(api('/me'), () => json({ id: '0d1e2f3a-0000-4000-8000-000000000099', login: 'octo', name: 'Octo' })),
  // A collaboration of vcs_type circleci, slugged circleci/<id>.
  http.get(api('/me/collaborations'), () => json([{ id: ORG, vcs_type: 'circleci', name: 'acme', avatar_url: '', slug: `circleci/${ORG}` }])),
  http.get(`${TEST_API}/api/private/project`, () =>
    json({ items: [{ id: PROJECT, name: 'app', slug: SLUG, organization_id: ORG, vcs_url: '//github.com/acme/app' }], next_page_token: null }),
  ),
  http.get(api(`/project/${SLUG}`), () =>
    json({
      slug: SLUG,
      name: 'app',
      id: PROJECT,
      organization_name: 'acme',
      organization_slug: `circleci/${ORG}`,
      organization_id: ORG,
      vcs_info: { vcs_url: '//github.com/acme/app', provider: 'GitHub', default_branch: 'main' },
    }),
  ),
  http.get(api(`/project/${SLUG}/pipeline`), ({ request }) =>
    paged(request, [
      [
        {
          id: PIPELINE,
          errors: [],
          project_slug: SLUG,
          updated_at: '2026-01-05T10:00:01Z',
          number: 3,
          state: 'created',
          created_at: '2026-01-05T10:00:00.123Z',
          trigger: { received_at: '2026-01-05T09:59:59.500Z', type: 'webhook', actor: { login: 'octo', avatar_url: null } },
          vcs: { provider_name: 'GitHub', origin_repository_url: 'https://github.com/acme/app', target_repository_url: 'https://github.com/acme/app', revision: 'a'.repeat(40), branch: 'main' },
        },
      ],
      [
        // Errored before it got a config: no vcs key, a trigger type the spec does not list, received at the epoch.
        {
          id: ERRORED_PIPELINE,
          errors: [{ type: 'config-fetch', message: 'Unable to fetch the config file' }],
          project_slug: SLUG,
          updated_at: '2026-01-04T08:00:00.000Z',
          number: 2,
          state: 'errored',
          created_at: '2026-01-04T08:00:00.000Z',
          trigger: { received_at: '1970-01-01T00:00:00.000Z', type: 'Decoupled Ingestion System', actor: { login: '', avatar_url: null } },
          trigger_parameters: { circleci: { event_type: 'push', trigger_type: 'github_app' }, git: { branch: 'main', checkout_sha: 'c'.repeat(40) } },
        },
      ],
      [
        {
          id: LEGACY_PIPELINE,
          errors: [],
          project_slug: SLUG,
          updated_at: '2026-01-03T08:00:00Z',
          number: 1,
          state: 'created',
          created_at: '2026-01-03T08:00:00Z',
          trigger: { received_at: '2026-01-03T08:00:00Z', type: 'api', actor: { login: 'octo', avatar_url: null } },
          vcs: { provider_name: 'GitHub', origin_repository_url: 'https://github.com/acme/app', target_repository_url: 'https://github.com/acme/app', revision: 'b'.repeat(40), tag: 'v1.0.0' },
        },
      ],
    ]),
  ),
  http.get(api(`/pipeline/:id/workflow`), ({ request, params }) => {
    if (params.id === PIPELINE) {
      return paged(request, [
        [{ id: WORKFLOW, name: 'build', pipeline_id: PIPELINE, pipeline_number: 3, project_slug: SLUG, status: 'success', started_by: 'octo', created_at: '2026-01-05T10:00:02Z', stopped_at: '2026-01-05T10:20:00Z' }],
      ]);
    }
    if (params.id === LEGACY_PIPELINE) {
      // A legacy (1.0-era) workflow: no pipeline id nor number.
      return paged(request, [
        [{ id: LEGACY_WORKFLOW, name: 'legacy', pipeline_id: null, pipeline_number: null, project_slug: SLUG, status: 'success', started_by: 'octo', created_at: '2026-01-03T08:00:01Z', stopped_at: '2026-01-03T08:05:00Z' }],
      ]);
    }
    return json({ items: [], next_page_token: null });
  }),
  http.get(api(`/workflow/:id/job`), ({ request, params }) => {
    if (params.id !== WORKFLOW) return json({ items: [], next_page_token: null });
    return paged(request, [
      [
        // An approval job: no job_number, started_at null, no stopped_at.
        // (and, as some do, no approval_request_id)
        { id: APPROVAL_JOB, name: 'hold', type: 'approval', status: 'success', dependencies: [], project_slug: SLUG, started_at: null, approved_by: 'octo' },
      ],
      [
        { id: BUILD_JOB, name: 'test', type: 'build', status: 'success', dependencies: [APPROVAL_JOB], job_number: 7, project_slug: SLUG, started_at: '2026-01-05T10:01:00Z', stopped_at: '2026-01-05T10:19:00.250Z' },
        // A job number found in the list whose details and tests answer 404.
        { id: GONE_JOB, name: 'lint', type: 'build', status: 'success', dependencies: [], job_number: 8, project_slug: SLUG, started_at: '2026-01-05T10:01:00Z', stopped_at: '2026-01-05T10:02:00Z' },
      ],
    ]);
  }),
  // Job details without id and without project.id, with the old circleci.com/gh/… web_url.
  http.get(api(`/project/${SLUG}/job/7`), () =>
    json({
      web_url: 'https://circleci.com/gh/acme/app/7',
      project: { slug: SLUG, name: 'app', external_url: 'https://github.com/acme/app' },
      parallel_runs: [{ index: 0, status: 'success' }],
      started_at: '2026-01-05T10:01:00Z',
      latest_workflow: { id: WORKFLOW, name: 'build' },
      name: 'test',
      executor: { resource_class: 'medium', type: 'docker' },
      parallelism: 1,
      status: 'success',
      number: 7,
      pipeline: { id: PIPELINE },
      duration: 1080000,
      created_at: '2026-01-05T10:00:59Z',
      messages: [],
      contexts: [],
      organization: { name: 'acme' },
      queued_at: '2026-01-05T10:00:59.800Z',
      stopped_at: '2026-01-05T10:19:00.250Z',
    }),
  ),
  http.get(api(`/project/${SLUG}/job/8`), () => HttpResponse.json({ message: 'Job not found' }, { status: 404 })),
  http.get(api(`/project/${SLUG}/8/tests`), () => HttpResponse.json({ message: 'Job not found' }, { status: 404 })),
  http.get(api(`/project/${SLUG}/7/tests`), ({ request }) =>
    paged(request, [
      [{ message: '', source: 'jest', run_time: '', file: 'a.test.js', result: 'success', name: 'adds', classname: 'math' }],
      [
        { message: '', source: 'jest', run_time: 0.25, file: 'a.test.js', result: 'success', name: 'adds', classname: 'math' },
        { message: '', source: 'jest', run_time: 'n/a', file: 'b.test.js', result: 'skipped', name: 'skips', classname: 'math' },
      ],
    ]),
  ),
  http.get(api(`/insights/${SLUG}/workflows`), () =>
    json({ items: [{ name: 'build', window_start: '2025-10-12T00:00:00Z', window_end: '2026-01-09T00:00:00Z', metrics: { total_runs: 1, successful_runs: 1, failed_runs: 0, success_rate: 1, throughput: 0.01, mttr: 0, total_credits_used: 10, duration_metrics: { min: 1, mean: 1, median: 1, p95: 1, max: 1, standard_deviation: 0 } } }] }),
  ),
  // Runs without branch and is_approval, numbers written as floats (914.0), a field the spec
  // does not list; the page has no next_page_token key at all. Raw text: JSON.stringify would write 914.
  http.get(
    api(`/insights/${SLUG}/workflows/build`),
    () =>
      new HttpResponse(
        `{"items":[{"id":"${WORKFLOW}","duration":914.0,"created_at":"2026-01-05T10:00:02Z","stopped_at":"2026-01-05T10:20:00Z","credits_used":10.0,"status":"success","project_id":"${PROJECT}"}]}`,
        { headers: { 'Content-Type': 'application/json', Date: new Date(NOW).toUTCString() } },
      ),
  ),
];

const STREAMS = {
  collaborations: 'full_refresh',
  project: 'full_refresh',
  pipelines: 'incremental',
  workflows: 'incremental',
  jobs: 'incremental',
  job_details: 'incremental',
  tests: 'incremental',
  insights_workflows: 'full_refresh',
  insights_workflow_runs: 'incremental',
} as const;

describe('shapes live accounts send', () => {
  const mock = useMockApi();
  let run: RunResult;
  /** What the read asked for (the mock's log is cleared after each test). */
  let requests: SeenRequest[];

  beforeAll(async () => {
    mock.server.use(...handlers);
    run = await runRead({ config: { api_token: TEST_TOKEN, api_url: TEST_API, start_date: '2025-12-01', requests_per_minute: 100_000 }, streams: STREAMS }, { clock: () => NOW });
    requests = [...mock.requests];
  });

  const records = (stream: StreamName) => run.records.get(stream) ?? [];

  it('are read without a crash, every record on its discovered schema, keys unique', () => {
    expect(run.errors).toEqual([]);
    expect(run.exitCode).toBe(0);
    for (const stream of Object.keys(STREAMS) as StreamName[]) {
      const validate = validators.get(stream)!;
      for (const record of records(stream)) {
        const errors = validate(record) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`);
        expect({ stream, record, errors }).toEqual({ stream, record, errors: [] });
      }
      expect({ stream, unique: dedupe(stream, records(stream)).size }).toEqual({ stream, unique: records(stream).length });
    }
    expect(Object.fromEntries(Object.keys(STREAMS).map((stream) => [stream, records(stream as StreamName).length]))).toEqual({
      collaborations: 1,
      project: 1,
      pipelines: 3,
      workflows: 2,
      jobs: 3,
      job_details: 1,
      tests: 3,
      insights_workflows: 1,
      insights_workflow_runs: 1,
    });
  });

  it('a collaboration of vcs_type circleci and its project circleci/<id>/<id> with a protocol-relative vcs_url', () => {
    expect(records('collaborations')[0]).toMatchObject({ id: ORG, vcs_type: 'circleci', slug: `circleci/${ORG}` });
    expect(records('project')[0]).toMatchObject({ id: PROJECT, slug: SLUG, vcs_info: { vcs_url: '//github.com/acme/app' } });
  });

  it('an approval job without job_number, started_at null and no stopped_at: no job details, tests or artifacts asked for it', () => {
    const approval = records('jobs').find((job) => job.id === APPROVAL_JOB)!;
    expect(approval).toMatchObject({ type: 'approval', started_at: null });
    expect(approval).not.toHaveProperty('job_number');
    expect(approval).not.toHaveProperty('stopped_at');
    const paths = requests.map((r) => r.url.pathname);
    expect(paths.filter((path) => /\/(job|tests|artifacts)(\/|$)/.test(path) && !path.startsWith('/api/v2/workflow/')).sort()).toEqual([
      `/api/v2/project/${SLUG}/7/tests`,
      `/api/v2/project/${SLUG}/7/tests`,
      `/api/v2/project/${SLUG}/8/tests`,
      `/api/v2/project/${SLUG}/job/7`,
      `/api/v2/project/${SLUG}/job/8`,
    ]);
    expect(approval).not.toHaveProperty('approval_request_id');
    expect(paths.filter((path) => path.includes('undefined') || path.includes('null'))).toEqual([]);
  });

  it('a legacy workflow with pipeline_id and pipeline_number null', () => {
    expect(records('workflows').find((w) => w.id === LEGACY_WORKFLOW)).toMatchObject({ pipeline_id: null, pipeline_number: null });
  });

  it('an errored pipeline without vcs, with a trigger type outside the spec, received at the epoch, and a config-fetch error', () => {
    const errored = records('pipelines').find((p) => p.id === ERRORED_PIPELINE)!;
    expect(errored).not.toHaveProperty('vcs');
    expect(errored).toMatchObject({
      state: 'errored',
      trigger: { type: 'Decoupled Ingestion System', received_at: '1970-01-01T00:00:00.000Z', actor: { login: '', avatar_url: null } },
      trigger_parameters: { circleci: { event_type: 'push' }, git: { branch: 'main' } },
      errors: [{ type: 'config-fetch' }],
    });
  });

  it('job details without id and project.id, with the old web_url: keyed by the job\'s id from its list', () => {
    const details = records('job_details')[0]!;
    expect(details).toMatchObject({ _job_id: BUILD_JOB, web_url: 'https://circleci.com/gh/acme/app/7', project: { slug: SLUG } });
    expect(details).not.toHaveProperty('id');
  });

  it('Insights runs without branch and is_approval, floats written 914.0, from a page without next_page_token', () => {
    expect(records('insights_workflow_runs')).toEqual([expect.objectContaining({ id: WORKFLOW, project_slug: SLUG, workflow_name: 'build', duration: 914, credits_used: 10 })]);
    expect(records('insights_workflow_runs')[0]).not.toHaveProperty('branch');
    expect(records('insights_workflow_runs')[0]).not.toHaveProperty('is_approval');
  });

  it('a job number whose details and tests answer 404 is read as empty, said at INFO, and the sync completes', () => {
    expect(records('job_details').map((d) => d._job_id)).toEqual([BUILD_JOB]);
    expect(run.logs.filter((log) => log.message.includes(`/project/${SLUG}/job/8`)).map((log) => log.level)).toEqual(['INFO']);
  });

  it('140-character page tokens are passed back as they came', () => {
    const tokens = requests.map((r) => r.url.searchParams.get('page-token')).filter((token) => token !== null);
    expect(tokens.length).toBeGreaterThan(0);
    for (const token of tokens) expect([TOKEN_140, TOKEN_140_B]).toContain(token);
  });

  it('a test result with run_time "" reads as null with no change to report; "n/a" is nulled, named in meta.changes and counted', () => {
    expect(records('tests').map((test) => test.run_time)).toEqual([null, 0.25, null]);
    const changed = run.messages.filter((m) => m.type === 'RECORD' && m.record.meta !== undefined);
    expect(changed.map((m) => [m.record.data.name, m.record.meta])).toEqual([['skips', { changes: [{ field: 'run_time', change: 'NULLED', reason: 'SOURCE_SERIALIZATION_ERROR' }] }]]);
    expect(run.logs.filter((log) => log.level === 'WARN' && log.message.startsWith('tests: CircleCI sent values that do not fit'))).toHaveLength(1);
    expect(run.logs.at(-1)!.message).toContain('values nulled to fit the schema: tests 1');
  });
});
