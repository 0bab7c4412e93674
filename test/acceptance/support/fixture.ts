/**
 * The account the acceptance checks run against: the fake CircleCI world the committed
 * integration_tests/ files were generated from, served on loopback, and those committed
 * files read as CAT reads them (sample_config.json with its port pointed at the fake).
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';

import { afterAll, beforeAll } from '@jest/globals';
import { parse as parseYaml } from 'yaml';

import { acceptanceWorld } from '../../../tools/acceptance/fake-account.js';
import { startFakeCircleCi, type RunningFake, type World } from '../../../tools/fake-circleci/index.js';
import { REPO_ROOT } from '../../support/protocol.js';

export interface ExpectedRecord {
  stream: string;
  data: Record<string, unknown>;
  emitted_at: number;
}

export interface FakeAccount {
  world: World;
  fake: RunningFake;
  /** integration_tests/sample_config.json with api_url on the fake's port. */
  config: Record<string, any>;
  /** integration_tests/invalid_config.json, pointed at the fake. */
  invalidConfig: Record<string, any>;
  configuredCatalog: { streams: Array<Record<string, any>> };
  abnormalState: Array<Record<string, any>>;
  sampleState: Array<Record<string, any>>;
  expectedRecords: ExpectedRecord[];
}

export const readRepoFile = (path: string): string => readFileSync(join(REPO_ROOT, path), 'utf8');
export const readRepoJson = <T = any>(path: string): T => JSON.parse(readRepoFile(path)) as T;
export const readRepoYaml = <T = any>(path: string): T => parseYaml(readRepoFile(path)) as T;

/** A config's api_url moved to another host root, keeping everything else. */
export function pointAt(config: Record<string, any>, url: string): Record<string, any> {
  return { ...config, api_url: url };
}

/** An expect_records file: a path relative to the repository, or absolute. */
export function readExpectedRecords(path = 'integration_tests/expected_records.jsonl'): ExpectedRecord[] {
  return readFileSync(isAbsolute(path) ? path : join(REPO_ROOT, path), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as ExpectedRecord);
}

/** Starts the fake account before the enclosing describe's tests and stops it after them. */
export function useFakeAccount(): () => FakeAccount {
  let account: FakeAccount | undefined;
  beforeAll(async () => {
    const world = acceptanceWorld();
    const fake = await startFakeCircleCi({ world });
    const sample = readRepoJson<Record<string, any>>('integration_tests/sample_config.json');
    const port = new URL(String(sample.api_url)).port;
    if (!port) throw new Error('integration_tests/sample_config.json api_url has no port to rewrite');
    account = {
      world,
      fake,
      config: pointAt(sample, fake.url),
      invalidConfig: pointAt(readRepoJson('integration_tests/invalid_config.json'), fake.url),
      configuredCatalog: readRepoJson('integration_tests/configured_catalog.json'),
      abnormalState: readRepoJson('integration_tests/abnormal_state.json'),
      sampleState: readRepoJson('integration_tests/sample_state.json'),
      expectedRecords: readExpectedRecords(),
    };
  });
  afterAll(async () => {
    await account?.fake.close();
  });
  return () => {
    if (!account) throw new Error('the fake account is not running (useFakeAccount() must be called inside a describe)');
    return account;
  };
}
