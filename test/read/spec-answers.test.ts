/**
 * Whole reads of every stream read by listing (Insights included; the usage export is
 * test/read/usage.test.ts's) against answers generated from CircleCI's OpenAPI spec
 * (test/support/spec-answers.ts), over many seeds: whatever the spec allows must be read.
 * Each read must end with exit 0 and no error, emit one record for every item served with
 * its primary key (items without one are skipped and counted), ask for the children of
 * every parent it emitted (job details and tests: every job with a number), and emit only
 * records that the stream's discovered JSON schema accepts (values sent as another type
 * are converted, or nulled and named in the record's meta.changes). An incremental sync from the state of the first must read the same answers
 * cleanly too (bookmarks from generated cursors, unfinished workflows read again by id).
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

import { AirbyteRecordMessageMetaChange } from '../../src/protocol/messages.js';
import { buildCatalog } from '../../src/streams/catalog.js';
import type { StreamName } from '../../src/streams/schemas/index.js';
import { loadSpec } from '../../tools/schemas/derive-stream-schemas.js';
import { allStreams, LISTED_STREAMS, primaryKeyOf, runRead } from '../support/connector.js';
import { TEST_API, TEST_TOKEN, useMockApi } from '../support/http.js';
import { jobRef, SERVER_NOW, specApi } from '../support/spec-answers.js';
import { testKeysOf } from '../fake-circleci/helpers.js';

// ajv-formats is CommonJS; under NodeNext its default import is module.exports.
const addFormats = addFormatsModule.default;
const ajv = new Ajv({ strict: true, allErrors: true });
addFormats(ajv);
// The schemas as discover declares them: what a destination types its columns by.
const validators = new Map<StreamName, ValidateFunction>(buildCatalog().streams.map((stream) => [stream.name as StreamName, ajv.compile(stream.json_schema)]));

const SEEDS = Array.from({ length: 30 }, (_, i) => i + 1);
const spec = loadSpec();

/** What the seeds exercised together: each kind of surprise must have happened at least once. */
const exercised = { jobLevel: 0, insights: 0, keyless: 0, withoutUpdatedAt: 0, secrets: 0, unsupportedDefinitions: 0, emptyPagesWithToken: 0, revisited: 0, records: 0, nulled: 0 };
/** The run's clock is the answers' (their Date header): the snapshots' _synced_at, part of their keys, is then known. */
const AT_SERVER_NOW = { clock: () => SERVER_NOW };

describe('reads of answers generated from the OpenAPI spec', () => {
  const api = useMockApi();

  it.each(SEEDS)('seed %i: every item with its key is read, every record fits its schema', async (seed) => {
    const answers = specApi(seed, spec);
    api.server.use(...answers.handlers);
    const run = await runRead({
      config: { api_token: TEST_TOKEN, api_url: TEST_API, start_date: '2000-01-01', requests_per_minute: 100_000 },
      streams: allStreams('incremental'),
    }, AT_SERVER_NOW);
    expect(run.errors).toEqual([]);
    expect(run.exitCode).toBe(0);

    // Job-level records are keyed by the connector (the job's id, a test key): compared with what was served below.
    const served = new Map(answers.served);
    const numbered = (run.records.get('jobs') ?? []).filter((job) => job.job_number !== undefined && job.job_number !== null);
    served.set('job_details', numbered.map((job) => JSON.stringify([job.id])));
    served.set(
      'tests',
      numbered.flatMap((job) => testKeysOf(answers.testsOf(jobRef(job.project_slug, job.job_number))).map((key) => JSON.stringify([job.id, key]))),
    );
    for (const stream of LISTED_STREAMS) {
      const records = run.records.get(stream) ?? [];
      exercised.records += records.length;
      const emitted = records.map((record) => primaryKeyOf(stream, record)).sort();
      expect({ stream, emitted }).toEqual({ stream, emitted: [...(served.get(stream) ?? [])].sort() });
      const validate = validators.get(stream)!;
      for (const record of records) {
        const errors = validate(record) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`);
        expect({ stream, record, errors }).toEqual({ stream, record, errors: [] });
      }
    }

    // Every parent emitted had its children asked for (an item never served is never counted above).
    const listedFor = (route: string) => answers.listed.get(route) ?? new Set<string>();
    const ids = (stream: StreamName, field = 'id') => (run.records.get(stream) ?? []).map((r) => String(r[field]));
    for (const org of ids('collaborations')) for (const route of ['context', 'groups', 'deploy', 'private_projects']) expect({ route, org, asked: listedFor(route).has(org) }).toEqual({ route, org, asked: true });
    for (const project of ids('project')) expect(listedFor('pipeline_definition').has(project)).toBe(true);
    for (const slug of ids('project', 'slug')) expect(listedFor('schedule').has(slug)).toBe(true);
    for (const pipeline of ids('pipelines')) expect(listedFor('workflows').has(pipeline)).toBe(true);
    for (const workflow of ids('workflows')) expect(listedFor('jobs').has(workflow)).toBe(true);
    for (const job of numbered) for (const route of ['job_details', 'tests']) expect({ route, asked: listedFor(route).has(jobRef(job.project_slug, job.job_number)) }).toEqual({ route, asked: true });
    exercised.jobLevel += (run.records.get('job_details')?.length ?? 0) + (run.records.get('tests')?.length ?? 0);
    // Insights: every project in scope (the projects whose pipelines were listed), every workflow name it listed, every organization.
    const inScope = [...listedFor('pipelines')].sort();
    for (const route of ['insights_workflows', 'flaky_tests']) expect({ route, asked: [...listedFor(route)].sort() }).toEqual({ route, asked: inScope });
    for (const workflow of run.records.get('insights_workflows') ?? []) {
      const key = `${String(workflow.project_slug)}/${String(workflow.name)}`;
      for (const route of ['insights_jobs', 'insights_workflow_runs']) expect({ route, key, asked: listedFor(route).has(key) }).toEqual({ route, key, asked: true });
    }
    for (const slug of (run.records.get('collaborations') ?? []).map((org) => String(org.slug))) expect(listedFor('insights_org_summary').has(slug)).toBe(true);
    exercised.insights += ['insights_jobs', 'insights_workflow_runs', 'flaky_tests', 'insights_org_summary'].reduce((sum, stream) => sum + (run.records.get(stream)?.length ?? 0), 0);
    // Triggers: asked for exactly the definitions whose provider supports them.
    const supported = ids('pipeline_definition').filter((id) => ['github_app', 'bitbucket_dc'].includes(String(answers.definitionProviders.get(id))));
    expect([...listedFor('trigger')].sort()).toEqual([...new Set(supported)].sort());
    exercised.unsupportedDefinitions += ids('pipeline_definition').length - supported.length;

    // A pipeline without updated_at is bookmarked by its created_at.
    for (const pipeline of run.records.get('pipelines') ?? []) {
      const created = answers.pipelinesWithoutUpdatedAt.get(String(pipeline.id));
      if (created !== undefined) expect(pipeline.updated_at ?? null).toEqual(created);
    }
    exercised.withoutUpdatedAt += answers.pipelinesWithoutUpdatedAt.size;

    // Secrets (webhook URL credentials and signing secrets, env var values) stay in the connector.
    const output = run.lines.join('\n');
    for (const secret of answers.secrets) expect(output).not.toContain(secret);
    exercised.secrets += answers.secrets.length;
    exercised.emptyPagesWithToken += answers.emptyPagesWithToken();

    // Values that could not take their schema's type: nulled, named in the record's meta.changes, counted per stream in the final line.
    const nulled = new Map<string, number>();
    for (const message of run.messages.filter((m) => m.type === 'RECORD' && m.record.meta !== undefined)) {
      const { stream, data, meta } = message.record as { stream: string; data: Record<string, unknown>; meta: { changes: unknown[] } };
      expect(meta.changes.length).toBeGreaterThan(0);
      for (const change of meta.changes) {
        expect(AirbyteRecordMessageMetaChange.parse(change)).toMatchObject({ change: 'NULLED', reason: 'SOURCE_SERIALIZATION_ERROR' });
        const path = (change as { field: string }).field.replace(/\[(\d+)\]/g, '.$1').split('.');
        expect({ stream, field: path.join('.'), value: path.reduce<unknown>((at, part) => (at as Record<string, unknown> | null)?.[part], data) }).toEqual({ stream, field: path.join('.'), value: null });
      }
      nulled.set(stream, (nulled.get(stream) ?? 0) + meta.changes.length);
    }
    for (const [stream, count] of nulled) expect(run.logs.at(-1)!.message).toContain(`${stream} ${count}`);
    if (nulled.size === 0) expect(run.logs.at(-1)!.message).not.toContain('values nulled');
    exercised.nulled += [...nulled.values()].reduce((sum, n) => sum + n, 0);

    // Items without a key: one WARN per stream, and the count in the final line.
    for (const [stream, count] of answers.keyless) {
      expect(run.logs.filter((log) => log.level === 'WARN' && log.message.startsWith(`${stream}: CircleCI sent an item without its key field`))).toHaveLength(1);
      expect(run.logs.at(-1)!.message).toContain(`${stream} ${count}`);
      exercised.keyless += count;
    }
  });

  it.each(SEEDS)('seed %i: an incremental sync from the state of the first reads the same answers cleanly', async (seed) => {
    const answers = specApi(seed, spec);
    api.server.use(...answers.handlers);
    const config = { api_token: TEST_TOKEN, api_url: TEST_API, start_date: '2000-01-01', requests_per_minute: 100_000 };
    const first = await runRead({ config, streams: allStreams('incremental') }, AT_SERVER_NOW);
    expect(first.exitCode).toBe(0);
    const second = await runRead({ config, streams: allStreams('incremental'), state: first.finalState }, AT_SERVER_NOW);
    expect(second.errors).toEqual([]);
    expect(second.exitCode).toBe(0);
    for (const [stream, records] of second.records) {
      const validate = validators.get(stream as StreamName)!;
      for (const record of records) expect({ stream, record, valid: validate(record) }).toEqual({ stream, record, valid: true });
    }
    exercised.revisited += answers.listed.get('workflow')?.size ?? 0;
  });

  afterAll(() => {
    // The seeds together exercised what they are meant to (a generator that never surprises proves nothing).
    expect(exercised.records).toBeGreaterThan(SEEDS.length * 10);
    expect(exercised.keyless).toBeGreaterThan(0);
    expect(exercised.jobLevel).toBeGreaterThan(0);
    expect(exercised.insights).toBeGreaterThan(0);
    expect(exercised.withoutUpdatedAt).toBeGreaterThan(0);
    expect(exercised.secrets).toBeGreaterThan(0);
    expect(exercised.unsupportedDefinitions).toBeGreaterThan(0);
    expect(exercised.emptyPagesWithToken).toBeGreaterThan(0);
    expect(exercised.revisited).toBeGreaterThan(0); // unfinished workflows were read again by id
    expect(exercised.nulled).toBeGreaterThan(0); // values no type conversion could save reached meta.changes
  });
});
