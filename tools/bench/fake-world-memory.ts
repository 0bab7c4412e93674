// How much heap the fake's benchmark world costs: it derives ~1M jobs on demand instead of
// holding them, which is what lets the benchmark's large rows run the fake in one process.
// Measured in a child process of its own (a clean heap, --expose-gc), not by a test: memory
// depends on the machine and V8, so it is a benchmark figure with a target.
//
//   node --expose-gc dist/tools/bench/fake-world-memory.js      → one JSON line on stdout

import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createCore } from '../fake-circleci/dispatch.js';
import { createWorld, presets } from '../fake-circleci/world.js';
import { nodeBinary } from '../acceptance/connector-process.js';

/** Heap growth allowed for the benchmark world with its last project's oldest pipelines read. */
export const FAKE_WORLD_HEAP_TARGET_MB = 60;

export interface FakeWorldMemory {
  pipelines: number;
  heapMb: number;
}

/** Runs the measurement in a child process; the row the bench prints. */
export function measureFakeWorldMemory(): { text: string; met: boolean; figures: FakeWorldMemory } {
  const script = fileURLToPath(import.meta.url);
  const figures = JSON.parse(execFileSync(nodeBinary(), ['--expose-gc', script], { encoding: 'utf8' })) as FakeWorldMemory;
  const met = figures.heapMb <= FAKE_WORLD_HEAP_TARGET_MB;
  const text =
    `fake world, benchmark preset (${figures.pipelines.toLocaleString('en-US')} pipelines, ~1M jobs): heap +${figures.heapMb.toFixed(1)} MB ` +
    `after reading the last project's oldest pipelines (target ≤ ${FAKE_WORLD_HEAP_TARGET_MB} MB: ${met ? 'met' : 'NOT MET'})`;
  return { text, met, figures };
}

const retained: unknown[] = [];

async function measure(): Promise<FakeWorldMemory> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc');
  gc();
  const before = process.memoryUsage().heapUsed;
  const world = createWorld({ preset: 'benchmark', seed: 9 });
  const core = createCore({ world });
  const last = world.projects.at(-1)!;
  const ask = async (path: string) => {
    const out = await core.handle({ method: 'GET', path, headers: { 'circle-token': world.token } });
    if (out.kind !== 'response' || out.status !== 200) throw new Error(`GET ${path} did not answer 200`);
    return JSON.parse(out.body) as { items: Array<Record<string, unknown>> };
  };
  await ask(`/api/v2/project/${last.slug}/pipeline`);
  for (const n of [1, 2, 3]) {
    for (const workflow of (await ask(`/api/v2/pipeline/${world.pipelineId(last, n)}/workflow`)).items) await ask(`/api/v2/workflow/${String(workflow.id)}/job`);
  }
  retained.push(world, core); // measured while still reachable: the GC must not take the world itself
  gc();
  const heapMb = (process.memoryUsage().heapUsed - before) / 2 ** 20;
  return { pipelines: presets.benchmark.pipelinesPerProject * world.projects.length, heapMb };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.stdout.write(`${JSON.stringify(await measure())}\n`);
