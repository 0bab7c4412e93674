/**
 * Stream names and the shape of the generated stream schemas.
 *
 * Kept free of JSON imports so that the schema generator
 * (tools/schemas/derive-stream-schemas.ts) can import it even when the generated
 * `*.json` files are missing or stale.
 */

export const STREAM_NAMES = [
  'collaborations',
  'context',
  'deploy',
  'groups',
  'job_details',
  'jobs',
  'pipeline_definition',
  'pipelines',
  'project',
  'schedule',
  'tests',
  'trigger',
  'workflows',
  'usage',
  'deploy_components',
  'deploy_component_versions',
  'project_env_vars',
  'project_checkout_keys',
  'context_env_vars',
  'webhooks',
  'insights_workflows',
  'insights_jobs',
  'insights_workflow_runs',
  'flaky_tests',
  'insights_org_summary',
] as const;

export type StreamName = (typeof STREAM_NAMES)[number];

export type JsonSchemaTypeName = 'string' | 'integer' | 'number' | 'boolean' | 'object' | 'array' | 'null';

/**
 * The subset of JSON Schema draft-07 the generated stream schemas use
 * (a JSONSchema7-like object). No $ref, allOf, anyOf, oneOf, not or enum;
 * `additionalProperties` is always `true` on objects.
 */
export interface StreamJsonSchema {
  $schema?: string;
  description?: string;
  type?: string | readonly string[];
  format?: string;
  additionalProperties?: boolean;
  required?: readonly string[];
  properties?: { readonly [name: string]: StreamJsonSchema };
  items?: StreamJsonSchema;
}
