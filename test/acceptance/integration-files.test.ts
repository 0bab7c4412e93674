/**
 * The acceptance files themselves: acceptance-test-config.yml in CAT's format with every
 * group declared, and integration_tests/ equal to what the generator makes from the fake
 * world (node dist/tools/acceptance/generate.js), covering every incremental partition.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { STREAMS } from '../../src/streams/streams.js';
import { acceptanceWorld } from '../../tools/acceptance/fake-account.js';
import { clockDependent } from '../../tools/acceptance/integration-files.js';
import { nodeBinary, spawnCollect } from '../../tools/acceptance/connector-process.js';
import { startFakeCircleCi } from '../../tools/fake-circleci/index.js';
import { canonical, incrementalOnly } from './support/cat.js';
import { pointAt, readExpectedRecords, readRepoFile, readRepoJson, readRepoYaml } from './support/fixture.js';
import { REPO_ROOT } from '../support/protocol.js';

const GENERATOR = join(REPO_ROOT, 'dist', 'tools', 'acceptance', 'generate.js');
const GENERATED = ['sample_config.json', 'invalid_config.json', 'configured_catalog.json', 'sample_state.json', 'abnormal_state.json', 'expected_records.jsonl'];

/** The keys CAT's config.py accepts (its models forbid any other). */
const ALLOWED_KEYS: Record<string, string[]> = {
  root: ['connector_image', 'acceptance_tests', 'base_path', 'test_strictness_level', 'custom_environment_variables'],
  group: ['tests', 'bypass_reason'],
  spec: ['spec_path', 'config_path', 'timeout_seconds', 'deployment_mode', 'backward_compatibility_tests_config', 'auth_default_method'],
  connection: ['config_path', 'status', 'timeout_seconds', 'deployment_mode'],
  discovery: ['config_path', 'timeout_seconds', 'deployment_mode', 'backward_compatibility_tests_config', 'validate_primary_keys_data_type'],
  basic_read: [
    'config_path', 'deployment_mode', 'configured_catalog_path', 'empty_streams', 'expect_records', 'validate_schema', 'validate_stream_statuses',
    'validate_state_messages', 'validate_primary_keys_data_type', 'fail_on_extra_columns', 'validate_data_points', 'expect_trace_message_on_failure',
    'timeout_seconds', 'file_types', 'client_container_config',
  ],
  full_refresh: ['config_path', 'configured_catalog_path', 'timeout_seconds', 'deployment_mode', 'ignored_fields', 'client_container_config'],
  incremental: ['config_path', 'configured_catalog_path', 'future_state', 'timeout_seconds', 'deployment_mode', 'skip_comprehensive_incremental_tests', 'client_container_config'],
  future_state: ['future_state_path', 'missing_streams', 'bypass_reason', 'cursor_format'],
  expect_records: ['bypass_reason', 'path', 'exact_order'],
};
const GROUPS = ['spec', 'connection', 'discovery', 'basic_read', 'full_refresh', 'incremental'];

const unknownKeys = (value: Record<string, unknown>, allowed: string[]): string[] => Object.keys(value).filter((key) => !allowed.includes(key));

describe('acceptance-test-config.yml', () => {
  const config = readRepoYaml('acceptance-test-config.yml');
  const tests = (group: string): Array<Record<string, any>> => config.acceptance_tests[group].tests;

  it('is in CAT\'s current format: no key CAT would reject', () => {
    expect(unknownKeys(config, ALLOWED_KEYS.root!)).toEqual([]);
    expect(config.connector_image).toBe('airbyte/source-circleci:dev');
    expect(config.test_strictness_level).toBe('high');
    for (const group of GROUPS) {
      expect({ group, unknown: unknownKeys(config.acceptance_tests[group], ALLOWED_KEYS.group!) }).toEqual({ group, unknown: [] });
      for (const test of tests(group)) expect({ group, unknown: unknownKeys(test, ALLOWED_KEYS[group]!) }).toEqual({ group, unknown: [] });
    }
    expect(unknownKeys(tests('basic_read')[0]!.expect_records, ALLOWED_KEYS.expect_records!)).toEqual([]);
    expect(unknownKeys(tests('incremental')[0]!.future_state, ALLOWED_KEYS.future_state!)).toEqual([]);
  });

  it('declares every group with tests (strictness high allows no undeclared group)', () => {
    expect(Object.keys(config.acceptance_tests).sort()).toEqual([...GROUPS].sort());
    for (const group of GROUPS) expect({ group, tests: tests(group).length > 0 }).toEqual({ group, tests: true });
  });

  it('names files that exist (secrets/ excepted: it is git-ignored and holds the real config)', () => {
    const paths: string[] = [];
    for (const group of GROUPS) {
      for (const test of tests(group)) {
        for (const key of ['spec_path', 'config_path', 'configured_catalog_path']) if (test[key]) paths.push(test[key]);
        if (test.expect_records?.path) paths.push(test.expect_records.path);
        if (test.future_state?.future_state_path) paths.push(test.future_state.future_state_path);
      }
    }
    const missing = paths.filter((path) => !path.startsWith('secrets/') && !existsSync(join(REPO_ROOT, path)));
    expect(missing).toEqual([]);
    expect(readRepoFile('.gitignore')).toMatch(/^secrets\/$/m);
  });

  it('spec, connection (succeed and failed), basic_read with expect_records, full_refresh and incremental with the configured catalog', () => {
    expect(tests('spec')[0]!.spec_path).toBe('spec.json');
    expect(tests('connection').map((t) => [t.config_path, t.status])).toEqual([
      ['secrets/config.json', 'succeed'],
      ['integration_tests/invalid_config.json', 'failed'],
    ]);
    const basicRead = tests('basic_read')[0]!;
    expect(basicRead.expect_records).toEqual({ path: 'integration_tests/expected_records.jsonl' });
    expect(basicRead.configured_catalog_path).toBeUndefined(); // high strictness reads the discovered catalog
    for (const empty of basicRead.empty_streams ?? []) expect(empty.bypass_reason).toEqual(expect.any(String));
    for (const group of ['full_refresh', 'incremental']) expect(tests(group)[0]!.configured_catalog_path).toBe('integration_tests/configured_catalog.json');
  });

  it('future_state covers every incremental stream of the configured catalog (CAT fails an undeclared one at high)', () => {
    const future = tests('incremental')[0]!.future_state;
    const states = readRepoJson<Array<Record<string, any>>>(future.future_state_path);
    const declared = new Set([...states.map((s) => s.stream.stream_descriptor.name), ...(future.missing_streams ?? []).map((s: { name: string }) => s.name)]);
    const incremental = incrementalOnly(readRepoJson('integration_tests/configured_catalog.json')).streams.map((s) => s.stream.name);
    expect(incremental.sort()).toEqual(Object.values(STREAMS).filter((decl) => decl.cursor !== undefined).map((decl) => decl.name).sort());
    expect(incremental.filter((name) => !declared.has(name))).toEqual([]);
  });
});

describe('integration_tests/', () => {
  const dirs: string[] = [];
  let fresh: { dir: string; exitCode: number | null };
  const generateInto = async (...args: string[]): Promise<{ dir: string; exitCode: number | null; stdout: string }> => {
    const dir = mkdtempSync(join(tmpdir(), 'source-circleci-generate-'));
    dirs.push(dir);
    const run = await spawnCollect(nodeBinary(), [GENERATOR, '--out', dir, ...args]);
    return { dir, exitCode: run.exitCode, stdout: run.stdout };
  };
  beforeAll(async () => {
    fresh = await generateInto();
  });
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('node dist/tools/acceptance/generate.js writes exactly the generated files', () => {
    expect(fresh.exitCode).toBe(0);
    expect(readdirSync(fresh.dir).sort()).toEqual([...GENERATED].sort());
  });

  it.each(GENERATED.map((file) => [file]))('%s equals a fresh generation from the fake world', (file) => {
    expect(readRepoFile(`integration_tests/${file}`)).toBe(readFileSync(join(fresh.dir, file), 'utf8'));
  });

  it('generate.js --check names a stale file and exits 1', async () => {
    const { dir } = await generateInto();
    writeFileSync(join(dir, 'abnormal_state.json'), '[]\n');
    const run = await spawnCollect(nodeBinary(), [GENERATOR, '--check', '--out', dir]);
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toContain('abnormal_state.json');
    expect(run.stdout).not.toContain('expected_records.jsonl');
  });

  it('generate.js --real-config (a real account\'s regeneration), run against the fake, agrees with the fake generation and prints no token', async () => {
    const world = acceptanceWorld();
    const fake = await startFakeCircleCi({ world });
    try {
      const dir = mkdtempSync(join(tmpdir(), 'source-circleci-generate-real-'));
      dirs.push(dir);
      const configPath = join(dir, 'config.json');
      writeFileSync(configPath, JSON.stringify(pointAt(readRepoJson('integration_tests/sample_config.json'), fake.url)));
      const run = await spawnCollect(nodeBinary(), [GENERATOR, '--real-config', configPath, '--out', dir, '--max-per-stream', '2']);
      expect(run.exitCode).toBe(0);
      expect(run.stdout + run.stderr).not.toContain(world.token);
      expect(readFileSync(join(dir, 'abnormal_state.json'), 'utf8')).toBe(readRepoFile('integration_tests/abnormal_state.json'));
      const regenerated = readExpectedRecords(join(dir, 'expected_records.jsonl'));
      const committed = new Set(readExpectedRecords().map((r) => canonical({ stream: r.stream, data: r.data })));
      expect(regenerated.length).toBeGreaterThan(11);
      expect(regenerated.filter((r) => !committed.has(canonical({ stream: r.stream, data: r.data })))).toEqual([]);
    } finally {
      await fake.close();
    }
  });

  it('abnormal_state.json bookmarks every partition of the fake world far in the future: deploy per organization, schedule per project, history per configured slug', () => {
    const world = acceptanceWorld();
    const configured = readRepoJson('integration_tests/sample_config.json').project_slugs as string[];
    const catalog = incrementalOnly(readRepoJson('integration_tests/configured_catalog.json')).streams;
    const states = new Map(readRepoJson<Array<Record<string, any>>>('integration_tests/abnormal_state.json').map((s) => [s.stream.stream_descriptor.name, s.stream.stream_state]));
    const organizations = world.truth('collaborations').map((org) => String(org.id)).sort();
    const projects = world.truth('project').map((project) => String(project.slug)).sort();
    const expectedPartitions: Record<string, { kind: string; keys: string[] }> = {
      deploy: { kind: 'organizations', keys: organizations },
      usage: { kind: 'organizations', keys: organizations },
      schedule: { kind: 'projects', keys: projects },
      pipelines: { kind: 'projects', keys: [...configured].sort() },
      workflows: { kind: 'projects', keys: [...configured].sort() },
      jobs: { kind: 'projects', keys: [...configured].sort() },
      job_details: { kind: 'projects', keys: [...configured].sort() },
      tests: { kind: 'projects', keys: [...configured].sort() },
      insights_workflow_runs: {
        kind: 'project_workflows',
        keys: world.truth('insights_workflows', { projectSlugs: configured }).map((w) => `${String(w.project_slug)}/${String(w.name)}`).sort(),
      },
    };
    expect(organizations).toHaveLength(3);
    expect(projects.length).toBeGreaterThanOrEqual(3);
    for (const { stream } of catalog) {
      const state = states.get(stream.name)!;
      const { kind, keys } = expectedPartitions[stream.name]!;
      expect({ stream: stream.name, keys: Object.keys(state[kind] ?? {}).sort() }).toEqual({ stream: stream.name, keys });
      for (const entry of Object.values<Record<string, string>>(state[kind])) {
        const cursor = entry[stream.default_cursor_field[0]]!;
        expect(Date.parse(cursor)).toBeGreaterThan(world.nowMs + 100 * 365 * 86_400_000);
      }
    }
  });

  it('expected_records.jsonl is in CAT\'s format: one {stream, data, emitted_at} per line, every stream present', () => {
    const lines = readRepoFile('integration_tests/expected_records.jsonl').trimEnd().split('\n');
    const records = readExpectedRecords();
    expect(records).toHaveLength(lines.length);
    for (const record of records) {
      expect(Object.keys(record).sort()).toEqual(['data', 'emitted_at', 'stream']);
      expect(Number.isInteger(record.emitted_at)).toBe(true);
      expect(typeof record.data).toBe('object');
    }
    // Streams that depend on the run's clock are left out: no two reads agree on them.
    const streams = readRepoJson('integration_tests/configured_catalog.json').streams.map((s: any) => s.stream.name).filter((name: string) => !clockDependent(name));
    expect(streams.length).toBeGreaterThan(10);
    expect(new Set(records.map((r) => r.stream))).toEqual(new Set(streams));
  });

  it('invalid_config.json differs from the sample config only by a token CircleCI does not know, and points at circleci.com', () => {
    const invalid = readRepoJson('integration_tests/invalid_config.json');
    expect(invalid.api_token).not.toBe(acceptanceWorld().token);
    expect(invalid.api_url).toBeUndefined(); // the official suite checks it against the real API
    expect(invalid.project_slugs.length).toBeGreaterThan(0);
  });
});
