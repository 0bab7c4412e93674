// The fewest requests a full sync of a fake world needs, per route, and the records it
// must emit: computed from the world itself (the benchmark compares the connector's
// requests with it; the throughput tests assert equality).

import { contextEnvVars, deployComponents, deployVersionsTruth, projectCheckoutKeys, projectEnvVars, projectWebhooks } from '../fake-circleci/inventory.js';
import type { World } from '../fake-circleci/world.js';

/** Requests per route a full sync of every stream cannot do without, and the records it emits. */
export interface WorldFigures {
  minimumByRoute: Record<string, number>;
  minimum: number;
  records: number;
  recordsByStream: Record<string, number>;
  projects: number;
}

export const pages = (items: number, size: number): number => Math.max(1, Math.ceil(items / size));

/** What a full sync of every stream (start date before all history) needs at least. */
export function worldFigures(world: World, connectorPageSize: number): WorldFigures {
  const ps = world.options.pageSize;
  const byRoute: Record<string, number> = {};
  const add = (route: string, n: number): void => {
    byRoute[route] = (byRoute[route] ?? 0) + n;
  };
  const records: Record<string, number> = {};
  const count = (stream: string, n: number): void => {
    records[stream] = (records[stream] ?? 0) + n;
  };
  const versionsByComponent = new Map<string, number>();
  for (const version of deployVersionsTruth(world)) {
    const id = version.component_id as string;
    versionsByComponent.set(id, (versionsByComponent.get(id) ?? 0) + 1);
  }
  add('collaborations', 1);
  count('collaborations', world.collaborations().length);
  for (const org of world.orgs) {
    add('contexts', pages(world.contexts(org).length, ps));
    count('context', world.contexts(org).length);
    add('groups', pages(world.groups(org).length, Math.min(connectorPageSize, 100)));
    count('groups', world.groups(org).length);
    add('deploy_environments', pages(world.environments(org).length, Math.min(connectorPageSize, 100)));
    count('deploy', world.environments(org).length);
    const components = deployComponents(world, org);
    add('deploy_components', pages(components.length, Math.min(connectorPageSize, 100)));
    count('deploy_components', components.length);
    for (const component of components) {
      const versions = versionsByComponent.get(component.id as string) ?? 0;
      add('deploy_component_versions', pages(versions, ps));
      count('deploy_component_versions', versions);
    }
    for (const context of world.contexts(org)) {
      const variables = contextEnvVars(world, context.id).length;
      add('context_envvars', pages(variables, ps));
      count('context_env_vars', variables);
    }
    // The benchmark configures every slug: its scope lists nothing, but the project stream
    // covers every project the token can see, from each organization's listing (50 a page).
    add('private_projects', Math.max(1, Math.ceil(org.projects.length / 50)));
    for (const p of org.projects) {
      add('project', 1);
      count('project', 1);
      add('pipeline_definitions', 1);
      const definitions = world.definitions(p);
      count('pipeline_definition', definitions.length);
      for (const definition of p.definitions) {
        // The spec lists triggers only for these providers; other definitions are not asked.
        if (definition.provider === 'github_app' || definition.provider === 'bitbucket_dc') add('triggers', 1);
        count('trigger', world.triggers(definition).length);
      }
      add('schedules', pages(world.schedules(p).length, ps));
      count('schedule', world.schedules(p).length);
      const inventory: Array<[string, string, number]> = [
        ['project_envvars', 'project_env_vars', projectEnvVars(world, p).length],
        ['project_checkout_keys', 'project_checkout_keys', projectCheckoutKeys(world, p).length],
        ['webhooks', 'webhooks', projectWebhooks(world, p).length],
      ];
      for (const [route, stream, items] of inventory) {
        add(route, pages(items, ps));
        count(stream, items);
      }
    }
  }
  let checked = 0;
  for (const p of world.projects) {
    const total = world.pipelineCount(p);
    add('pipelines', pages(total, ps));
    count('pipelines', total);
    for (let n = total; n >= 1; n--) {
      const workflows = world.workflowsOfPipeline(p, n);
      add('pipeline_workflows', pages(workflows.length, ps));
      count('workflows', workflows.length);
      for (const workflow of workflows) {
        // jobCount is what jobRecords() produces; check that on a few, it is much cheaper.
        if (checked < 50) {
          checked += 1;
          if (world.jobRecords(workflow).length !== workflow.jobCount) throw new Error('jobCount differs from the job records');
        }
        add('workflow_jobs', pages(workflow.jobCount, ps));
        count('jobs', workflow.jobCount);
        // Per job with a number (approval jobs have none): its details, and its tests page by page.
        for (const [index, job] of world.jobRecords(workflow).entries()) {
          if (job.job_number === undefined || job.job_number === null) continue;
          add('job_details', 1);
          count('job_details', 1);
          const tests = world.testItems(workflow, index).length;
          add('job_tests', pages(tests, ps));
          count('tests', tests);
        }
      }
    }
  }
  const sum = (values: Record<string, number>): number => Object.values(values).reduce((a, b) => a + b, 0);
  return { minimumByRoute: byRoute, minimum: sum(byRoute), records: sum(records), recordsByStream: records, projects: world.projects.length };
}

