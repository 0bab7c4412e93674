import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from '@jest/globals';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

import { STREAM_NAMES, streamSchemas, type StreamJsonSchema, type StreamName } from '../../src/streams/schemas/index.js';
import {
  JSON_SCHEMA_DRAFT_07,
  LIVE_API_DEVIATIONS,
  SCHEMAS_DIR,
  STREAM_SOURCES,
  GENERATED_STREAM_NAMES,
  HAND_WRITTEN_STREAMS,
  type GeneratedStreamName,
  deriveStreamSchema,
  deriveStreamSchemas,
  diffStreamSchemaFiles,
  findRepoRoot,
  keyFields,
  requiredFields,
  loadSpec,
  renderSchema,
  sourceRecordSchema,
  type OpenApiDocument,
  type OpenApiSchema,
} from '../../tools/schemas/derive-stream-schemas.js';

// ajv-formats is CommonJS; under NodeNext its default import is module.exports.
const addFormats = addFormatsModule.default;

const root = findRepoRoot();
const spec = loadSpec(root);
const fresh = deriveStreamSchemas(spec);

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonRecord = Record<string, Json>;

function newAjv(): Ajv {
  // strict: unknown keywords, unknown formats, ambiguous types and `required` naming
  // undefined properties all throw at compile time.
  const ajv = new Ajv({ strict: true, allErrors: true });
  addFormats(ajv);
  return ajv;
}

const ajv = newAjv();
const validators = new Map<StreamName, ValidateFunction>(
  STREAM_NAMES.map((stream) => [stream, ajv.compile(streamSchemas[stream] as object)]),
);

function validate(stream: GeneratedStreamName, record: unknown): string[] {
  const check = validators.get(stream);
  if (!check) throw new Error(`no validator for ${stream}`);
  if (check(record)) return [];
  return (check.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`);
}

/** Every schema position (root, properties, items) with its JSON pointer. */
function* schemaNodes(schema: StreamJsonSchema, pointer = ''): Generator<[string, StreamJsonSchema]> {
  yield [pointer || '/', schema];
  for (const [name, sub] of Object.entries(schema.properties ?? {})) yield* schemaNodes(sub, `${pointer}/properties/${name}`);
  if (schema.items !== undefined) yield* schemaNodes(schema.items, `${pointer}/items`);
}

function typesOf(schema: StreamJsonSchema): readonly string[] {
  return schema.type === undefined ? [] : typeof schema.type === 'string' ? [schema.type] : schema.type;
}

// ---------------------------------------------------------------------------------
// Sample records

function exampleFits(schema: OpenApiSchema): boolean {
  const example = schema.example;
  if (schema.type === 'number' || schema.type === 'integer') return typeof example === 'number';
  if (schema.type === 'boolean') return typeof example === 'boolean';
  return true;
}

const SAMPLE_UUID = '5034460f-c7c4-4c43-9457-de07e2029e7b';
const SAMPLE_TIME = '2025-10-17T08:30:00.000Z';

/** A value for an OpenAPI schema (refs inlined): its `example` (unless of another type: tests' run_time says ""), else a typed default. */
function sampleFromSpec(schema: OpenApiSchema): Json {
  if (schema.example !== undefined && exampleFits(schema)) return schema.example as Json;
  const alternatives = schema.allOf ?? schema.anyOf ?? schema.oneOf;
  if (alternatives?.[0] !== undefined) return sampleFromSpec(alternatives[0]);
  if (schema.enum?.[0] !== undefined) return schema.enum[0] as Json;
  const type = schema.type ?? (schema.properties ? 'object' : schema.items ? 'array' : undefined);
  switch (type) {
    case 'string':
      return schema.format === 'date-time' ? SAMPLE_TIME : schema.format === 'uuid' ? SAMPLE_UUID : 'some-string';
    case 'integer':
      return 3;
    case 'number':
      return 1.5;
    case 'boolean':
      return true;
    case 'array':
      return schema.items ? [sampleFromSpec(schema.items)] : [];
    case 'object': {
      const out: JsonRecord = {};
      for (const [name, sub] of Object.entries(schema.properties ?? {})) out[name] = sampleFromSpec(sub);
      if (typeof schema.additionalProperties === 'object') out['some-key'] = sampleFromSpec(schema.additionalProperties);
      return out;
    }
    default:
      return 'any';
  }
}

/** Values for the fields the connector injects. */
function injectedValues(stream: GeneratedStreamName): JsonRecord {
  const out: JsonRecord = {};
  for (const [name, field] of Object.entries(STREAM_SOURCES[stream].injected)) {
    out[name] = field.type === 'integer' ? 1234 : field.format === 'date-time' ? '2025-10-17T08:29:58.120Z' : '6f1b6d1e-3c2a-4e8f-9a61-0b7e4cc2f9a1';
  }
  return out;
}

/** A record as the connector would emit it, built from the spec's examples. */
function specSample(stream: GeneratedStreamName): JsonRecord {
  const sample = sampleFromSpec(sourceRecordSchema(spec, stream));
  if (sample === null || typeof sample !== 'object' || Array.isArray(sample)) throw new Error(`${stream}: sample is not an object`);
  return { ...sample, ...injectedValues(stream) };
}

/** Hand-written records shaped like live API responses (plus injected fields). */
const LIVE_LIKE_RECORDS: Record<GeneratedStreamName, JsonRecord[]> = {
  collaborations: [
    // The live API sends vcs_type (README deviation), not vcs-type.
    {
      id: 'ec6887ec-7d44-4b31-b468-7e552408ee32',
      vcs_type: 'github',
      name: 'CircleCI-Public',
      avatar_url: 'https://avatars.githubusercontent.com/u/1231870?v=4',
      slug: 'gh/CircleCI-Public',
    },
    { id: '0b4bd1d9-2f0a-4f4b-8d5c-8ec1a6e5e8f0', vcs_type: 'circleci', name: 'acme', avatar_url: null, slug: 'circleci/0b4bd1d9' },
  ],
  context: [
    { id: 'a4bbb8c9-0f1e-4b0d-9c66-3d9f1a2b7c10', name: 'deploy-secrets', created_at: '2023-03-01T10:00:00Z', organization_id: 'ec6887ec-7d44-4b31-b468-7e552408ee32' },
  ],
  deploy: [
    {
      id: '123e4127-e89b-12d3-a456-426123417400',
      name: 'prod-app',
      description: null,
      created_at: '2024-11-02T09:14:11.201Z',
      updated_at: '2025-01-20T16:40:03.873Z',
      labels: [{ key: 'env', value: 'prod' }],
      organization_id: 'ec6887ec-7d44-4b31-b468-7e552408ee32',
    },
  ],
  groups: [
    { id: 'bdbe5e8d-50a5-4f73-a917-074592949844', name: 'Project B Editors', description: 'This group has the ability to edit settings on Project B.', organization_id: 'ec6887ec-7d44-4b31-b468-7e552408ee32' },
  ],
  jobs: [
    {
      id: '0f7e1a5f-bb41-4e07-9f0c-7f5d2b0d2f6e',
      job_number: 1234,
      name: 'build',
      type: 'build',
      status: 'success',
      project_slug: 'gh/CircleCI-Public/api-preview-docs',
      dependencies: [],
      started_at: '2025-10-17T08:30:02.000Z',
      stopped_at: '2025-10-17T08:31:47.000Z',
      _workflow_id: 'fda08377-fe7e-46b1-8992-3a7aaecac9c3',
      _workflow_created_at: '2025-10-17T08:29:58.120Z',
      _pipeline_id: '5034460f-c7c4-4c43-9457-de07e2029e7b',
    },
    // An approval job: no job_number, not started yet, and a status the spec may not list.
    {
      id: '74be7583-44de-42a6-be75-8344de52a6f2',
      name: 'hold',
      type: 'approval',
      status: 'some-future-status',
      project_slug: 'gh/CircleCI-Public/api-preview-docs',
      dependencies: ['0f7e1a5f-bb41-4e07-9f0c-7f5d2b0d2f6e'],
      approval_request_id: '74be7583-44de-42a6-be75-8344de52a6f2',
      started_at: null,
      stopped_at: null,
      requires: { '0f7e1a5f-bb41-4e07-9f0c-7f5d2b0d2f6e': ['success'] },
      _workflow_id: 'fda08377-fe7e-46b1-8992-3a7aaecac9c3',
      _workflow_created_at: '2025-10-17T08:29:58.120Z',
    },
  ],
  job_details: [
    {
      web_url: 'https://app.circleci.com/pipelines/gh/CircleCI-Public/api-preview-docs/42/workflows/fda08377/jobs/1234',
      project: { id: 'b1e5c5a0-8d1c-4d0e-9d2b-6f4c1a7e2b90', slug: 'gh/CircleCI-Public/api-preview-docs', name: 'api-preview-docs', external_url: 'https://github.com/CircleCI-Public/api-preview-docs' },
      parallel_runs: [{ index: 0, status: 'success' }],
      started_at: '2025-10-17T08:30:02.000Z',
      latest_workflow: { id: 'fda08377-fe7e-46b1-8992-3a7aaecac9c3', name: 'build-and-test' },
      name: 'build',
      executor: { resource_class: 'medium', type: 'docker' },
      parallelism: 1,
      status: 'success',
      number: 1234,
      pipeline: { id: '5034460f-c7c4-4c43-9457-de07e2029e7b' },
      duration: 105000,
      created_at: '2025-10-17T08:29:59.000Z',
      messages: [],
      contexts: [{ name: 'deploy-secrets' }],
      organization: { name: 'CircleCI-Public' },
      queued_at: '2025-10-17T08:30:00.000Z',
      stopped_at: '2025-10-17T08:31:47.000Z',
      _job_id: '0f7e1a5f-bb41-4e07-9f0c-7f5d2b0d2f6e',
      _workflow_id: 'fda08377-fe7e-46b1-8992-3a7aaecac9c3',
      _workflow_created_at: '2025-10-17T08:29:58.120Z',
    },
  ],
  tests: [
    {
      message: null,
      source: 'junit',
      run_time: 0.012,
      file: 'test/api.test.ts',
      result: 'success',
      name: 'lists pipelines',
      classname: 'api',
      _job_id: '0f7e1a5f-bb41-4e07-9f0c-7f5d2b0d2f6e',
      _job_number: 1234,
      _workflow_id: 'fda08377-fe7e-46b1-8992-3a7aaecac9c3',
      _workflow_created_at: '2025-10-17T08:29:58.120Z',
      project_slug: 'gh/CircleCI-Public/api-preview-docs',
      _test_key: 'test/api.test.ts::api::lists pipelines',
    },
  ],
  pipeline_definition: [
    {
      id: '8b3bb1c2-4c1e-4c87-bd4e-2d7c3f0e5a11',
      name: 'build-and-test',
      description: '',
      created_at: '2024-06-10T12:00:00Z',
      config_source: { provider: 'github_app', repo: { full_name: 'acme/api', external_id: '123456789' }, file_path: '.circleci/config.yml' },
      checkout_source: { provider: 'github_app', repo: { full_name: 'acme/api', external_id: '123456789' } },
      project_id: 'c51a5a9e-7d0e-4f6b-9e4f-1f2a3b4c5d6e',
      organization_id: 'ec6887ec-7d44-4b31-b468-7e552408ee32',
    },
  ],
  pipelines: [
    {
      id: '5034460f-c7c4-4c43-9457-de07e2029e7b',
      errors: [],
      project_slug: 'gh/CircleCI-Public/api-preview-docs',
      updated_at: '2025-10-17T08:30:00.512Z',
      number: 25,
      trigger_parameters: { circleci: { event_type: 'push' }, git: { branch: 'main' }, run_nightly: false, retries: 3 },
      state: 'created',
      created_at: '2025-10-17T08:29:57.861Z',
      trigger: { type: 'webhook', received_at: '2025-10-17T08:29:57.650Z', actor: { login: 'octocat', avatar_url: null } },
      vcs: {
        provider_name: 'GitHub',
        origin_repository_url: 'https://github.com/CircleCI-Public/api-preview-docs',
        target_repository_url: 'https://github.com/CircleCI-Public/api-preview-docs',
        revision: 'f454a02b5d10fcccfd7d9dd7608a76d6493a98b4',
        branch: 'main',
        commit: { subject: 'Fix typo', body: null },
      },
    },
  ],
  project: [
    {
      slug: 'gh/CircleCI-Public/api-preview-docs',
      name: 'api-preview-docs',
      id: '9e2b7d77-1a9c-4e11-a0f5-3b2c4d5e6f70',
      organization_name: 'CircleCI-Public',
      organization_slug: 'gh/CircleCI-Public',
      organization_id: 'ec6887ec-7d44-4b31-b468-7e552408ee32',
      vcs_info: { vcs_url: 'https://github.com/CircleCI-Public/api-preview-docs', provider: 'GitHub', default_branch: 'main' },
    },
  ],
  schedule: [
    {
      id: 'e1a4c3d2-9b8f-4a7e-8d6c-5b4a3f2e1d0c',
      name: 'nightly',
      description: null,
      'project-slug': 'gh/CircleCI-Public/api-preview-docs',
      'created-at': '2024-01-05T00:00:00Z',
      'updated-at': '2025-02-01T12:34:56.789Z',
      timetable: { 'per-hour': 1, 'hours-of-day': [3], 'days-of-week': ['MON', 'WED'] },
      parameters: { branch: 'main', deploy_prod: true, retries: 2 },
      actor: { id: '4e7b9c2a-1d3f-4a5b-8c6d-7e8f9a0b1c2d', login: 'octocat', name: 'The Octocat', avatar_url: null },
    },
  ],
  trigger: [
    {
      id: 'd0c1b2a3-f4e5-4d6c-8b7a-9f8e7d6c5b4a',
      event_name: 'push to main',
      created_at: '2024-06-10T12:01:00Z',
      event_source: { provider: 'github_app', repo: { full_name: 'acme/api', external_id: '123456789' } },
      event_preset: 'only-some-new-preset',
      checkout_ref: '',
      config_ref: '',
      disabled: false,
      project_id: 'c51a5a9e-7d0e-4f6b-9e4f-1f2a3b4c5d6e',
      pipeline_definition_id: '8b3bb1c2-4c1e-4c87-bd4e-2d7c3f0e5a11',
      organization_id: 'ec6887ec-7d44-4b31-b468-7e552408ee32',
    },
  ],
  workflows: [
    {
      pipeline_id: '5034460f-c7c4-4c43-9457-de07e2029e7b',
      id: 'fda08377-fe7e-46b1-8992-3a7aaecac9c3',
      name: 'build-and-test',
      project_slug: 'gh/CircleCI-Public/api-preview-docs',
      status: 'success',
      started_by: '4e7b9c2a-1d3f-4a5b-8c6d-7e8f9a0b1c2d',
      pipeline_number: 25,
      created_at: '2025-10-17T08:29:58.120Z',
      stopped_at: '2025-10-17T08:33:10.004Z',
      tag: null,
      some_field_the_spec_does_not_list: { nested: [1, 2, 3] },
    },
  ],
  deploy_components: [
    {
      id: '123e4127-e89b-12d3-a456-426123417400',
      name: 'service-a',
      project_id: '9e2b7d77-1a9c-4e11-a0f5-3b2c4d5e6f70',
      labels: [{ key: 'team', value: 'platform' }],
      release_count: 3,
      created_at: '2025-01-05T10:00:00Z',
      updated_at: '2025-10-17T08:31:47.000Z',
      organization_id: 'ec6887ec-7d44-4b31-b468-7e552408ee32',
    },
  ],
  deploy_component_versions: [
    {
      name: '1.4.2',
      environment_id: '123e4127-e89b-12d3-a456-426123417400',
      namespace: 'default',
      is_live: true,
      pipeline_id: '5034460f-c7c4-4c43-9457-de07e2029e7b',
      workflow_id: 'fda08377-fe7e-46b1-8992-3a7aaecac9c3',
      job_id: '0f7e1a5f-bb41-4e07-9f0c-7f5d2b0d2f6e',
      job_number: 1234,
      last_deployed_at: '2025-10-17T08:31:47.000Z',
      component_id: '123e4127-e89b-12d3-a456-426123417400',
      organization_id: 'ec6887ec-7d44-4b31-b468-7e552408ee32',
    },
  ],
  project_env_vars: [
    // created-at has no type in the spec; its example is a Clojure print.
    { name: 'NPM_TOKEN', 'created-at': '#joda/inst 2023-04-14T21:20:14+0000', project_id: '9e2b7d77-1a9c-4e11-a0f5-3b2c4d5e6f70', project_slug: 'gh/acme/api' },
    { name: 'OLD_VAR', 'created-at': null, project_id: '9e2b7d77-1a9c-4e11-a0f5-3b2c4d5e6f70', project_slug: 'gh/acme/api' },
  ],
  project_checkout_keys: [
    {
      'public-key': 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIexample',
      type: 'deploy-key',
      fingerprint: 'c9:0b:1c:4f:d5:65:56:b9:ad:88:f9:81:2b:37:74:2f',
      preferred: true,
      'created-at': '2015-09-21T17:29:21.042Z',
      project_id: '9e2b7d77-1a9c-4e11-a0f5-3b2c4d5e6f70',
      project_slug: 'gh/acme/api',
    },
  ],
  context_env_vars: [
    {
      variable: 'POSTGRES_USER',
      created_at: '2015-09-21T17:29:21.042Z',
      updated_at: '2015-09-21T17:29:21.042Z',
      context_id: 'a4bbb8c9-0f1e-4b0d-9c66-3d9f1a2b7c10',
      organization_id: 'ec6887ec-7d44-4b31-b468-7e552408ee32',
    },
  ],
  webhooks: [
    {
      id: '2a3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c6d',
      name: 'metrics',
      url: 'https://metrics.example.net/ingest',
      events: ['workflow-completed', 'job-completed'],
      'verify-tls': true,
      scope: { id: '9e2b7d77-1a9c-4e11-a0f5-3b2c4d5e6f70', type: 'project' },
      'created-at': '2025-01-05T10:00:00Z',
      'updated-at': '2025-10-17T08:31:47.000Z',
      project_slug: 'gh/acme/api',
    },
  ],
  insights_workflows: [
    {
      name: 'build-and-test',
      metrics: {
        total_runs: 12,
        successful_runs: 10,
        mttr: null,
        total_credits_used: 3400,
        failed_runs: 2,
        success_rate: 0.8333,
        duration_metrics: { min: 60, mean: 190, median: 180, p95: 300, max: 310, standard_deviation: 55.1 },
        total_recoveries: 1,
        throughput: 0.1333,
      },
      window_start: '2025-08-01T10:00:00.000Z',
      window_end: '2025-10-17T08:29:58.120Z',
      project_id: '9a5c9c64-2b0e-4d2e-9a51-6f2c5f8e1a11',
      project_slug: 'gh/CircleCI-Public/api-preview-docs',
      _reporting_window: 'last-90-days',
      _synced_at: '2025-10-18T00:00:00.000Z',
    },
  ],
  insights_jobs: [
    {
      name: 'test',
      metrics: {
        total_runs: 12,
        failed_runs: 2,
        successful_runs: 10,
        duration_metrics: { min: 30, mean: 90, median: 80, p95: 150, max: 160, standard_deviation: 20 },
        success_rate: 0.8333,
        total_credits_used: 1200,
        throughput: 0.1333,
      },
      window_start: '2025-08-01T10:00:00.000Z',
      window_end: '2025-10-17T08:29:58.120Z',
      project_slug: 'gh/CircleCI-Public/api-preview-docs',
      workflow_name: 'build-and-test',
      _reporting_window: 'last-90-days',
      _synced_at: '2025-10-18T00:00:00.000Z',
    },
  ],
  insights_workflow_runs: [
    {
      id: 'fda08377-fe7e-46b1-8992-3a7aaecac9c3',
      branch: 'main',
      duration: 192,
      created_at: '2025-10-17T08:29:58.120Z',
      stopped_at: '2025-10-17T08:33:10.004Z',
      credits_used: 40,
      status: 'success',
      is_approval: false,
      project_slug: 'gh/CircleCI-Public/api-preview-docs',
      workflow_name: 'build-and-test',
    },
  ],
  flaky_tests: [
    {
      'time-wasted': 12,
      'workflow-created-at': '2025-10-17T08:29:58.120Z',
      'workflow-id': 'fda08377-fe7e-46b1-8992-3a7aaecac9c3',
      classname: null,
      'pipeline-number': 25,
      'workflow-name': 'build-and-test',
      'test-name': 'renders the page',
      'job-name': 'test',
      'job-number': 1204,
      'times-flaked': 2,
      source: 'jest',
      file: null,
      project_slug: 'gh/CircleCI-Public/api-preview-docs',
      _flake_key: 'fda08377-fe7e-46b1-8992-3a7aaecac9c3::1204::jest::::::renders the page',
      _synced_at: '2025-10-18T00:00:00.000Z',
    },
  ],
  insights_org_summary: [
    {
      org_data: {
        metrics: { total_runs: 40, total_duration_secs: 9000, total_credits_used: 5000, success_rate: 0.9, throughput: 0.4444 },
        trends: { total_runs: 0.1, total_duration_secs: -0.05, total_credits_used: 0, success_rate: 0.01, throughput: 0.1 },
      },
      org_project_data: [
        {
          project_name: 'api-preview-docs',
          metrics: { total_credits_used: 5000, total_duration_secs: 9000, total_runs: 40, success_rate: 0.9 },
          trends: { total_credits_used: 0, total_duration_secs: -0.05, total_runs: 0.1, success_rate: 0.01 },
        },
      ],
      all_projects: ['api-preview-docs'],
      organization_id: 'ec6887ec-7d44-4b31-b468-7e552408ee32',
      _reporting_window: 'last-90-days',
      _synced_at: '2025-10-18T00:00:00.000Z',
    },
  ],
};

// ---------------------------------------------------------------------------------

describe('generated stream schemas', () => {
  it('cover exactly the declared streams', () => {
    expect(Object.keys(streamSchemas).sort()).toEqual([...STREAM_NAMES].sort());
    expect(Object.keys(STREAM_SOURCES).sort()).toEqual([...GENERATED_STREAM_NAMES].sort());
    expect([...GENERATED_STREAM_NAMES, ...HAND_WRITTEN_STREAMS].sort()).toEqual([...STREAM_NAMES].sort());
  });

  it('committed files equal a fresh derivation from the OpenAPI spec', () => {
    expect(diffStreamSchemaFiles(root, spec)).toEqual([]);
    for (const stream of GENERATED_STREAM_NAMES) {
      const committed = readFileSync(join(root, SCHEMAS_DIR, `${stream}.json`), 'utf8');
      expect(committed).toBe(renderSchema(fresh[stream]));
      // What index.ts exports (the compiled copies) is the same schema.
      expect(streamSchemas[stream]).toEqual(fresh[stream]);
    }
  });

  it('derivation is deterministic', () => {
    expect(deriveStreamSchemas(loadSpec(root))).toEqual(fresh);
    expect(JSON.stringify(deriveStreamSchemas(spec))).toBe(JSON.stringify(fresh));
  });
});

describe.each(GENERATED_STREAM_NAMES.map((stream) => [stream]))('%s schema', (stream: GeneratedStreamName) => {
  const schema = streamSchemas[stream];
  const source = STREAM_SOURCES[stream];
  const properties = schema.properties ?? {};

  it('is a valid draft-07 schema that compiles under ajv strict mode', () => {
    expect(schema.$schema).toBe(JSON_SCHEMA_DRAFT_07);
    const fresh = newAjv();
    expect(fresh.validateSchema(schema as object)).toBe(true);
    expect(() => fresh.compile(schema as object)).not.toThrow();
  });

  it('uses only Airbyte-safe keywords', () => {
    const allowed = new Set(['$schema', 'description', 'type', 'format', 'additionalProperties', 'required', 'properties', 'items']);
    const forbidden = ['$ref', 'allOf', 'anyOf', 'oneOf', 'not', 'enum', 'patternProperties', 'if', 'then', 'else', 'definitions'];
    for (const [pointer, node] of schemaNodes(schema)) {
      for (const keyword of Object.keys(node)) {
        expect({ pointer, keyword, allowed: allowed.has(keyword) }).toEqual({ pointer, keyword, allowed: true });
      }
      for (const keyword of forbidden) expect({ pointer, has: keyword in node }).toEqual({ pointer, has: false });
      if (pointer !== '/') expect({ pointer, $schema: node.$schema }).toEqual({ pointer, $schema: undefined });
    }
    // Belt and braces: no forbidden keyword anywhere in the serialized schema.
    const text = JSON.stringify(schema);
    for (const keyword of ['$ref', 'allOf', 'anyOf', 'oneOf']) expect(text).not.toContain(`"${keyword}"`);
  });

  it('allows extra properties on every object, one item schema per array, and one type or [type, "null"]', () => {
    for (const [pointer, node] of schemaNodes(schema)) {
      const types = typesOf(node);
      if (Array.isArray(node.type)) {
        expect({ pointer, types }).toEqual({ pointer, types: [types[0], 'null'] });
      }
      if (types.includes('object')) expect({ pointer, additionalProperties: node.additionalProperties }).toEqual({ pointer, additionalProperties: true });
      if (types.includes('array')) {
        expect(node.items).toBeDefined();
        expect(Array.isArray(node.items)).toBe(false);
      }
      if (node.format !== undefined) expect({ pointer, format: node.format, types }).toEqual({ pointer, format: 'date-time', types: expect.arrayContaining(['string']) });
    }
  });

  it('has every primary-key field, and the cursor where it is always there, as a required, non-null scalar', () => {
    expect(schema.type).toBe('object');
    const keys = [...source.primaryKey, ...(source.cursor !== undefined ? [source.cursor] : [])];
    expect(keyFields(stream)).toEqual([...new Set(keys)]);
    for (const key of requiredFields(spec, stream)) {
      const field = properties[key];
      expect({ key, present: field !== undefined }).toEqual({ key, present: true });
      const types = typesOf(field ?? {});
      expect({ key, types }).toEqual({ key, types: ['string'] });
      expect(schema.required).toContain(key);
    }
    if (source.cursor !== undefined && /[_-]at$/.test(source.cursor)) expect(properties[source.cursor]?.format).toBe('date-time');
  });

  it('makes every other top-level property nullable', () => {
    const keys = new Set(requiredFields(spec, stream));
    for (const [name, field] of Object.entries(properties)) {
      if (keys.has(name)) continue;
      const types = typesOf(field);
      // A property without `type` accepts any value, null included.
      if (types.length > 0) expect({ name, types }).toEqual({ name, types: [types[0], 'null'] });
    }
  });

  it('leaves out the fields the connector drops', () => {
    for (const path of STREAM_SOURCES[stream].dropped) {
      const [head, ...rest] = path.split('.');
      let property: StreamJsonSchema | undefined = properties[head!];
      for (const name of rest) property = property?.properties?.[name];
      expect({ path, present: property !== undefined }).toEqual({ path, present: false });
    }
  });

  it('has the injected fields', () => {
    for (const [name, field] of Object.entries(source.injected)) {
      const property = properties[name];
      expect({ name, present: property !== undefined }).toEqual({ name, present: true });
      expect(typesOf(property ?? {})).toContain(field.type ?? 'string');
      expect(property?.format).toBe(field.format);
    }
  });

  it('validates a record built from the spec examples', () => {
    expect(validate(stream, specSample(stream))).toEqual([]);
  });

  it('validates the spec sample with every non-key field null', () => {
    const keys = new Set(requiredFields(spec, stream));
    const sample = specSample(stream);
    const nulled = Object.fromEntries(Object.entries(sample).map(([k, v]) => [k, keys.has(k) ? v : null]));
    expect(validate(stream, nulled)).toEqual([]);
  });

  it('validates live-like records', () => {
    for (const record of LIVE_LIKE_RECORDS[stream]) expect(validate(stream, record)).toEqual([]);
  });

  it('rejects records with a null or missing key, a non-integer integer or a bad date-time', () => {
    const sample = specSample(stream);
    for (const key of requiredFields(spec, stream)) {
      expect(validate(stream, { ...sample, [key]: null })).not.toEqual([]);
      const { [key]: _removed, ...without } = sample;
      expect(validate(stream, without)).not.toEqual([]);
    }
    for (const [name, field] of Object.entries(properties)) {
      if (typesOf(field).includes('integer')) expect(validate(stream, { ...sample, [name]: 2.5 })).not.toEqual([]);
      if (field.format === 'date-time') expect(validate(stream, { ...sample, [name]: 'yesterday' })).not.toEqual([]);
    }
  });
});

describe('cursor fields', () => {
  it('are required only where always there: injected, required by the spec, or filled from a field the spec requires', () => {
    const cursors = Object.fromEntries(
      GENERATED_STREAM_NAMES.filter((stream) => STREAM_SOURCES[stream].cursor !== undefined).map((stream) => [stream, requiredFields(spec, stream).includes(STREAM_SOURCES[stream].cursor!)]),
    );
    // deploy: the spec requires no field of an environment; pipelines: updated_at is optional but created_at is required;
    // jobs, job_details, tests: the cursor is injected.
    expect(cursors).toEqual({ deploy: false, insights_workflow_runs: true, job_details: true, jobs: true, pipelines: true, schedule: true, tests: true, workflows: true });
    expect(streamSchemas.deploy.properties?.['updated_at']?.type).toEqual(['string', 'null']);
    expect(streamSchemas.deploy.required).not.toContain('updated_at');
    expect(validate('deploy', { id: 'e1', organization_id: 'o1' })).toEqual([]);
  });
});

describe('live-API deviations', () => {
  it('collaborations accepts vcs_type and vcs-type, requiring neither', () => {
    expect(LIVE_API_DEVIATIONS.map((d) => [d.stream, d.property, d.sameAs])).toEqual([['collaborations', 'vcs_type', 'vcs-type']]);
    const schema = streamSchemas.collaborations;
    expect(schema.properties?.['vcs_type']).toEqual(schema.properties?.['vcs-type']);
    expect(schema.required).not.toContain('vcs_type');
    expect(schema.required).not.toContain('vcs-type');
    const base = { id: 'ec6887ec-7d44-4b31-b468-7e552408ee32', name: 'CircleCI-Public', avatar_url: 'https://example.invalid/a.png', slug: 'gh/CircleCI-Public' };
    expect(validate('collaborations', { ...base, vcs_type: 'github' })).toEqual([]);
    expect(validate('collaborations', { ...base, 'vcs-type': 'github' })).toEqual([]);
    expect(validate('collaborations', base)).toEqual([]);
  });
});

describe('OpenAPI conversion rules', () => {
  const groupsPath = STREAM_SOURCES.groups.path;
  function specWith(item: OpenApiSchema, components: Record<string, OpenApiSchema> = {}): OpenApiDocument {
    return {
      paths: {
        [groupsPath]: {
          get: {
            responses: {
              '200': {
                content: {
                  'application/json': {
                    schema: { type: 'object', additionalProperties: false, properties: { items: { type: 'array', items: item } } },
                  },
                },
              },
            },
          },
        },
      },
      components: { schemas: components },
    };
  }

  it('inlines $refs, merges allOf/oneOf/anyOf, drops enums and OpenAPI-only keywords', () => {
    const derived = deriveStreamSchema(
      specWith(
        {
          type: 'object',
          additionalProperties: false,
          required: ['id', 'kind'],
          properties: {
            id: { type: 'string', format: 'uuid', nullable: true, readOnly: true, 'x-go-name': 'ID' },
            kind: { $ref: '#/components/schemas/kind' },
            both: { allOf: [{ $ref: '#/components/schemas/a' }, { type: 'object', properties: { y: { type: 'integer', format: 'int64', minimum: 1 } } }] },
            either: { oneOf: [{ type: 'string' }, { type: 'integer' }], description: 'mixed' },
            map: { type: 'object', additionalProperties: { anyOf: [{ type: 'string' }, { type: 'boolean' }] } },
            when: { type: 'string', format: 'date-time', example: '2020-01-01T00:00:00Z' },
          },
        },
        {
          kind: { type: 'string', enum: ['a', 'b'], description: 'The kind.', discriminator: { propertyName: 'x' } },
          a: { type: 'object', required: ['x'], properties: { x: { type: 'string', 'x-nullable': true } } },
        },
      ),
      'groups',
    );
    expect(derived).toEqual({
      $schema: JSON_SCHEMA_DRAFT_07,
      type: 'object',
      additionalProperties: true,
      required: ['id', 'organization_id'],
      properties: {
        both: {
          type: ['object', 'null'],
          additionalProperties: true,
          properties: { x: { type: ['string', 'null'] }, y: { type: ['integer', 'null'] } },
        },
        either: { description: 'mixed' },
        id: { type: 'string' },
        kind: { description: 'The kind.', type: ['string', 'null'] },
        map: { type: ['object', 'null'], additionalProperties: true },
        organization_id: { description: expect.any(String), type: 'string' },
        when: { type: ['string', 'null'], format: 'date-time' },
      },
    });
    expect(Object.keys(derived.properties ?? {})).toEqual([...Object.keys(derived.properties ?? {})].sort());
  });

  it('fails loudly when a key field is missing from the spec', () => {
    expect(() => deriveStreamSchema(specWith({ type: 'object', properties: { name: { type: 'string' } } }), 'groups')).toThrow(/id/);
  });
});
