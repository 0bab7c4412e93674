// Runs the BUILT connector as its own process (`node dist/src/main.js read ...`), its
// stdout piped into a sink that counts lines and records and discards them, its peak RSS
// taken from the OS: GNU time's "Maximum resident set size" when /usr/bin/time exists,
// otherwise VmHWM polled from /proc/<pid>/status.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { connectorEntryPoint } from '../acceptance/connector-process.js';
import { nodeCommand } from './node-command.js';

export interface ConnectorRunOptions {
  config: Record<string, unknown>;
  catalog: unknown;
  state?: unknown;
  /** Pin the connector to these CPUs (taskset), e.g. "0". */
  cpus?: string;
  env?: Record<string, string>;
  /** V8/Node flags before the script, e.g. --max-semi-space-size=16. */
  nodeFlags?: string[];
}

export interface ConnectorRunResult {
  exitCode: number;
  wallMs: number;
  lines: number;
  records: number;
  /** Bytes of the RECORD and STATE lines (newline included), and the STATE messages: the state's volume against the data's. */
  recordBytes: number;
  stateBytes: number;
  stateMessages: number;
  /** The last STATE message of each stream, as the next sync would get it. */
  lastStates: Map<string, unknown>;
  errors: string[];
  lastLogs: string[];
  /** The governor's LOG lines ("rate A → B: why"), each with the seconds since the run began. */
  rateChanges: string[];
  peakRssKb: number | undefined;
  rssSource: string;
  /** User + system CPU seconds of the connector (GNU time); undefined without /usr/bin/time. */
  cpuSeconds: number | undefined;
}

const TIME = '/usr/bin/time';
const RECORD_PREFIX = Buffer.from('{"type":"RECORD"');
const STATE_PREFIX = Buffer.from('{"type":"STATE"');
const NEWLINE = 0x0a;

/** Counts protocol lines without parsing records: a record is only recognised by its prefix. */
class CountingSink {
  lines = 0;
  records = 0;
  recordBytes = 0;
  stateBytes = 0;
  stateMessages = 0;
  readonly lastStates = new Map<string, unknown>();
  readonly errors: string[] = [];
  readonly lastLogs: string[] = [];
  readonly rateChanges: string[] = [];
  private readonly startedAt = Date.now();
  private carry: Buffer = Buffer.alloc(0);

  write(chunk: Buffer): void {
    const data = this.carry.length > 0 ? Buffer.concat([this.carry, chunk]) : chunk;
    let start = 0;
    for (let end = data.indexOf(NEWLINE, start); end !== -1; end = data.indexOf(NEWLINE, start)) {
      this.line(data, start, end);
      start = end + 1;
    }
    this.carry = start < data.length ? Buffer.from(data.subarray(start)) : Buffer.alloc(0);
  }

  end(): void {
    if (this.carry.length > 0) this.line(this.carry, 0, this.carry.length);
  }

  private line(data: Buffer, start: number, end: number): void {
    this.lines += 1;
    if (data.compare(RECORD_PREFIX, 0, RECORD_PREFIX.length, start, start + RECORD_PREFIX.length) === 0) {
      this.records += 1;
      this.recordBytes += end - start + 1;
      return;
    }
    const text = data.toString('utf8', start, end);
    if (data.compare(STATE_PREFIX, 0, STATE_PREFIX.length, start, start + STATE_PREFIX.length) === 0) {
      this.stateMessages += 1;
      this.stateBytes += end - start + 1;
      const message = JSON.parse(text) as { state: { stream: { stream_descriptor: { name: string } } } };
      this.lastStates.set(message.state.stream.stream_descriptor.name, message.state);
      return;
    }
    if (text.includes('"type":"ERROR"')) this.errors.push(text.slice(0, 400));
    if (text.startsWith('{"type":"LOG"')) {
      this.lastLogs.push(text.slice(0, 300));
      if (this.lastLogs.length > 20) this.lastLogs.shift();
      const message = (JSON.parse(text) as { log: { message: string } }).log.message;
      if (message.startsWith('rate ')) this.rateChanges.push(`${((Date.now() - this.startedAt) / 1000).toFixed(1)} s ${message}`);
    }
  }
}

export async function runConnector(options: ConnectorRunOptions): Promise<ConnectorRunResult> {
  const dir = mkdtempSync(join(tmpdir(), 'source-circleci-bench-'));
  const write = (name: string, value: unknown): string => {
    const path = join(dir, name);
    writeFileSync(path, JSON.stringify(value));
    return path;
  };
  const args = [...(options.nodeFlags ?? []), connectorEntryPoint(), 'read', '--config', write('config.json', options.config), '--catalog', write('catalog.json', options.catalog)];
  if (options.state !== undefined) args.push('--state', write('state.json', options.state));
  const pinned = nodeCommand(options.cpus);
  const useTime = existsSync(TIME);
  const command = useTime ? [TIME, '-v', ...pinned, ...args] : [...pinned, ...args];
  const sink = new CountingSink();
  const started = performance.now();
  const child = spawn(command[0]!, command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env } });
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => sink.write(chunk));
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
    if (stderr.length > 200_000) stderr = stderr.slice(-100_000);
  });
  let polledHwmKb: number | undefined;
  const poll = useTime ? undefined : setInterval(() => (polledHwmKb = readHwm(child.pid) ?? polledHwmKb), 50);
  const exitCode = await new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
  const wallMs = performance.now() - started;
  if (poll) clearInterval(poll);
  sink.end();
  const userCpu = /User time \(seconds\): ([\d.]+)/.exec(stderr);
  const systemCpu = /System time \(seconds\): ([\d.]+)/.exec(stderr);
  const fromTime = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
  const timedExit = useTime ? /Exit status: (\d+)/.exec(stderr) : null;
  const connectorStderr = useTime ? stderr.replace(/\tCommand being timed:[\s\S]*$/, '').trim() : stderr.trim();
  if (connectorStderr) sink.errors.push(`stderr: ${connectorStderr.slice(0, 400)}`);
  return {
    exitCode: timedExit ? Number(timedExit[1]) : exitCode,
    wallMs,
    lines: sink.lines,
    records: sink.records,
    recordBytes: sink.recordBytes,
    stateBytes: sink.stateBytes,
    stateMessages: sink.stateMessages,
    lastStates: sink.lastStates,
    errors: sink.errors,
    lastLogs: sink.lastLogs,
    rateChanges: sink.rateChanges,
    peakRssKb: fromTime ? Number(fromTime[1]) : polledHwmKb,
    rssSource: fromTime ? '/usr/bin/time -v' : 'VmHWM of /proc/<pid>/status',
    cpuSeconds: userCpu && systemCpu ? Number(userCpu[1]) + Number(systemCpu[1]) : undefined,
  };
}

function readHwm(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}
