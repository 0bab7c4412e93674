// The command prefix that starts a Node script in the benchmark: the project's pinned Node,
// optionally held to some CPUs with taskset so the connector and the fake API do not share
// a core.

import { nodeBinary } from '../acceptance/connector-process.js';

/** `[taskset -c <cpus>] <node>`: what comes before the Node flags and the script. */
export function nodeCommand(cpus?: string): string[] {
  const node = nodeBinary();
  return cpus === undefined ? [node] : ['taskset', '-c', cpus, node];
}
