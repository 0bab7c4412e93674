#!/usr/bin/env node
/**
 * Writes integration_tests/ for the acceptance tests.
 *
 *   node dist/tools/acceptance/generate.js
 *       Renders every generated file from the fake acceptance world (tiny preset, seed 1):
 *       sample_config.json, invalid_config.json, configured_catalog.json,
 *       sample_state.json, abnormal_state.json, expected_records.jsonl.
 *   node dist/tools/acceptance/generate.js --check
 *       Writes nothing; exits 1 when a committed file differs from a fresh render.
 *   node dist/tools/acceptance/generate.js --real-config secrets/config.json [--max-per-stream 50]
 *       For the official suite against a real account: runs the built connector's full
 *       read with that config and rewrites expected_records.jsonl (the first records of
 *       each stream) and abnormal_state.json (every organization, project and configured
 *       slug of that account bookmarked far in the future). Prints counts only.
 *
 * --out DIR writes somewhere other than integration_tests/.
 */
import { mkdirSync, readFileSync, writeFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

import { acceptanceWorld } from './fake-account.js';
import { repoRoot } from '../repo-root.js';
import { parseLines, runBuiltConnector } from './connector-process.js';
import { FAR_FUTURE } from './fake-account.js';
import { clockDependent, renderIntegrationFiles, stateAt } from './integration-files.js';
import { workflowPartition } from '../../src/streams/insights.js';

const write = (text: string): boolean => process.stdout.write(text);

function differences(outDir: string, files: Map<string, string>): string[] {
  const stale: string[] = [];
  for (const [name, contents] of files) {
    const path = join(outDir, name);
    if (!existsSync(path) || readFileSync(path, 'utf8') !== contents) stale.push(name);
  }
  return stale;
}

/** A full read of a real account; only what the two account-specific files need. */
async function generateForRealAccount(configPath: string, outDir: string, maxPerStream: number): Promise<void> {
  const config = JSON.parse(readFileSync(configPath, 'utf8')) as { api_token?: string; project_slugs?: string[] };
  const token = typeof config.api_token === 'string' ? config.api_token : '';
  const work = mkdtempSync(join(tmpdir(), 'source-circleci-generate-'));
  try {
    const discover = await runBuiltConnector(['discover', '--config', configPath]);
    const catalog = parseLines(discover.stdout).find((m) => m.type === 'CATALOG')?.catalog as { streams: Array<Record<string, any>> } | undefined;
    if (discover.exitCode !== 0 || !catalog) throw new Error(`discover failed (exit ${discover.exitCode}); run check with this config first`);
    // basic_read reads the discovered catalog in each stream's first sync mode: full refresh.
    const configured = {
      streams: catalog.streams.map((stream) => ({ stream, sync_mode: 'full_refresh', destination_sync_mode: 'overwrite' })),
    };
    const catalogPath = join(work, 'catalog.json');
    writeFileSync(catalogPath, JSON.stringify(configured));
    const read = await runBuiltConnector(['read', '--config', configPath, '--catalog', catalogPath]);
    if (token !== '' && (read.stdout.includes(token) || read.stderr.includes(token))) throw new Error('the connector printed the API token; nothing written');
    const messages = parseLines(read.stdout);
    const error = messages.find((m) => m.type === 'TRACE' && m.trace.type === 'ERROR');
    if (read.exitCode !== 0 || error) throw new Error(`read failed (exit ${read.exitCode}): ${error?.trace.error.message ?? 'see the connector logs'}`);

    const byStream = new Map<string, Array<Record<string, any>>>();
    for (const m of messages.filter((m) => m.type === 'RECORD')) {
      const list = byStream.get(m.record.stream) ?? [];
      list.push(m.record);
      byStream.set(m.record.stream, list);
    }
    const lines: string[] = [];
    for (const stream of catalog.streams.filter((s) => !clockDependent(s.name))) {
      for (const record of (byStream.get(stream.name) ?? []).slice(0, maxPerStream)) {
        lines.push(JSON.stringify({ stream: record.stream, data: record.data, emitted_at: record.emitted_at }));
      }
    }
    const abnormal = stateAt(
      {
        organizationIds: (byStream.get('collaborations') ?? []).map((r) => String(r.data.id)),
        allProjectSlugs: (byStream.get('project') ?? []).map((r) => String(r.data.slug)),
        configuredSlugs: config.project_slugs ?? [],
        projectWorkflows: (byStream.get('insights_workflows') ?? []).map((r) => workflowPartition(String(r.data.project_slug), String(r.data.name))),
      },
      FAR_FUTURE,
    );
    writeFileSync(join(outDir, 'expected_records.jsonl'), lines.join('\n') + '\n');
    writeFileSync(join(outDir, 'abnormal_state.json'), JSON.stringify(abnormal, null, 2) + '\n');
    write(`wrote ${join(outDir, 'expected_records.jsonl')} (${lines.length} records)\n`);
    for (const stream of catalog.streams) write(`  ${stream.name}: ${Math.min(maxPerStream, byStream.get(stream.name)?.length ?? 0)}\n`);
    write(`wrote ${join(outDir, 'abnormal_state.json')} (${abnormal.length} incremental streams)\n`);
    write('Review expected_records.jsonl before committing it: it holds real account data.\n');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      check: { type: 'boolean', default: false },
      out: { type: 'string' },
      'real-config': { type: 'string' },
      'max-per-stream': { type: 'string', default: '50' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    write('Usage: generate.js [--check] [--out DIR] [--real-config secrets/config.json [--max-per-stream N]]\n');
    return 0;
  }
  const outDir = resolve(values.out ?? join(repoRoot(), 'integration_tests'));
  mkdirSync(outDir, { recursive: true });

  if (values['real-config'] !== undefined) {
    const max = Number(values['max-per-stream']);
    if (!Number.isInteger(max) || max < 1) throw new Error('--max-per-stream expects a positive integer');
    await generateForRealAccount(resolve(values['real-config']), outDir, max);
    return 0;
  }

  const files = renderIntegrationFiles(acceptanceWorld());
  if (values.check) {
    const stale = differences(outDir, files);
    if (stale.length === 0) {
      write(`integration_tests is current (${files.size} generated files)\n`);
      return 0;
    }
    write(`stale: ${stale.join(', ')}; run node dist/tools/acceptance/generate.js\n`);
    return 1;
  }
  for (const [name, contents] of files) writeFileSync(join(outDir, name), contents);
  write(`wrote ${[...files.keys()].join(', ')} to ${outDir}\n`);
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`generate: ${(error as Error).message}\n`);
    process.exitCode = 1;
  },
);
