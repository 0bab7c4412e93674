/**
 * The built Docker image, as Airbyte runs it: labels and AIRBYTE_ENTRYPOINT as the
 * platform and the acceptance tests expect, a non-root user, only production content,
 * and spec / check / discover / read through `docker run` against the fake CircleCI API
 * on the host's loopback (--network=host).
 *
 * Runs only when SOURCE_CIRCLECI_IMAGE names an image (.ci/run sets it after
 * `docker build --network=host -t airbyte/source-circleci:dev .`):
 *
 *   SOURCE_CIRCLECI_IMAGE=airbyte/source-circleci:dev npm test -- dist/test/docker
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { parse as parseYaml } from 'yaml';

import { startFakeCircleCi, type RunningFake } from '../../tools/fake-circleci/server.js';
import { STREAM_NAMES, createWorld, type World } from '../../tools/fake-circleci/world.js';
import { REPO_ROOT, assertProtocolLines, ofType, type Message } from '../support/protocol.js';

const IMAGE = process.env.SOURCE_CIRCLECI_IMAGE?.trim() ?? '';
const SKIP_REASON = 'skipped: set SOURCE_CIRCLECI_IMAGE to an image (e.g. airbyte/source-circleci:dev) to run';
const RUN_TIMEOUT_MS = 120_000;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `docker args...`, never throws on a non-zero exit; kills the container on timeout. */
function docker(args: string[], timeoutMs = RUN_TIMEOUT_MS): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn('docker', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    const timer = setTimeout(() => {
      const name = args[args.indexOf('--name') + 1];
      if (args.includes('--name') && name) spawn('docker', ['rm', '-f', name], { stdio: 'ignore' });
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
  });
}

let runCount = 0;

/** `docker run --rm` of the image as Airbyte does it: the command and /data/*.json. */
async function runConnector(command: string[], dataDir?: string): Promise<Run & { messages: Message[] }> {
  const name = `source-circleci-test-${process.pid}-${++runCount}`;
  const args = ['run', '--rm', '--name', name, '--network=host'];
  if (dataDir) args.push('-v', `${dataDir}:/data:ro`);
  const run = await docker([...args, IMAGE, ...command]);
  const context = `docker run ${command.join(' ')} (exit ${run.code})\n--- stderr ---\n${run.stderr.slice(-3000)}`;
  let messages: Message[];
  try {
    // Every stdout line must be one AirbyteMessage (JSON, valid against the official schema).
    messages = assertProtocolLines(run.stdout);
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${context}`);
  }
  if (run.code !== 0) throw new Error(`expected exit 0 from ${context}\n--- stdout ---\n${run.stdout.slice(-3000)}`);
  return { ...run, messages };
}

interface ImageConfig {
  User?: string;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Labels?: Record<string, string> | null;
  WorkingDir?: string;
}

const readJson = (file: string): unknown => JSON.parse(readFileSync(join(REPO_ROOT, file), 'utf8'));

const describeImage = IMAGE ? describe : describe.skip;

if (!IMAGE) {
  describe(`docker image (${SKIP_REASON})`, () => {
    it.skip(SKIP_REASON, () => undefined);
  });
}

describeImage(`docker image ${IMAGE}`, () => {
  const pkg = readJson('package.json') as { version: string; devDependencies?: Record<string, string> };
  const spec = readJson('spec.json') as unknown;
  const metadata = parseYaml(readFileSync(join(REPO_ROOT, 'metadata.yaml'), 'utf8')) as {
    metadataSpecVersion: string;
    data: Record<string, unknown>;
  };

  let config: ImageConfig;
  let world: World;
  let fake: RunningFake;
  let dataDir: string;

  /** Writes /data/<name> for the container; readable by the image's uid 1000. */
  function writeData(name: string, value: unknown): string {
    const file = join(dataDir, name);
    writeFileSync(file, JSON.stringify(value));
    chmodSync(file, 0o644);
    return `/data/${name}`;
  }

  beforeAll(async () => {
    const inspect = await docker(['image', 'inspect', '--format', '{{json .Config}}', IMAGE]);
    if (inspect.code !== 0) throw new Error(`docker image inspect ${IMAGE} failed: ${inspect.stderr}`);
    config = JSON.parse(inspect.stdout) as ImageConfig;

    world = createWorld({ preset: 'tiny', seed: 1 });
    fake = await startFakeCircleCi({ world, host: '127.0.0.1', port: 0 });
    dataDir = mkdtempSync(join(tmpdir(), 'source-circleci-docker-'));
    chmodSync(dataDir, 0o755);
  }, RUN_TIMEOUT_MS);

  afterAll(async () => {
    await fake?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const goodConfig = (): Record<string, unknown> => ({
    api_token: world.token,
    project_slugs: [world.projectSlugs()[0]],
    start_date: '2020-01-01T00:00:00Z',
    api_url: fake.url,
    max_concurrency: 4,
  });

  describe('image metadata', () => {
    it('labels equal metadata.yaml and package.json', () => {
      expect(metadata.metadataSpecVersion).toBe('1.0');
      expect(metadata.data.dockerImageTag).toBe(pkg.version);
      expect(config.Labels?.['io.airbyte.name']).toBe(metadata.data.dockerRepository);
      expect(config.Labels?.['io.airbyte.version']).toBe(metadata.data.dockerImageTag);
      expect(config.Labels?.['io.airbyte.version']).toBe(pkg.version);
    });

    it('AIRBYTE_ENTRYPOINT equals the ENTRYPOINT joined by spaces, with absolute paths', () => {
      const env = (config.Env ?? []).find((e) => e.startsWith('AIRBYTE_ENTRYPOINT='));
      expect(env).toBeDefined();
      const airbyteEntrypoint = env!.slice('AIRBYTE_ENTRYPOINT='.length);
      const entrypoint = config.Entrypoint ?? [];
      expect(entrypoint.length).toBeGreaterThan(0);
      expect(airbyteEntrypoint).toBe(entrypoint.join(' '));
      // The executable and every path argument are absolute.
      expect(entrypoint[0]).toMatch(/^\//);
      for (const arg of entrypoint.slice(1).filter((a) => !a.startsWith('-'))) expect(arg).toMatch(/^\//);
      // No CMD to be appended behind Airbyte's arguments.
      expect(config.Cmd ?? []).toEqual([]);
    });

    it('runs as the non-root node user', async () => {
      expect(['', 'root', '0', '0:0', 'root:root']).not.toContain(config.User ?? '');
      const id = await docker(['run', '--rm', '--entrypoint', '/bin/sh', IMAGE, '-c', 'id -u; id -un']);
      expect(id.code).toBe(0);
      const [uid, user] = id.stdout.trim().split('\n');
      expect(uid).not.toBe('0');
      expect(user).toBe('node');
    });

    it('holds Node 24, compiled dist/src, production dependencies only and no npm cache', async () => {
      // node [V8 flags] /airbyte/integration_code/dist/src/main.js
      const entrypoint = config.Entrypoint ?? [];
      const [nodeBin, mainJs] = [entrypoint[0], entrypoint.at(-1)];
      expect(mainJs).toMatch(/\/dist\/src\/main\.js$/);
      const packageRoot = mainJs!.replace(/\/dist\/src\/main\.js$/, '');
      const script = [
        `${nodeBin} --version`,
        `cd '${packageRoot}'`,
        'echo "dist:" $(ls -A dist)',
        'echo "root:" $(ls -A .)',
        'echo "modules:" $(cd node_modules && ls -d * @*/* 2>/dev/null)',
        'echo "caches:" $(ls -A /root/.npm /home/node/.npm /tmp 2>/dev/null | grep -v ":$")',
        'echo "sources:" $(find dist -name "*.map" -o -name "*.ts" | head -3)',
      ].join('\n');
      const run = await docker(['run', '--rm', '--user', '0', '--entrypoint', '/bin/sh', IMAGE, '-c', script]);
      expect(run.code).toBe(0);
      const lines = run.stdout.trim().split('\n');
      const field = (key: string): string[] =>
        (lines.find((l) => l.startsWith(`${key}:`)) ?? `${key}:`).slice(key.length + 1).trim().split(/\s+/).filter(Boolean);
      expect(lines[0]).toMatch(/^v24\./);
      // dist/src only: no dist/test, dist/tools, tsbuildinfo, source maps or TypeScript.
      expect(field('dist')).toEqual(['src']);
      expect(field('sources')).toEqual([]);
      expect(field('root')).toEqual(expect.arrayContaining(['dist', 'node_modules', 'package.json', 'spec.json']));
      const modules = field('modules');
      for (const dep of ['got', 'bottleneck', 'zod', 'dayjs']) expect(modules).toContain(dep);
      // No devDependency, in particular not the `node` package with its second Node binary.
      expect(modules.filter((m) => Object.hasOwn(pkg.devDependencies ?? {}, m))).toEqual([]);
      expect(field('caches')).toEqual([]);
    });
  });

  describe('commands through docker run', () => {
    it('spec prints exactly one line: SPEC equal to spec.json', async () => {
      const run = await runConnector(['spec']);
      expect(run.stdout.replace(/\n$/, '').split('\n')).toHaveLength(1);
      expect(run.messages).toHaveLength(1);
      expect(run.messages[0]!.type).toBe('SPEC');
      expect(run.messages[0]!.spec).toEqual(spec);
    }, RUN_TIMEOUT_MS);

    it('check with a good config: exactly one CONNECTION_STATUS SUCCEEDED', async () => {
      const path = writeData('config.json', goodConfig());
      const run = await runConnector(['check', '--config', path], dataDir);
      const statuses = ofType(run.messages, 'CONNECTION_STATUS');
      expect(statuses).toHaveLength(1);
      expect(statuses[0]!.connectionStatus).toMatchObject({ status: 'SUCCEEDED' });
      expect(run.stdout + run.stderr).not.toContain(world.token);
    }, RUN_TIMEOUT_MS);

    it('check with a bad token: exactly one CONNECTION_STATUS FAILED naming the token', async () => {
      const badToken = `CCIPAT_INVALID_${'f'.repeat(40)}`;
      const path = writeData('bad-config.json', { ...goodConfig(), api_token: badToken });
      const run = await runConnector(['check', '--config', path], dataDir);
      const statuses = ofType(run.messages, 'CONNECTION_STATUS');
      expect(statuses).toHaveLength(1);
      expect(statuses[0]!.connectionStatus.status).toBe('FAILED');
      expect(String(statuses[0]!.connectionStatus.message)).toMatch(/token/i);
      expect(run.stdout + run.stderr).not.toContain(badToken);
    }, RUN_TIMEOUT_MS);

    let catalog: Message | undefined;

    it('discover: exactly one CATALOG with every stream', async () => {
      const path = writeData('config.json', goodConfig());
      const run = await runConnector(['discover', '--config', path], dataDir);
      const catalogs = ofType(run.messages, 'CATALOG');
      expect(catalogs).toHaveLength(1);
      const names = (catalogs[0]!.catalog.streams as Array<{ name: string }>).map((s) => s.name);
      expect(names).toHaveLength(STREAM_NAMES.length);
      expect([...names].sort()).toEqual([...STREAM_NAMES].sort());
      catalog = catalogs[0]!.catalog;
    }, RUN_TIMEOUT_MS);

    it('read of a few streams emits RECORD and STATE lines, and resumes from --state', async () => {
      expect(catalog).toBeDefined();
      const wanted = ['collaborations', 'project', 'pipelines'];
      const configured = {
        streams: (catalog!.streams as Message[])
          .filter((s) => wanted.includes(s.name as string))
          .map((stream) => {
            const incremental = (stream.supported_sync_modes as string[]).includes('incremental');
            return {
              stream,
              sync_mode: incremental ? 'incremental' : 'full_refresh',
              destination_sync_mode: incremental ? 'append_dedup' : 'overwrite',
              ...(incremental && stream.default_cursor_field ? { cursor_field: stream.default_cursor_field } : {}),
              ...(stream.source_defined_primary_key ? { primary_key: stream.source_defined_primary_key } : {}),
            };
          }),
      };
      expect(configured.streams).toHaveLength(wanted.length);
      const configPath = writeData('config.json', goodConfig());
      const catalogPath = writeData('catalog.json', configured);

      const first = await runConnector(['read', '--config', configPath, '--catalog', catalogPath], dataDir);
      const records = ofType(first.messages, 'RECORD');
      const states = ofType(first.messages, 'STATE');
      expect(records.length).toBeGreaterThan(0);
      expect(states.length).toBeGreaterThanOrEqual(wanted.length);
      for (const name of wanted) {
        expect(records.filter((m) => m.record.stream === name).length).toBeGreaterThan(0);
        expect(states.filter((m) => m.state.stream?.stream_descriptor?.name === name).length).toBeGreaterThan(0);
      }
      expect(ofType(first.messages, 'TRACE', 'ERROR')).toEqual([]);
      expect(first.stdout + first.stderr).not.toContain(world.token);

      // The last state per stream, as the platform passes it to the next sync.
      const last = new Map<string, unknown>();
      for (const m of states) last.set(m.state.stream.stream_descriptor.name, m.state);
      const statePath = writeData('state.json', [...last.values()]);
      const second = await runConnector(['read', '--config', configPath, '--catalog', catalogPath, '--state', statePath], dataDir);
      expect(ofType(second.messages, 'STATE').length).toBeGreaterThanOrEqual(wanted.length);
      expect(ofType(second.messages, 'TRACE', 'ERROR')).toEqual([]);
    }, 2 * RUN_TIMEOUT_MS);
  });
});
