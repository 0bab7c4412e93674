/**
 * JSON schemas of the streams, generated from the CircleCI OpenAPI spec by
 * tools/schemas/derive-stream-schemas.ts. Do not edit the *.json files by hand:
 * change the generator and run `npm run build && node dist/tools/schemas/derive-stream-schemas.js`.
 */
import collaborations from './collaborations.json' with { type: 'json' };
import context from './context.json' with { type: 'json' };
import deploy from './deploy.json' with { type: 'json' };
import groups from './groups.json' with { type: 'json' };
import job_details from './job_details.json' with { type: 'json' };
import jobs from './jobs.json' with { type: 'json' };
import pipeline_definition from './pipeline_definition.json' with { type: 'json' };
import pipelines from './pipelines.json' with { type: 'json' };
import project from './project.json' with { type: 'json' };
import schedule from './schedule.json' with { type: 'json' };
import tests from './tests.json' with { type: 'json' };
import trigger from './trigger.json' with { type: 'json' };
import workflows from './workflows.json' with { type: 'json' };
// Not in the OpenAPI spec: built from its column table (usage-columns.ts), not generated.
import { usageSchema as usage } from './usage-columns.js';
import deploy_components from './deploy_components.json' with { type: 'json' };
import deploy_component_versions from './deploy_component_versions.json' with { type: 'json' };
import project_env_vars from './project_env_vars.json' with { type: 'json' };
import project_checkout_keys from './project_checkout_keys.json' with { type: 'json' };
import context_env_vars from './context_env_vars.json' with { type: 'json' };
import webhooks from './webhooks.json' with { type: 'json' };
import insights_workflows from './insights_workflows.json' with { type: 'json' };
import insights_jobs from './insights_jobs.json' with { type: 'json' };
import insights_workflow_runs from './insights_workflow_runs.json' with { type: 'json' };
import flaky_tests from './flaky_tests.json' with { type: 'json' };
import insights_org_summary from './insights_org_summary.json' with { type: 'json' };

import type { StreamJsonSchema, StreamName } from './types.js';

export { STREAM_NAMES } from './types.js';
export type { JsonSchemaTypeName, StreamJsonSchema, StreamName } from './types.js';

export const streamSchemas: Record<StreamName, StreamJsonSchema> = {
  collaborations,
  context,
  deploy,
  groups,
  job_details,
  jobs,
  pipeline_definition,
  pipelines,
  project,
  schedule,
  tests,
  trigger,
  workflows,
  usage,
  deploy_components,
  deploy_component_versions,
  project_env_vars,
  project_checkout_keys,
  context_env_vars,
  webhooks,
  insights_workflows,
  insights_jobs,
  insights_workflow_runs,
  flaky_tests,
  insights_org_summary,
};
