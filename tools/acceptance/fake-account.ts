/**
 * The fake CircleCI account the acceptance files describe: one world, fixed preset and
 * seed, so integration_tests/ (sample config, abnormal state, expected records) can be
 * generated from it and checked against a fresh generation, and the local acceptance
 * suite can serve exactly that world on loopback.
 *
 * The same world from the command line (for the official suite against the fake):
 *   node dist/tools/fake-circleci/cli.js --size tiny --seed 1 --port 8787
 */
import { configureUsageExport, createWorld, type World } from '../fake-circleci/index.js';

export const ACCEPTANCE_PRESET = 'tiny' as const;
export const ACCEPTANCE_SEED = 1;
/** The port written into integration_tests/sample_config.json; the local suite replaces it with the port it listens on. */
export const SAMPLE_CONFIG_PORT = 8787;
/** Before every record of the fake world: a full read covers all of it. */
export const ACCEPTANCE_START_DATE = '2020-01-01T00:00:00Z';
/** A cursor value no record of any account will reach. */
export const FAR_FUTURE = '2999-12-31T23:59:59.000Z';

export function acceptanceWorld(): World {
  const world = createWorld({ preset: ACCEPTANCE_PRESET, seed: ACCEPTANCE_SEED });
  // Every full read exports 13 months (13 jobs per organization, over CircleCI's ~10 per
  // hour) and the built connector waits for real between polls: here jobs are ready at
  // the first poll and not limited. Waits, limits and pending jobs: test/read/usage.test.ts.
  configureUsageExport(world, { createdPolls: 0, processingPolls: 0, postsPerHour: 1_000 });
  return world;
}

/** The host root of the fake API on a loopback port (what `api_url` holds). */
export function loopbackUrl(port: number): string {
  return `http://127.0.0.1:${port}`;
}
