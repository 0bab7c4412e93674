/**
 * Internal knobs that users have no reason to turn but tests do: how often a long
 * project walk checkpoints. Read from the environment so that child processes and the
 * Docker image can be tuned the same way as in-process runs.
 */
export function checkpointRecords(): number {
  const value = Number(process.env.SOURCE_CIRCLECI_CHECKPOINT_RECORDS);
  return Number.isInteger(value) && value > 0 ? value : DEFAULT_CHECKPOINT_RECORDS;
}

/** Checkpoint within a project at the first page boundary after this many records. */
export const DEFAULT_CHECKPOINT_RECORDS = 1000;
