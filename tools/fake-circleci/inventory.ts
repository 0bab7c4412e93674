// The inventory part of the fake world: deploy components and their versions, project
// environment variables, checkout keys, context environment variables and webhooks.
//
// Everything here is a pure function of the world (seed, organizations, projects, deploy
// environments, contexts and the lazily derived pipelines), computed when a route or a
// truth accessor asks: nothing is stored and nothing is computed at world creation.
//
// The API serves secrets (masked env var values, webhook signing secrets); the fake
// serves them too, with recognisable fake values, so a connector's tests can prove that
// they never reach its output: see secretValues().

import { between, hashInts, hashStr, hex40, pick, unit, uuidFrom } from './hash.js';
import type { JsonObject, World } from './world.js';

type Org = World['orgs'][number];
type Project = World['projects'][number];

const DAY = 86_400_000;
const HOUR = 3_600_000;

// Hash tags of this module (the world's own tags are below 100).
const T = {
  component: 101,
  version: 102,
  envvar: 103,
  checkoutKey: 104,
  contextVar: 105,
  webhook: 106,
} as const;

const ENV_VAR_NAMES = [
  'DATABASE_URL',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'NPM_TOKEN',
  'SLACK_WEBHOOK_URL',
  'DOCKERHUB_PASSWORD',
  'SENTRY_DSN',
  'GITHUB_TOKEN',
];
const CONTEXT_VAR_NAMES = ['AWS_REGION', 'AWS_ROLE_ARN', 'DOCKER_LOGIN', 'DOCKER_PASSWORD', 'SLACK_ACCESS_TOKEN', 'NPM_TOKEN'];
const WEBHOOK_EVENTS: readonly (readonly string[])[] = [['workflow-completed'], ['job-completed'], ['workflow-completed', 'job-completed']];

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function keyOf(world: World): number {
  return hashStr(`fake-circleci:inventory:${world.seed}`);
}

// ---------------------------------------------------------------------------------------
// Deploy components and versions
// ---------------------------------------------------------------------------------------

export interface ComponentRef {
  org: Org;
  project: Project;
  /** Index of the component within its project. */
  index: number;
  record: JsonObject & { id: string };
}

/** Components of a project: one per project, a second ("-worker") for every other one. */
function projectComponents(world: World, p: Project): ComponentRef[] {
  const k = keyOf(world);
  const gIdx = p.gIdx;
  const count = gIdx % 2 === 0 ? 2 : 1;
  const out: ComponentRef[] = [];
  for (let c = 0; c < count; c++) {
    const h = hashInts(k, T.component, gIdx, c);
    const created = world.epochMs - between(h, 20, 300) * DAY - between(hashInts(h, 1), 0, DAY);
    const name = c === 0 ? p.name : `${p.name}-worker`;
    const record: JsonObject & { id: string } = {
      id: uuidFrom(k, T.component, gIdx, c),
      name,
      project_id: p.id,
      labels: [
        { key: 'team', value: pick(hashInts(h, 2), ['platform', 'payments', 'growth']) },
        { key: 'tier', value: c === 0 ? 'frontline' : 'background' },
      ],
      release_count: 0,
      created_at: iso(created),
      updated_at: iso(created),
    };
    out.push({ org: p.org, project: p, index: c, record });
  }
  return out;
}

interface VersionDraft {
  record: JsonObject;
  deployedMs: number;
}

/**
 * Versions of a component: per deploy environment of its organization, up to three
 * releases, each made by a finished job of one of the project's pipelines (so pipeline,
 * workflow and job ids, and job_number, are ones the history routes serve). Newest first;
 * the newest release of each environment is live.
 */
function componentVersions(world: World, ref: ComponentRef): VersionDraft[] {
  const k = keyOf(world);
  const p = ref.project;
  const gIdx = p.gIdx;
  const count = world.pipelineCount(p);
  const drafts: VersionDraft[] = [];
  ref.org.environments.forEach((env, e) => {
    const releases = between(hashInts(k, T.version, gIdx, ref.index, e), 0, 3);
    const perEnv: VersionDraft[] = [];
    for (let r = 0; r < releases && count > 0; r++) {
      // a pipeline among the older half, spread by release, then the first finished job found
      const h = hashInts(k, T.version, gIdx, ref.index, e, r);
      let n = Math.max(1, Math.min(count, 1 + ((h >>> 0) % Math.max(1, Math.ceil(count / 2))) + r));
      let found: VersionDraft | undefined;
      for (let tries = 0; tries < 8 && !found && n <= count; tries++, n++) {
        for (const m of world.workflowsOfPipeline(p, n)) {
          const jobs = world.jobRecords(m);
          const job = [...jobs].reverse().find((j) => j.job_number !== undefined && j.status === 'success' && j.stopped_at !== null);
          if (!job) continue;
          const wf = world.workflowRecord(m);
          const deployedMs = Date.parse(job.stopped_at as string);
          found = {
            deployedMs,
            record: {
              name: `1.${n}.${r}`,
              environment_id: env.id,
              namespace: pick(hashInts(h, 1), ['default', 'default', 'web']),
              is_live: false,
              pipeline_id: world.pipelineId(p, n), // a legacy workflow record has none
              workflow_id: wf.id as string,
              job_id: job.id as string,
              job_number: job.job_number as number,
              last_deployed_at: iso(deployedMs),
            },
          };
          break;
        }
      }
      if (found && !perEnv.some((v) => v.record.job_id === found.record.job_id)) perEnv.push(found);
    }
    perEnv.sort((a, b) => b.deployedMs - a.deployedMs);
    if (perEnv[0]) perEnv[0].record.is_live = true;
    drafts.push(...perEnv);
  });
  drafts.sort((a, b) => b.deployedMs - a.deployedMs || String(a.record.environment_id).localeCompare(String(b.record.environment_id)));
  return drafts;
}

/** Components of an organization (optionally of one project), oldest first, as listed. */
export function deployComponents(world: World, org: Org, projectId?: string): JsonObject[] {
  return componentRefs(world, org, projectId).map((ref) => finishComponent(world, ref));
}

function componentRefs(world: World, org: Org, projectId?: string): ComponentRef[] {
  const refs = org.projects
    .filter((p) => projectId === undefined || p.id === projectId.toLowerCase())
    .flatMap((p) => projectComponents(world, p));
  return refs.sort((a, b) => String(a.record.created_at).localeCompare(String(b.record.created_at)) || a.record.id.localeCompare(b.record.id));
}

function finishComponent(world: World, ref: ComponentRef): JsonObject {
  const versions = componentVersions(world, ref);
  const newest = versions[0];
  return {
    ...structuredClone(ref.record),
    release_count: versions.length,
    updated_at: newest ? iso(Math.max(newest.deployedMs, Date.parse(ref.record.created_at as string))) : (ref.record.created_at as string),
  };
}

/** A component by id, in any organization of the world. */
export function componentById(world: World, id: string): ComponentRef | undefined {
  const want = id.toLowerCase();
  for (const org of world.orgs) {
    for (const p of org.projects) {
      const ref = projectComponents(world, p).find((c) => c.record.id === want);
      if (ref) return ref;
    }
  }
  return undefined;
}

/** Versions of a component as listed (newest first), optionally of one environment. */
export function deployComponentVersions(world: World, ref: ComponentRef, environmentId?: string): JsonObject[] {
  return componentVersions(world, ref)
    .map((v) => v.record)
    .filter((v) => environmentId === undefined || v.environment_id === environmentId.toLowerCase());
}

// ---------------------------------------------------------------------------------------
// Project secrets inventory: env vars (masked) and checkout keys
// ---------------------------------------------------------------------------------------

interface EnvVarDraft {
  name: string;
  /** The invented clear value: never served, listed by secretValues(). */
  value: string;
  masked: string;
  createdMs: number;
}

function envVarDrafts(world: World, p: Project): EnvVarDraft[] {
  const k = keyOf(world);
  const gIdx = p.gIdx;
  const count = between(hashInts(k, T.envvar, gIdx), 2, 6);
  const start = between(hashInts(k, T.envvar, gIdx, 1), 0, ENV_VAR_NAMES.length - 1);
  const out: EnvVarDraft[] = [];
  for (let i = 0; i < count; i++) {
    const name = ENV_VAR_NAMES[(start + i) % ENV_VAR_NAMES.length] as string;
    const value = `FAKE-ENV-VALUE-${hex40(k, T.envvar, gIdx, i).slice(0, 16)}`;
    const h = hashInts(k, T.envvar, gIdx, i, 2);
    out.push({ name, value, masked: `xxxx${value.slice(-4)}`, createdMs: world.epochMs - between(h, 5, 500) * DAY - between(hashInts(h, 1), 0, DAY) });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Items of GET /project/{slug}/envvar: name, masked value (`xxxx` + last four characters,
 * as the API masks them) and `created-at`. The spec gives `created-at` no type (its
 * example is a Clojure `#joda/inst` print); the fake sends an ISO date-time.
 */
export function projectEnvVars(world: World, p: Project): JsonObject[] {
  return envVarDrafts(world, p).map((v) => ({ name: v.name, value: v.masked, 'created-at': iso(v.createdMs) }));
}

function md5Fingerprint(h: number): string {
  return Array.from({ length: 16 }, (_, i) => (hashInts(h, i) & 0xff).toString(16).padStart(2, '0')).join(':');
}

function sha256Fingerprint(h: number): string {
  const bytes = Buffer.from(Array.from({ length: 32 }, (_, i) => hashInts(h, 100 + i) & 0xff));
  return `SHA256:${bytes.toString('base64').replace(/=+$/, '')}`;
}

/**
 * Items of GET /project/{slug}/checkout-key: a deploy key (preferred) for every project and
 * a user key for every third one. `digest` selects the fingerprint form (md5 by default).
 */
export function projectCheckoutKeys(world: World, p: Project, digest: 'md5' | 'sha256' = 'md5'): JsonObject[] {
  const k = keyOf(world);
  const gIdx = p.gIdx;
  const kinds: ('deploy-key' | 'github-user-key')[] = gIdx % 3 === 0 ? ['deploy-key', 'github-user-key'] : ['deploy-key'];
  return kinds.map((type, i) => {
    const h = hashInts(k, T.checkoutKey, gIdx, i);
    const body = Buffer.from(hex40(k, T.checkoutKey, gIdx, i) + hex40(h, 1), 'utf8').toString('base64');
    return {
      'public-key': `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5${body} fake-circleci`,
      type,
      fingerprint: digest === 'sha256' ? sha256Fingerprint(h) : md5Fingerprint(h),
      preferred: i === 0,
      'created-at': iso(world.epochMs - between(h, 30, 700) * DAY),
    };
  });
}

// ---------------------------------------------------------------------------------------
// Context environment variables (names only: the API never serves their values)
// ---------------------------------------------------------------------------------------

export function contextById(world: World, id: string): { org: Org; context: Org['contexts'][number] } | undefined {
  const want = id.toLowerCase();
  for (const org of world.orgs) {
    const context = org.contexts.find((c) => c.id === want);
    if (context) return { org, context };
  }
  return undefined;
}

export function contextEnvVars(world: World, contextId: string): JsonObject[] {
  const found = contextById(world, contextId);
  if (!found) return [];
  const k = keyOf(world);
  const { org, context } = found;
  const c = org.contexts.indexOf(context);
  const count = between(hashInts(k, T.contextVar, org.index, c), 0, 4);
  const created = Date.parse(context.created_at);
  const out: JsonObject[] = [];
  for (let i = 0; i < count; i++) {
    const h = hashInts(k, T.contextVar, org.index, c, i);
    const createdMs = created + between(h, 0, 20) * DAY + between(hashInts(h, 1), 0, DAY);
    const updatedMs = unit(hashInts(h, 2)) < 0.5 ? createdMs : createdMs + Math.floor(unit(hashInts(h, 3)) * (world.epochMs - HOUR - createdMs));
    out.push({
      variable: CONTEXT_VAR_NAMES[(c + i) % CONTEXT_VAR_NAMES.length] as string,
      created_at: iso(createdMs),
      updated_at: iso(Math.max(createdMs, updatedMs)),
      context_id: context.id,
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Webhooks (outbound, project-scoped)
// ---------------------------------------------------------------------------------------

function webhookSecret(world: World, gIdx: number, w: number): string {
  return `FAKE-SIGNING-SECRET-${gIdx}-${w}-${hex40(keyOf(world), T.webhook, gIdx, w).slice(0, 8)}`;
}

/** The second webhook of a project posts to an ingestion endpoint that takes its credential in the URL. */
const METRICS_WEBHOOK_URL = 'https://metrics.example.net/ingest/circleci?source=circleci';

function webhookUrlToken(world: World, gIdx: number, w: number): string {
  return `FAKE-URL-TOKEN-${gIdx}-${w}-${hex40(keyOf(world), T.webhook, gIdx, w, 7).slice(0, 8)}`;
}

/** A webhook's URL without its credential (`token`) query parameter: what a connector may keep. */
export function webhookUrlWithoutToken(url: string): string {
  return url.replace(/&token=[^&]*$/, '');
}

/**
 * Items of GET /webhook?scope-type=project&scope-id={project id}. The spec's webhook
 * carries `signing-secret` (required), so the fake serves one: a connector must drop it.
 * Some URLs carry a credential in their query (`token`), which a connector must remove.
 */
export function projectWebhooks(world: World, p: Project): JsonObject[] {
  const k = keyOf(world);
  const gIdx = p.gIdx;
  const count = between(hashInts(k, T.webhook, gIdx), 0, 2);
  const out: JsonObject[] = [];
  for (let w = 0; w < count; w++) {
    const h = hashInts(k, T.webhook, gIdx, w);
    const created = world.epochMs - between(h, 10, 400) * DAY;
    const updated = created + Math.floor(unit(hashInts(h, 1)) * (world.epochMs - HOUR - created));
    out.push({
      id: uuidFrom(k, T.webhook, gIdx, w),
      name: w === 0 ? `${p.name} notifications` : `${p.name} metrics`,
      url: w === 0 ? `https://hooks.example.com/circleci/${p.name}` : `${METRICS_WEBHOOK_URL}&token=${webhookUrlToken(world, gIdx, w)}`,
      events: [...pick(hashInts(h, 2), WEBHOOK_EVENTS)],
      'verify-tls': unit(hashInts(h, 3)) < 0.8,
      'signing-secret': webhookSecret(world, gIdx, w),
      scope: { id: p.id, type: 'project' },
      'created-at': iso(created),
      'updated-at': iso(updated),
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Truth: exactly the items the routes serve
// ---------------------------------------------------------------------------------------

/** Every deploy component of every organization, with its organization_id. */
export function deployComponentsTruth(world: World): JsonObject[] {
  return world.memberOrgs.flatMap((o) => deployComponents(world, o).map((c) => ({ ...c, organization_id: o.id })));
}

/** Every version of every component, with its component_id. */
export function deployVersionsTruth(world: World): JsonObject[] {
  return world.memberOrgs.flatMap((o) =>
    componentRefs(world, o).flatMap((ref) => deployComponentVersions(world, ref).map((v) => ({ ...v, component_id: ref.record.id }))),
  );
}

/** Env vars (masked, as served) of every project, with its project_slug. */
export function envVarsTruth(world: World): JsonObject[] {
  return world.projects.flatMap((p) => projectEnvVars(world, p).map((v) => ({ ...v, project_slug: p.slug })));
}

export function checkoutKeysTruth(world: World, digest: 'md5' | 'sha256' = 'md5'): JsonObject[] {
  return world.projects.flatMap((p) => projectCheckoutKeys(world, p, digest).map((v) => ({ ...v, project_slug: p.slug })));
}

export function contextEnvVarsTruth(world: World): JsonObject[] {
  return world.orgs.flatMap((o) => o.contexts.flatMap((c) => contextEnvVars(world, c.id)));
}

export function webhooksTruth(world: World): JsonObject[] {
  return world.projects.flatMap((p) => projectWebhooks(world, p));
}

/**
 * Every secret value the fake world holds or serves: the API tokens, masked env var
 * values, the invented clear values behind them, webhook signing secrets and the
 * credentials in webhook URLs. A connector's
 * output must contain none of them. (Download-URL signatures depend on what was
 * requested: see usageUrlSecrets in usage-export.ts.)
 */
export function secretValues(world: World): string[] {
  const out = new Set<string>([world.token, world.projectToken]);
  for (const p of world.projects) {
    for (const v of envVarDrafts(world, p)) {
      out.add(v.value);
      out.add(v.masked);
    }
    projectWebhooks(world, p).forEach((w, index) => {
      out.add(w['signing-secret'] as string);
      if (String(w.url).includes('&token=')) out.add(webhookUrlToken(world, p.gIdx, index));
    });
  }
  return [...out];
}
