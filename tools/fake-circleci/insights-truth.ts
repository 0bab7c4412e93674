// What the connector's Insights streams should hold: the Insights routes' truths with the
// fields the connector adds (the parent's keys, the reporting window, the sync's start).

import { flakyTestsTruth, insightsJobsTruth, insightsWorkflowsTruth, orgSummaryTruth, workflowRunsTruth, type ReportingWindow } from './insights.js';
import type { JsonObject, TruthOptions, World } from './world.js';

/** The window the connector asks for. */
const WINDOW: ReportingWindow = 'last-90-days';

export type InsightsStream = 'insights_workflows' | 'insights_jobs' | 'insights_workflow_runs' | 'flaky_tests' | 'insights_org_summary';

export function* insightsTruth(world: World, stream: InsightsStream, options: TruthOptions, slugs: readonly string[]): Generator<JsonObject> {
  const syncedAt = options.syncedAt ?? new Date(world.nowMs).toISOString();
  const snapshot = { _reporting_window: WINDOW, _synced_at: syncedAt };
  if (stream === 'insights_org_summary') {
    for (const org of world.memberOrgs) yield { ...orgSummaryTruth(world, org.slug, WINDOW), organization_id: org.id, ...snapshot };
    return;
  }
  for (const slug of slugs) {
    if (stream === 'flaky_tests') {
      const flakes = flakyTestsTruth(world, slug)['flaky-tests'] as JsonObject[];
      const keys = flakeKeys(flakes);
      for (const [i, flake] of flakes.entries()) yield { ...flake, project_slug: slug, _flake_key: keys[i]!, _synced_at: syncedAt };
      continue;
    }
    for (const workflow of insightsWorkflowsTruth(world, slug, WINDOW, null)) {
      const name = workflow.name as string;
      if (stream === 'insights_workflows') yield { ...workflow, project_slug: slug, ...snapshot };
      else if (stream === 'insights_jobs') {
        for (const job of insightsJobsTruth(world, slug, name, WINDOW, null)) yield { ...job, project_slug: slug, workflow_name: name, ...snapshot };
      } else {
        for (const run of workflowRunsTruth(world, slug, name, { branch: null, startDate: options.startDate })) yield { ...run, project_slug: slug, workflow_name: name };
      }
    }
  }
}

/**
 * The connector's `_flake_key` of each flake of one listing, written out again from its
 * documented rule: workflow-id::job-number::source::file::classname::test-name (a missing
 * part empty), with #k appended to the k-th (k ≥ 2) of the same in the listing.
 */
export function flakeKeys(flakes: readonly JsonObject[]): string[] {
  const seen = new Map<string, number>();
  return flakes.map((flake) => {
    const base = ['workflow-id', 'job-number', 'source', 'file', 'classname', 'test-name'].map((f) => String(flake[f] ?? '')).join('::');
    const k = (seen.get(base) ?? 0) + 1;
    seen.set(base, k);
    return k === 1 ? base : `${base}#${k}`;
  });
}
