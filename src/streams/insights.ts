import { defineStream, slugParam, text, type AddedField, type AnyStreamDeclaration, type ApiRecord, type Listing } from './declaration.js';
import { PER_PROJECT_ROOT } from './scope.js';

/**
 * CircleCI Insights. Metrics are snapshots: each record carries the reporting window it
 * describes and the sync that took it (`_synced_at`, one value per sync), so a destination
 * in append mode accumulates their history. Project-level streams cover the projects in
 * scope (as the pipelines do); the organization summary hangs under `collaborations`.
 * A plan without Insights answers 403 for a project: that part fails (the stream ends
 * INCOMPLETE, with a warning saying why), the others sync; a 404 reads as empty, with a warning.
 */

/**
 * The window every metrics request asks for: the widest, and the one that finds every
 * workflow name with runs Insights still keeps (runs go back 90 days), which the jobs and
 * runs streams are listed under.
 */
export const REPORTING_WINDOW = 'last-90-days';

const SYNCED_AT: AddedField = {
  description: 'Injected by the connector: when the sync that took this snapshot started (one value for the whole sync).',
  format: 'date-time',
};
const REPORTING: AddedField = { description: 'Injected by the connector: the reporting window the metrics cover (the request\'s reporting-window).' };
const PROJECT_SLUG: AddedField = { description: 'Injected by the connector: the slug of the project.' };
const WORKFLOW_NAME: AddedField = { description: 'Injected by the connector: the name of the workflow.' };

const FORBIDDEN = "Insights is not available on this plan, or the token's user cannot see the project; deselect the Insights streams if the plan lacks Insights, or use a token whose user can see the project";
const notFound = (what: string) => (parent: ApiRecord, path: string) =>
  `${what} ${text(parent.slug ?? parent.project_slug)} answered 404 (GET ${path}); nothing was read for it.`;

/** Every branch: the API's default is the default branch only. */
export const ALL_BRANCHES = { 'all-branches': 'true' } as const;
/** The metrics every summary request asks for: every branch, over the reporting window. */
export const metricsQuery = () => ({ ...ALL_BRANCHES, 'reporting-window': REPORTING_WINDOW });
const snapshot = (listing: Listing) => ({ _reporting_window: REPORTING_WINDOW, _synced_at: listing.syncedAt });

const insightsWorkflows = defineStream({
  name: 'insights_workflows',
  primaryKey: ['project_slug', 'name', '_reporting_window', '_synced_at'],
  parent: null,
  ...PER_PROJECT_ROOT,
  endpoint: { path: '/insights/{project-slug}/workflows', shape: 'pages' },
  params: (proj) => ({ 'project-slug': slugParam(proj.slug) }),
  query: metricsQuery,
  adds: { project_slug: PROJECT_SLUG, _reporting_window: REPORTING, _synced_at: SYNCED_AT },
  enrich: (_item, proj, listing) => ({ project_slug: proj.slug, ...snapshot(listing) }),
  notFound: notFound('project'),
  forbidden: FORBIDDEN,
});

const workflowPath = (workflow: ApiRecord) => ({ 'project-slug': slugParam(workflow.project_slug), 'workflow-name': text(workflow.name) });

const insightsJobs = defineStream({
  name: 'insights_jobs',
  primaryKey: ['project_slug', 'workflow_name', 'name', '_reporting_window', '_synced_at'],
  parent: 'insights_workflows',
  endpoint: { path: '/insights/{project-slug}/workflows/{workflow-name}/jobs', shape: 'pages' },
  params: workflowPath,
  query: metricsQuery,
  adds: { project_slug: PROJECT_SLUG, workflow_name: WORKFLOW_NAME, _reporting_window: REPORTING, _synced_at: SYNCED_AT },
  enrich: (_item, workflow, listing) => ({ project_slug: workflow.project_slug, workflow_name: workflow.name, ...snapshot(listing) }),
  forbidden: FORBIDDEN,
});

/**
 * Recent runs: incremental on created_at, filtered server-side (start-date). Bookmarks are
 * kept per project and workflow name: each name is its own listing, read to its end on its
 * own, so a name whose listing fails (or a name new to the project) does not inherit a
 * bookmark another name has moved. Runs are listed once finished, so a run still going at
 * the last sync appears later with an older created_at: the workflow lookback re-reads
 * that much before the bookmark and emits the runs that stopped after it.
 */
const insightsWorkflowRuns = defineStream({
  name: 'insights_workflow_runs',
  primaryKey: ['id'],
  cursor: 'created_at',
  parent: 'insights_workflows',
  endpoint: { path: '/insights/{project-slug}/workflows/{workflow-name}', shape: 'pages' },
  params: workflowPath,
  query: () => ALL_BRANCHES,
  since: { param: 'start-date', horizonDays: 90, lookbackMs: (config) => config.workflowLookbackHours * 3600_000, listedAt: 'stopped_at' },
  adds: { project_slug: PROJECT_SLUG, workflow_name: WORKFLOW_NAME },
  enrich: (_item, workflow) => ({ project_slug: workflow.project_slug, workflow_name: workflow.name }),
  partition: { kind: 'project_workflows', key: (workflow) => workflowPartition(text(workflow.project_slug), text(workflow.name)) },
  forbidden: FORBIDDEN,
});

/** A project slug has three segments: what follows them is the workflow name. */
export function workflowPartition(projectSlug: string, workflowName: string): string {
  return `${projectSlug}/${workflowName}`;
}

const flakyTests = defineStream({
  name: 'flaky_tests',
  primaryKey: ['project_slug', '_flake_key', '_synced_at'],
  parent: null,
  ...PER_PROJECT_ROOT,
  endpoint: { path: '/insights/{project-slug}/flaky-tests', shape: 'field', field: 'flaky-tests' },
  params: (proj) => ({ 'project-slug': slugParam(proj.slug) }),
  adds: {
    project_slug: PROJECT_SLUG,
    _flake_key: {
      description:
        'Injected by the connector: workflow-id::job-number::source::file::classname::test-name of the flake, with #k appended to the k-th (k ≥ 2) of the same in the listing.',
    },
    _synced_at: SYNCED_AT,
  },
  enrich: (flake, proj, listing) => ({ project_slug: proj.slug, _flake_key: flakeKey(flake, listing), _synced_at: listing.syncedAt }),
  notFound: notFound('project'),
  forbidden: FORBIDDEN,
});

/** Several of its fields are nullable, so the key is one string built from them. */
function flakeKey(flake: ApiRecord, listing: Listing): string {
  const part = (value: unknown) => (value === undefined || value === null ? '' : String(value));
  const base = ['workflow-id', 'job-number', 'source', 'file', 'classname', 'test-name'].map((field) => part(flake[field])).join('::');
  const occurrence = listing.occurrence(base);
  return occurrence === 1 ? base : `${base}#${occurrence}`;
}

/** The organization's metrics over all its projects; the org slug is the collaboration's (`gh/acme`). */
const insightsOrgSummary = defineStream({
  name: 'insights_org_summary',
  primaryKey: ['organization_id', '_reporting_window', '_synced_at'],
  parent: 'collaborations',
  endpoint: { path: '/insights/{org-slug}/summary', shape: 'single' },
  params: (org) => ({ 'org-slug': slugParam(org.slug) }),
  query: () => ({ 'reporting-window': REPORTING_WINDOW }),
  adds: {
    organization_id: { description: 'Injected by the connector: the UUID of the organization.' },
    _reporting_window: REPORTING,
    _synced_at: SYNCED_AT,
  },
  enrich: (_item, org, listing) => ({ organization_id: org.id, ...snapshot(listing) }),
  notFound: (org, path) => `organization ${text(org.slug)} answered 404 (GET ${path}); nothing was read for it.`,
  forbidden: FORBIDDEN,
});

export const INSIGHTS_STREAMS = {
  insights_workflows: insightsWorkflows,
  insights_jobs: insightsJobs,
  insights_workflow_runs: insightsWorkflowRuns,
  flaky_tests: flakyTests,
  insights_org_summary: insightsOrgSummary,
} satisfies Record<string, AnyStreamDeclaration>;
