/**
 * The usage export's columns, the one source of truth for the `usage` stream's schema and
 * for typing its CSV values. The export is not in CircleCI's OpenAPI spec (the spec only
 * describes the job that produces it), so this table is written by hand and the schema
 * generator leaves the stream alone.
 *
 * SOURCES: CircleCI's "Usage API" docs page (the documented columns: organization_*,
 * project_*, vcs_*, pipeline_*, workflow_*, job_*, resource class, utilisation, credits);
 * CircleCI changelog "New fields being introduced to Usage API" (JOB_RUN_QUEUED_AT,
 * JOB_RUN_STARTED_AT, JOB_RUN_STOPPED_AT, August 2024); the files' header as public
 * readers of them show it (ORGANIZATION_CREATED_DATE, PROJECT_CREATED_DATE,
 * LAST_BUILD_FINISHED_AT). The fake (tools/fake-circleci/usage-export.ts) serves the same 48.
 * Files name columns in upper case; records use them in lower case.
 */
import type { StreamJsonSchema } from './types.js';

export type UsageColumnType = 'string' | 'integer' | 'number' | 'boolean' | 'timestamp' | 'date';

export const USAGE_COLUMNS: ReadonlyArray<readonly [name: string, type: UsageColumnType, description: string]> = [
  ['ORGANIZATION_ID', 'string', 'UUID of the organization.'],
  ['ORGANIZATION_NAME', 'string', 'Name of the organization.'],
  ['ORGANIZATION_CREATED_DATE', 'timestamp', 'When the organization was created.'],
  ['PROJECT_ID', 'string', 'UUID of the project.'],
  ['PROJECT_NAME', 'string', 'Name of the project.'],
  ['PROJECT_CREATED_DATE', 'timestamp', 'When the project was created.'],
  ['LAST_BUILD_FINISHED_AT', 'timestamp', 'When the last build of the project finished, as of the export.'],
  ['VCS_NAME', 'string', 'Version control system (github, bitbucket, ...).'],
  ['VCS_URL', 'string', 'URL of the repository.'],
  ['VCS_BRANCH', 'string', 'Branch the pipeline ran on (null for tags).'],
  ['PIPELINE_ID', 'string', 'UUID of the pipeline.'],
  ['PIPELINE_CREATED_AT', 'timestamp', 'When the pipeline was created.'],
  ['PIPELINE_NUMBER', 'integer', 'Number of the pipeline in its project.'],
  ['IS_UNREGISTERED_USER', 'boolean', 'Whether the pipeline was triggered by a user without a CircleCI account.'],
  ['PIPELINE_TRIGGER_SOURCE', 'string', 'What triggered the pipeline (webhook, api, schedule, ...).'],
  ['PIPELINE_TRIGGER_USER_ID', 'string', 'UUID of the user who triggered the pipeline.'],
  ['WORKFLOW_ID', 'string', 'UUID of the workflow.'],
  ['WORKFLOW_NAME', 'string', 'Name of the workflow.'],
  ['WORKFLOW_FIRST_JOB_QUEUED_AT', 'timestamp', 'When the first job of the workflow was queued.'],
  ['WORKFLOW_FIRST_JOB_STARTED_AT', 'timestamp', 'When the first job of the workflow started.'],
  ['WORKFLOW_STOPPED_AT', 'timestamp', 'When the workflow stopped.'],
  ['IS_WORKFLOW_SUCCESSFUL', 'boolean', 'Whether the workflow succeeded.'],
  ['JOB_NAME', 'string', 'Name of the job.'],
  ['JOB_RUN_NUMBER', 'integer', 'Number of the job run in its project.'],
  ['JOB_ID', 'string', 'UUID of the job run.'],
  ['JOB_RUN_DATE', 'date', 'UTC day the job run started.'],
  ['JOB_RUN_QUEUED_AT', 'timestamp', 'When the job run was queued.'],
  ['JOB_RUN_STARTED_AT', 'timestamp', 'When the job run started.'],
  ['JOB_RUN_STOPPED_AT', 'timestamp', 'When the job run stopped.'],
  ['JOB_BUILD_STATUS', 'string', 'Outcome of the job run (success, failed, canceled, ...).'],
  ['RESOURCE_CLASS', 'string', 'Resource class the job ran on.'],
  ['OPERATING_SYSTEM', 'string', 'Operating system of the executor.'],
  ['EXECUTOR', 'string', 'Executor type (docker, machine, macos, ...).'],
  ['PARALLELISM', 'integer', 'Parallelism of the job run.'],
  ['JOB_RUN_SECONDS', 'integer', 'Run time of the job in seconds.'],
  ['MEDIAN_CPU_UTILIZATION_PCT', 'number', 'Median CPU utilisation during the run, percent.'],
  ['MAX_CPU_UTILIZATION_PCT', 'number', 'Maximum CPU utilisation during the run, percent.'],
  ['MEDIAN_RAM_UTILIZATION_PCT', 'number', 'Median RAM utilisation during the run, percent.'],
  ['MAX_RAM_UTILIZATION_PCT', 'number', 'Maximum RAM utilisation during the run, percent.'],
  ['COMPUTE_CREDITS', 'number', 'Credits for compute.'],
  ['DLC_CREDITS', 'number', 'Credits for Docker layer caching.'],
  ['USER_CREDITS', 'number', 'Credits for active users.'],
  ['STORAGE_CREDITS', 'number', 'Credits for storage.'],
  ['NETWORK_CREDITS', 'number', 'Credits for network egress.'],
  ['LEASE_CREDITS', 'number', 'Credits for leases.'],
  ['LEASE_OVERAGE_CREDITS', 'number', 'Credits for lease overage.'],
  ['IPRANGES_CREDITS', 'number', 'Credits for the IP ranges feature.'],
  ['TOTAL_CREDITS', 'number', 'All credits of the job run.'],
];

/** Primary key and cursor of the stream (record field names). */
export const USAGE_PRIMARY_KEY = ['job_id'] as const;
export const USAGE_CURSOR = 'job_run_started_at';

function columnSchema(type: UsageColumnType, description: string, required: boolean): StreamJsonSchema {
  const json = type === 'timestamp' || type === 'date' ? 'string' : type;
  const schema: StreamJsonSchema = { description, type: required ? json : [json, 'null'] };
  if (type === 'timestamp') schema.format = 'date-time';
  if (type === 'date') schema.format = 'date';
  return schema;
}

const REQUIRED: readonly string[] = [...USAGE_PRIMARY_KEY, USAGE_CURSOR];

export const usageSchema: StreamJsonSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  description: "One job run of CircleCI's usage export (credits, compute time, utilisation), written from its documented columns (src/streams/schemas/usage-columns.ts).",
  type: 'object',
  additionalProperties: true,
  required: REQUIRED,
  properties: Object.fromEntries(
    USAGE_COLUMNS.map(([name, type, description]) => {
      const field = name.toLowerCase();
      return [field, columnSchema(type, description, REQUIRED.includes(field))];
    }),
  ),
};
