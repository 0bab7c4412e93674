/**
 * One way to run the connector for every acceptance check, on two targets:
 *
 *   - the built connector as a child process: node_modules/.bin/node dist/src/main.js ...
 *   - the Docker image named by SOURCE_CIRCLECI_IMAGE:
 *       docker run --rm --network=host -v <dir>:/data IMAGE ...
 *
 * Each run writes its inputs (config, catalog, state) to a fresh directory readable by the
 * image's uid 1000, and refuses to return output that a platform would not accept: every
 * stdout line must be an AirbyteMessage valid against the official protocol schema, and
 * neither stdout nor stderr may contain the API token of the config (or any other secret
 * the caller names). Checks therefore never see a run that broke those rules.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, it } from '@jest/globals';

import { runBuiltConnector, spawnCollect, type ProcessResult } from '../../../tools/acceptance/connector-process.js';
import { assertProtocolLines, type Message } from '../../support/protocol.js';

export type ConnectorCommand = 'spec' | 'check' | 'discover' | 'read';

export interface RunInputs {
  config?: unknown;
  catalog?: unknown;
  state?: unknown;
  /** Environment of the connector (e.g. SOURCE_CIRCLECI_CHECKPOINT_RECORDS). */
  env?: Record<string, string>;
  /** Strings that must not appear in the output, besides the config's api_token. */
  secrets?: string[];
}

export interface ConnectorRun {
  target: string;
  /** e.g. `read --config … --catalog …` */
  command: string;
  exitCode: number | null;
  stdout: string;
  stderr: string;
  /** stdout, parsed and validated line by line. */
  messages: Message[];
  durationMs: number;
}

/** What `docker image inspect` says about the image's config. */
export interface ImageConfig {
  User?: string;
  Env?: string[] | null;
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Labels?: Record<string, string> | null;
}

export interface ConnectorTarget {
  /** Shown in describe names: `built connector` or `docker image …`. */
  readonly name: string;
  readonly kind: 'process' | 'docker';
  run(command: ConnectorCommand, inputs?: RunInputs): Promise<ConnectorRun>;
  /** The image's config; only the Docker target has one. */
  imageConfig?(): Promise<ImageConfig>;
  /** Every run so far, for the file-level output checks. */
  readonly runs: readonly ConnectorRun[];
}

const RUN_TIMEOUT_MS = 120_000;

export const DOCKER_IMAGE = process.env.SOURCE_CIRCLECI_IMAGE?.trim() ?? '';
export const DOCKER_SKIP_REASON = 'skipped: set SOURCE_CIRCLECI_IMAGE=airbyte/source-circleci:dev (after docker build) to run the checks on the image';

/** The inputs as files in a fresh directory: world-readable, so uid 1000 in the container can read them. */
function writeInputs(inputs: RunInputs): { dir: string; files: Partial<Record<'config' | 'catalog' | 'state', string>> } {
  const dir = mkdtempSync(join(tmpdir(), 'source-circleci-acceptance-'));
  chmodSync(dir, 0o755);
  const files: Partial<Record<'config' | 'catalog' | 'state', string>> = {};
  for (const key of ['config', 'catalog', 'state'] as const) {
    if (inputs[key] === undefined) continue;
    const file = join(dir, `${key}.json`);
    writeFileSync(file, JSON.stringify(inputs[key]));
    chmodSync(file, 0o644);
    files[key] = `${key}.json`;
  }
  return { dir, files };
}

function commandArgs(command: ConnectorCommand, files: Partial<Record<'config' | 'catalog' | 'state', string>>, at: (file: string) => string): string[] {
  const args: string[] = [command];
  if (files.config) args.push('--config', at(files.config));
  if (files.catalog) args.push('--catalog', at(files.catalog));
  if (files.state) args.push('--state', at(files.state));
  return args;
}

function secretsOf(inputs: RunInputs): string[] {
  const token = (inputs.config as { api_token?: unknown } | undefined)?.api_token;
  return [...(typeof token === 'string' && token.length > 0 ? [token] : []), ...(inputs.secrets ?? [])];
}

/** Applies the rules every run must follow; throws with the context needed to debug a violation. */
function verify(target: string, args: string[], result: ProcessResult, secrets: string[]): ConnectorRun {
  const command = args.join(' ');
  const context = `${target}: ${command} (exit ${result.exitCode}${result.timedOut ? ', timed out' : ''})`;
  for (const secret of secrets) {
    // Never echo the secret itself: say where it was found.
    if (result.stdout.includes(secret)) throw new Error(`${context} printed a secret from its config on stdout`);
    if (result.stderr.includes(secret)) throw new Error(`${context} printed a secret from its config on stderr`);
  }
  if (result.timedOut) throw new Error(`${context}\n--- stderr ---\n${result.stderr.slice(-3000)}`);
  let messages: Message[];
  try {
    messages = assertProtocolLines(result.stdout);
  } catch (error) {
    throw new Error(`${context}: ${(error as Error).message}\n--- stderr ---\n${result.stderr.slice(-3000)}`);
  }
  return { target, command, exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr, messages, durationMs: result.durationMs };
}

class ProcessTarget implements ConnectorTarget {
  readonly name = 'built connector';
  readonly kind = 'process' as const;
  readonly runs: ConnectorRun[] = [];

  async run(command: ConnectorCommand, inputs: RunInputs = {}): Promise<ConnectorRun> {
    const { dir, files } = writeInputs(inputs);
    try {
      const args = commandArgs(command, files, (file) => join(dir, file));
      const result = await runBuiltConnector(args, { env: inputs.env ?? {}, timeoutMs: RUN_TIMEOUT_MS });
      const run = verify(this.name, [command, ...args.slice(1).map((a) => a.replace(dir, '<dir>'))], result, secretsOf(inputs));
      this.runs.push(run);
      return run;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

let containerCount = 0;

class DockerTarget implements ConnectorTarget {
  readonly name: string;
  readonly kind = 'docker' as const;
  readonly runs: ConnectorRun[] = [];

  constructor(private readonly image: string) {
    this.name = `docker image ${image}`;
  }

  async run(command: ConnectorCommand, inputs: RunInputs = {}): Promise<ConnectorRun> {
    const { dir, files } = writeInputs(inputs);
    const container = `source-circleci-acceptance-${process.pid}-${++containerCount}`;
    try {
      const args = commandArgs(command, files, (file) => `/data/${file}`);
      const env = Object.entries(inputs.env ?? {}).flatMap(([key, value]) => ['-e', `${key}=${value}`]);
      const docker = ['run', '--rm', '--name', container, '--network=host', '-v', `${dir}:/data:ro`, ...env, this.image, ...args];
      const result = await spawnCollect('docker', docker, {
        timeoutMs: RUN_TIMEOUT_MS,
        onTimeout: () => void spawnCollect('docker', ['rm', '-f', container]),
      });
      if (result.exitCode === 125) throw new Error(`docker could not start ${this.image}: ${result.stderr.slice(-2000)}`);
      const run = verify(this.name, args, result, secretsOf(inputs));
      this.runs.push(run);
      return run;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  async imageConfig(): Promise<ImageConfig> {
    const inspect = await spawnCollect('docker', ['image', 'inspect', '--format', '{{json .Config}}', this.image], { timeoutMs: 60_000 });
    if (inspect.exitCode !== 0) throw new Error(`docker image inspect ${this.image} failed: ${inspect.stderr}`);
    return JSON.parse(inspect.stdout) as ImageConfig;
  }
}

/** The targets this run covers: always the built connector, the image when SOURCE_CIRCLECI_IMAGE names one. */
export function acceptanceTargets(): ConnectorTarget[] {
  return [new ProcessTarget(), ...(DOCKER_IMAGE ? [new DockerTarget(DOCKER_IMAGE)] : [])];
}

/**
 * Declares `suite` once per target (`TestSpec [built connector]`, `TestSpec [docker image …]`)
 * with a fresh target each, and a visibly skipped block for the image when none is named.
 */
export function describeOnTargets(suite: string, body: (target: ConnectorTarget) => void): void {
  for (const target of acceptanceTargets()) describe(`${suite} [${target.name}]`, () => body(target));
  if (!DOCKER_IMAGE) {
    describe(`${suite} [docker image]`, () => {
      it.skip(DOCKER_SKIP_REASON, () => undefined);
    });
  }
}
