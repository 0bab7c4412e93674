/**
 * Runs the built connector (dist/src/main.js) as a child process, the way a platform
 * would: arguments and JSON files in, protocol lines on stdout, logs on stderr. Used by
 * the generator's real-account mode, the demo and the local acceptance suite.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { repoRoot } from '../repo-root.js';

export interface ProcessResult {
  /** null when the process was killed (timeout, or `killAfterLines`). */
  exitCode: number | null;
  /** The signal that ended the process, if one did. */
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  durationMs: number;
  timedOut: boolean;
}

/** The built entry point; `npm run build` writes it. */
export function connectorEntryPoint(): string {
  const main = join(repoRoot(), 'dist', 'src', 'main.js');
  if (!existsSync(main)) throw new Error(`${main} does not exist: run npm run build first`);
  return main;
}

/**
 * The Node 24 the project pins (node_modules/.bin/node), else the running one: the host's
 * default `node` may be older than the connector's engines field.
 */
export function nodeBinary(): string {
  const pinned = join(repoRoot(), 'node_modules', '.bin', 'node');
  return existsSync(pinned) ? pinned : process.execPath;
}

export interface SpawnOptions {
  env?: Record<string, string>;
  cwd?: string;
  timeoutMs?: number;
  /** Called when the timeout fires, before the child is killed (e.g. `docker rm -f`). */
  onTimeout?: () => void;
  /**
   * SIGKILL the child as soon as this many stdout lines have arrived, as a platform killing
   * a sync mid-run would; lines already in the pipe still arrive and are collected.
   */
  killAfterLines?: number;
}

/** Spawns `command args...`, collects stdout and stderr, never rejects on a non-zero exit. */
export function spawnCollect(command: string, args: readonly string[], options: SpawnOptions = {}): Promise<ProcessResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env }, cwd: options.cwd });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let lines = 0;
    let killedAfterLines = false;
    child.stdout.on('data', (chunk: Buffer) => {
      out.push(chunk);
      if (options.killAfterLines === undefined || killedAfterLines) return;
      // A newline byte never occurs inside a multi-byte UTF-8 character: counting bytes counts lines.
      for (let i = chunk.indexOf(0x0a); i >= 0; i = chunk.indexOf(0x0a, i + 1)) lines += 1;
      if (lines >= options.killAfterLines) {
        killedAfterLines = true;
        child.kill('SIGKILL');
      }
    });
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    let timedOut = false;
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            options.onTimeout?.();
            child.kill('SIGKILL');
          }, options.timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        exitCode: code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        durationMs: Date.now() - started,
        timedOut,
      });
    });
  });
}

/** `node dist/src/main.js args...` */
export function runBuiltConnector(args: readonly string[], options: SpawnOptions = {}): Promise<ProcessResult> {
  return spawnCollect(nodeBinary(), [connectorEntryPoint(), ...args], options);
}

/** stdout split into parsed JSON lines (the caller validates them). */
export function parseLines(stdout: string): Array<Record<string, any>> {
  return stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, any>);
}
