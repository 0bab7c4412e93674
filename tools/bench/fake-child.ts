// Starts tools/bench/fake-process.js as a child process and talks to it over IPC.

import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../repo-root.js';
import type { FakeProcessInit, FakeReply, FakeRequestMessage } from './fake-process.js';
import type { WorldFigures } from './world-figures.js';
import type { StatsSnapshot } from '../fake-circleci/stats.js';
import { nodeCommand } from './node-command.js';

export interface FakeChild {
  url: string;
  token: string;
  slugs: string[];
  figures: WorldFigures;
  stats(): Promise<{ stats: StatsSnapshot; duplicateUrls: number; duplicateExample?: string; timeline: number[]; refusedAt: number[] }>;
  reset(): Promise<void>;
  /** Every running workflow finishes, then the world's clock moves on by `ms`. */
  settle(ms: number): Promise<void>;
  incrementalMinimum(unfinishedWorkflowIds: string[]): Promise<{ minimumByRoute: Record<string, number>; minimum: number }>;
  close(): Promise<void>;
}

export async function startFakeChild(init: FakeProcessInit, cpus?: string): Promise<FakeChild> {
  const [command, ...prefix] = nodeCommand(cpus);
  const script = join(repoRoot(), 'dist', 'tools', 'bench', 'fake-process.js');
  const child: ChildProcess = spawn(command!, [...prefix, script, JSON.stringify(init)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const replies: Array<(reply: FakeReply) => void> = [];
  child.on('message', (reply: FakeReply) => replies.shift()?.(reply));
  const next = <T extends FakeReply['type']>(type: T): Promise<Extract<FakeReply, { type: T }>> =>
    new Promise((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`the fake API exited (${code}) before answering ${type}`));
      child.once('exit', onExit);
      replies.push((reply) => {
        child.off('exit', onExit);
        if (reply.type !== type) reject(new Error(`expected ${type} from the fake API, got ${reply.type}`));
        else resolve(reply as Extract<FakeReply, { type: T }>);
      });
    });
  const ask = <T extends FakeReply['type']>(message: FakeRequestMessage, type: T) => {
    const reply = next(type);
    child.send(message);
    return reply;
  };
  const ready = await next('ready');
  return {
    url: ready.url,
    token: ready.token,
    slugs: ready.slugs,
    figures: ready.figures,
    stats: async () => {
      const { stats, duplicateUrls, duplicateExample, timeline, refusedAt } = await ask({ type: 'stats' }, 'stats');
      return { stats, duplicateUrls, timeline, refusedAt, ...(duplicateExample ? { duplicateExample } : {}) };
    },
    reset: async () => {
      await ask({ type: 'reset' }, 'reset-done');
    },
    settle: async (ms) => {
      await ask({ type: 'settle', ms }, 'settled');
    },
    incrementalMinimum: async (ids) => {
      const { minimumByRoute, minimum } = await ask({ type: 'incremental-minimum', unfinishedWorkflowIds: ids }, 'incremental-minimum');
      return { minimumByRoute, minimum };
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.disconnect?.();
        setTimeout(() => child.kill('SIGTERM'), 2000).unref();
      }),
  };
}
