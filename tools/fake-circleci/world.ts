// A deterministic, seeded model of one CircleCI account.
//
// Small org-level entities (organizations, projects, contexts, groups, deploy
// environments, pipeline definitions, triggers, schedules) live in memory. Pipelines,
// workflows and jobs are derived lazily from (seed, indices) by integer hashes, and their
// ids encode those indices (see hash.ts), so a world of a million jobs holds only the
// mutations made through the advance methods.

import {
  between,
  decodeId,
  encodeId,
  hashInts,
  hashStr,
  hex40,
  pick,
  unit,
  uuidFrom,
} from './hash.js';
import { STREAM_NAMES, type StreamName } from '../../src/streams/schemas/types.js';
import { usageTruthRecords } from './usage-export.js';
import {
  checkoutKeysTruth,
  contextEnvVarsTruth,
  deployComponentsTruth,
  deployVersionsTruth,
  envVarsTruth,
  webhooksTruth,
  webhookUrlWithoutToken,
} from './inventory.js';
import { insightsTruth } from './insights-truth.js';

// ---------------------------------------------------------------------------------------
// Public record shapes (as the API sends them)
// ---------------------------------------------------------------------------------------

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export interface User extends JsonObject {
  name: string;
  login: string;
  id: string;
  avatar_url: string;
}

export interface Collaboration extends JsonObject {
  id: string;
  /** The live API spells it `vcs_type` (the spec says `vcs-type`). */
  vcs_type: string;
  name: string;
  avatar_url: string;
  slug: string;
}

export interface ProjectRecord extends JsonObject {
  slug: string;
  name: string;
  id: string;
  organization_name: string;
  organization_slug: string;
  organization_id: string;
  vcs_info: { vcs_url: string; provider: 'GitHub' | 'Bitbucket' | 'CircleCI'; default_branch: string };
}

export interface ContextRecord extends JsonObject {
  id: string;
  name: string;
  created_at: string;
}

export interface GroupRecord extends JsonObject {
  id: string;
  name: string;
  description: string;
}

export interface EnvironmentRecord extends JsonObject {
  id: string;
  name: string;
  description: string;
  created_at: string;
  updated_at: string;
  labels: { key: string; value: string }[];
}

export interface ScheduleRecord extends JsonObject {
  id: string;
  name: string;
  description: string | null;
  timetable: JsonObject;
  'project-slug': string;
  actor: User;
  'created-at': string;
  'updated-at': string;
  parameters: { [key: string]: string | number | boolean };
}

// The stream names are the connector's own list (a constant, no connector logic), so the
// fake's truth() and the connector's catalog cannot name different streams.
export { STREAM_NAMES, type StreamName };

export type WorkflowStatus = 'success' | 'failed' | 'running' | 'on_hold' | 'failing';

// ---------------------------------------------------------------------------------------
// Options and presets
// ---------------------------------------------------------------------------------------

export interface WorldOptions {
  seed: number;
  /** Number of organizations; forms cycle gh/, bb/, circleci/<uuid>. Default 3. */
  organizations: number;
  /** Projects in each organization. Default 2. */
  projectsPerOrg: number;
  /** Pipelines per project at creation. */
  pipelinesPerProject: number;
  /** Max distinct workflows per pipeline (each pipeline has 1..max; reruns add more). */
  workflowsPerPipeline: number;
  /** Max jobs per workflow (each workflow has 1..max). */
  jobsPerWorkflow: number;
  /** The world's clock at creation (ISO). Default 2026-11-01T00:00:00.000Z. */
  now: string;
  /** Page size of list routes without a client page size (the live API uses 20). */
  pageSize: number;
  contextsPerOrg: number;
  groupsPerOrg: number;
  environmentsPerOrg: number;
  /** Page tokens older than this (world time) answer 404; default: never stale. */
  pageTokenTtlMs?: number;
}

export type PresetName = 'tiny' | 'small' | 'benchmark' | 'many-projects';

export type WorldInit = Partial<WorldOptions> & { preset?: PresetName };

export const DEFAULT_NOW = '2026-11-01T00:00:00.000Z';

const BASE_DEFAULTS: Omit<WorldOptions, 'pipelinesPerProject' | 'workflowsPerPipeline' | 'jobsPerWorkflow'> = {
  seed: 1,
  organizations: 3,
  projectsPerOrg: 2,
  now: DEFAULT_NOW,
  pageSize: 20,
  contextsPerOrg: 2,
  groupsPerOrg: 3,
  environmentsPerOrg: 3,
};

/**
 * Approximate jobs per pipeline for given maxima: mean distinct workflows times mean
 * jobs, plus reruns, minus errored pipelines (measured, not exact).
 */
function jobsPerPipelineEstimate(workflowsMax: number, jobsMax: number): number {
  return ((1 + workflowsMax) / 2) * ((1 + jobsMax) / 2);
}

/** Options for a world with about `targetJobs` job records (default one million). */
export function benchmarkOptions(targetJobs = 1_000_000): Omit<WorldOptions, 'seed'> {
  const organizations = 3;
  const projectsPerOrg = 4;
  const workflowsPerPipeline = 3;
  const jobsPerWorkflow = 9;
  const perPipeline = jobsPerPipelineEstimate(workflowsPerPipeline, jobsPerWorkflow);
  const pipelinesPerProject = Math.max(
    1,
    Math.round(targetJobs / (organizations * projectsPerOrg) / perPipeline),
  );
  return {
    ...BASE_DEFAULTS,
    organizations,
    projectsPerOrg,
    pipelinesPerProject,
    workflowsPerPipeline,
    jobsPerWorkflow,
  };
}

export const presets: Record<PresetName, Omit<WorldOptions, 'seed'>> = {
  /** 3 orgs x 1 project x 3 pipelines; page size 2 so every list route paginates. */
  tiny: {
    ...BASE_DEFAULTS,
    organizations: 3,
    projectsPerOrg: 1,
    pipelinesPerProject: 3,
    workflowsPerPipeline: 2,
    jobsPerWorkflow: 3,
    pageSize: 2,
    contextsPerOrg: 3,
    groupsPerOrg: 3,
    environmentsPerOrg: 3,
  },
  /** 3 orgs x 2 projects x 15 pipelines: a few hundred records in all streams. */
  small: {
    ...BASE_DEFAULTS,
    organizations: 3,
    projectsPerOrg: 2,
    pipelinesPerProject: 15,
    workflowsPerPipeline: 3,
    jobsPerWorkflow: 5,
  },
  /** About 1,000,000 job records (12 projects x ~8,000 pipelines), derived lazily. */
  benchmark: benchmarkOptions(1_000_000),
  /** One organization of 500 small projects: what an idle sync of a large organization costs. */
  'many-projects': {
    ...BASE_DEFAULTS,
    organizations: 1,
    projectsPerOrg: 500,
    pipelinesPerProject: 4,
    workflowsPerPipeline: 2,
    jobsPerWorkflow: 2,
  },
};

// ---------------------------------------------------------------------------------------
// Vocabulary
// ---------------------------------------------------------------------------------------

const ORG_NAMES = {
  gh: ['acme', 'globex', 'hooli', 'initech', 'stark-industries', 'umbrella-labs'],
  bb: ['wayne-ent', 'cyberdyne', 'soylent', 'tyrell-corp'],
  circleci: ['massive-dynamic', 'aperture', 'oscorp', 'vandelay'],
} as const;

const REPO_NAMES = [
  'web-app',
  'api-server',
  'mobile-client',
  'infra',
  'docs-site',
  'cli',
  'data-pipeline',
  'billing-service',
  'auth-service',
  'search',
  'payments',
  'notifications',
  'analytics',
  'design-system',
  'sdk-js',
  'sdk-python',
];

const USERS = [
  ['ada-l', 'Ada Lovelace'],
  ['grace-h', 'Grace Hopper'],
  ['linus-t', 'Linus Torvalds'],
  ['margaret-h', 'Margaret Hamilton'],
  ['ken-t', 'Ken Thompson'],
] as const;

const CONTEXT_NAMES = ['org-global', 'aws-prod', 'docker-hub', 'slack-notify', 'npm-publish', 'gcp-staging'];
const GROUP_NAMES = [
  ['Admins', 'Organization administrators.'],
  ['Developers', 'Everyone who pushes code.'],
  ['Release Managers', 'Can approve production deploys.'],
  ['Contractors', 'Limited access to selected projects.'],
  ['Security', 'Audits contexts and secrets.'],
] as const;
const ENV_NAMES = ['production', 'staging', 'development', 'qa', 'canary', 'preview'];
const COMMIT_SUBJECTS = [
  'Fix flaky test in checkout flow',
  'Bump dependencies',
  'Add retry to upload step',
  'Refactor config loader',
  'Update README',
  'Improve error messages',
  'Speed up CI cache restore',
  'Add metrics endpoint',
];
const BRANCHES = ['feature/login', 'fix/cache-key', 'chore/deps', 'feature/search', 'release/1.x'];
const TRIGGER_PRESETS = ['all-pushes', 'default-branch-pushes', 'only-build-prs', 'only-tags', 'only-open-prs'];

// Job details: what the executor and the platform say about a job.
const DOCKER_CLASSES = ['medium', 'large', 'medium+', 'xlarge'];
const JOB_MESSAGES: { type: string; message: string; reason?: string }[] = [
  {
    type: 'warning',
    message: 'This job uses a deprecated convenience image (circleci/node:14). Move to a cimg/ image.',
    reason: 'deprecated_image',
  },
  { type: 'info', message: 'This job ran on a resource class larger than configured.' },
  { type: 'warning', message: 'The job was queued for longer than usual because of concurrency limits.', reason: 'queued' },
];

// Test metadata: modules x behaviours give 64 distinct tests per suite, named per runner.
const TEST_MODULES = ['auth', 'billing', 'cart', 'checkout', 'config', 'search', 'upload', 'users'];
const TEST_BEHAVIOURS: readonly (readonly [sentence: string, snake: string, camel: string])[] = [
  ['returns 404 for an unknown id', 'returns_404_for_unknown_id', 'Returns404ForUnknownID'],
  ['rejects an expired token', 'rejects_expired_token', 'RejectsExpiredToken'],
  ['paginates with a cursor', 'paginates_with_cursor', 'PaginatesWithCursor'],
  ['retries on a 503', 'retries_on_503', 'RetriesOn503'],
  ['validates required fields', 'validates_required_fields', 'ValidatesRequiredFields'],
  ['keeps order under concurrency', 'keeps_order_under_concurrency', 'KeepsOrderUnderConcurrency'],
  ['serializes dates as ISO 8601', 'serializes_dates_as_iso8601', 'SerializesDatesAsISO8601'],
  ['handles an empty list', 'handles_empty_list', 'HandlesEmptyList'],
];
const TEST_FAILURES = [
  'AssertionError: expected 200 to equal 404',
  'Error: Timeout of 5000ms exceeded',
  'TypeError: Cannot read properties of undefined (reading \'id\')',
  'expected: "2026-01-01T00:00:00Z"\n     got: "2026-01-01T00:00:00.000Z"',
];
type TestRunner = 'jest' | 'pytest' | 'gotestsum' | 'rspec';
const TEST_RUNNERS: readonly TestRunner[] = ['jest', 'pytest', 'gotestsum', 'rspec'];

const DAY = 86_400_000;
const HOUR_MS = 3_600_000;
const MINUTE = 60_000;
const PIPELINE_SPAN_MS = 90 * DAY;

/**
 * Every workflow derived from (seed, indices) is created within this long of its pipeline
 * (at most ~204 s of workflow starts, plus for a same-day rerun its original's run of up
 * to ~3 h 20 min and a 2 h pause). Late reruns and rerunWorkflow's are not: see
 * latePipelines(). Insights lists runs newest first by scanning pipelines with it.
 */
export const DERIVED_WORKFLOW_LAG_MS = 8 * HOUR_MS;
/** Late reruns: a rerun, hours before the newest initial pipeline, of the newest pipeline
 * with workflows at least this much older than that pipeline. */
const LATE_RERUN_AGES_MS = [3 * DAY, 10 * DAY];

// Hash tags: one per kind of derived value, so independent draws stay independent.
const T = {
  orgName: 1,
  orgId: 2,
  projName: 3,
  projId: 4,
  user: 5,
  context: 6,
  group: 7,
  env: 8,
  def: 9,
  trigger: 10,
  schedule: 11,
  pipeTime: 12,
  pipeUpd: 13,
  pipeErr: 14,
  pipeVcs: 15,
  pipeTrig: 16,
  wfCount: 17,
  wfPlan: 18,
  wfTime: 19,
  jobCount: 20,
  jobTime: 21,
  rerun: 22,
  wfUser: 23,
  cut: 24,
  failIdx: 25,
  token: 26,
  approver: 27,
  external: 28,
  jobExec: 29,
  tests: 30,
  lateRerun: 31,
} as const;

// Kinds encoded in invertible ids.
const KIND_PIPELINE = 1;
const KIND_WORKFLOW = 2;
const KIND_JOB = 3;
const MAX_PROJECTS = 1 << 14;
const MAX_PIPELINES = 1 << 24;
const MAX_WORKFLOWS_PER_PIPELINE = 1 << 8;

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

// ---------------------------------------------------------------------------------------
// Internal entities
// ---------------------------------------------------------------------------------------

type OrgForm = 'gh' | 'bb' | 'circleci';

interface OrgEntity {
  index: number;
  id: string;
  form: OrgForm;
  vcsType: 'github' | 'bitbucket' | 'circleci';
  name: string;
  slug: string;
  avatarUrl: string;
  projects: ProjectEntity[];
  contexts: ContextRecord[];
  groups: GroupRecord[];
  environments: EnvironmentRecord[];
}

interface DefinitionEntity {
  record: JsonObject & { id: string };
  provider: string;
  triggers: (JsonObject & { id: string })[];
}

interface ProjectEntity {
  gIdx: number;
  org: OrgEntity;
  id: string;
  name: string;
  slug: string;
  vcsUrl: string;
  provider: 'GitHub' | 'Bitbucket' | 'CircleCI';
  pipelineProvider: string;
  defaultBranch: string;
  baseCount: number;
  /** created_at (ms) of pipelines added by addPipelines, oldest first. */
  added: number[];
  /** finishRunningWorkflows calls: pipelines numbered <= through finished at atMs. */
  finishMarks: { through: number; atMs: number }[];
  /** Workflows created by rerunWorkflow, per pipeline number. */
  reruns: Map<number, WorkflowMeta[]>;
  definitions: DefinitionEntity[];
  schedules: ScheduleRecord[];
}

type Template = 'standard' | 'approval';

interface WorkflowMeta {
  p: ProjectEntity;
  n: number;
  idx: number;
  name: string;
  template: Template;
  jobCount: number;
  createdMs: number;
  /** The status the workflow has (or had) when observed at creation. */
  plan: WorkflowStatus;
  /** In-progress plans turn into success/failed once finished. */
  finished: boolean;
  startedBy: string;
  /** Explicit (mutation) workflows carry their own seed word for job timing. */
  salt: number;
}

interface JobTimeline {
  names: string[];
  types: ('build' | 'approval')[];
  deps: number[][];
  /** When a job's dependencies were done (its created_at). */
  ready: number[];
  start: number[];
  end: number[];
}

export interface TruthOptions {
  /**
   * The configured projects: the scope of the project history (pipelines and below, the
   * per-project Insights streams); default: every project. The project stream and those
   * under it cover every project of the user's organizations, and these besides.
   */
  projectSlugs?: readonly string[];
  /** ISO date; incremental streams keep records at or after it. Default: epoch. */
  startDate?: string;
  /** ISO; when the sync started (the snapshot streams' `_synced_at`). Default: the world's now. */
  syncedAt?: string;
}

export interface PipelineRef {
  project: ProjectEntity;
  number: number;
}

// ---------------------------------------------------------------------------------------
// The world
// ---------------------------------------------------------------------------------------

export class World {
  readonly options: WorldOptions;
  readonly seed: number;
  /** The valid personal API token. */
  readonly token: string;
  /** A project API token: project routes answer it 404 "Project not found". */
  readonly projectToken: string;
  /** Secret that signs page tokens (derived from the seed). */
  readonly pageTokenSecret: string;
  /** Creation time (ms); lazily derived records are placed relative to it. */
  readonly epochMs: number;
  /** The world clock (ms); only moves forward. */
  nowMs: number;
  /** Bumped by every mutation. */
  version = 0;

  private readonly key: number;
  private readonly idKey: number;
  private readonly users: User[];
  readonly orgs: OrgEntity[] = [];
  readonly projects: ProjectEntity[] = [];
  private readonly projectsBySlug = new Map<string, ProjectEntity>();
  private readonly projectsById = new Map<string, ProjectEntity>();
  private readonly orgsById = new Map<string, OrgEntity>();
  private readonly orgsBySlug = new Map<string, OrgEntity>();
  private readonly lateRerunCache = new Map<ProjectEntity, number[]>();
  /** Organizations the token's user is not a member of (leaveOrganization). */
  private readonly outside = new Set<OrgEntity>();

  constructor(options: WorldOptions) {
    validateOptions(options);
    this.options = options;
    this.seed = options.seed;
    this.key = hashStr(`fake-circleci:${options.seed}`);
    this.idKey = hashInts(this.key, 0x1d);
    this.epochMs = Date.parse(options.now);
    this.nowMs = this.epochMs;
    // CircleCI's prefixes, but not the shape secret scanners match (`CCIPAT_` + 22
    // alphanumerics + `_` + 40 hex): this token is committed in integration_tests/, and a
    // push of the repository must not be refused or reported as a leaked credential.
    this.token = `CCIPAT_FAKE_${hex40(this.key, T.token, 1).slice(0, 22)}_${hex40(this.key, T.token, 2)}`;
    this.projectToken = `CCIPRJ_FAKE_${hex40(this.key, T.token, 3).slice(0, 22)}_${hex40(this.key, T.token, 4)}`;
    this.pageTokenSecret = `page-token:${hex40(this.key, T.token, 5)}`;
    this.users = USERS.map(([login, name], i) => ({
      name,
      login,
      id: uuidFrom(this.key, T.user, i),
      avatar_url: `https://avatars.githubusercontent.com/u/${100000 + (hashInts(this.key, T.user, i) % 900000)}?v=4`,
    }));
    this.build();
  }

  // -------------------------------------------------------------------------------------
  // Construction of the in-memory (org-level) part
  // -------------------------------------------------------------------------------------

  private build(): void {
    const o = this.options;
    const forms: OrgForm[] = ['gh', 'bb', 'circleci'];
    const usedNames = new Set<string>();
    for (let i = 0; i < o.organizations; i++) {
      const form = forms[i % 3] as OrgForm;
      const list = ORG_NAMES[form];
      let name: string = pick(hashInts(this.key, T.orgName, i), list);
      if (usedNames.has(name)) name = `${name}-${i}`;
      usedNames.add(name);
      const id = uuidFrom(this.key, T.orgId, i);
      const vcsType = form === 'gh' ? 'github' : form === 'bb' ? 'bitbucket' : 'circleci';
      const slug = form === 'circleci' ? `circleci/${id}` : `${form}/${name}`;
      const org: OrgEntity = {
        index: i,
        id,
        form,
        vcsType,
        name,
        slug,
        avatarUrl:
          form === 'bb'
            ? `https://bitbucket.org/account/${name}/avatar/`
            : `https://avatars.githubusercontent.com/u/${200000 + (hashInts(this.key, T.orgId, i) % 800000)}?v=4`,
        projects: [],
        contexts: [],
        groups: [],
        environments: [],
      };
      this.orgs.push(org);
      this.orgsById.set(id, org);
      this.orgsBySlug.set(slug, org);
      if (form !== 'circleci') {
        this.orgsBySlug.set(`${form === 'gh' ? 'github' : 'bitbucket'}/${name}`, org);
      }
      this.buildOrgChildren(org);
      for (let j = 0; j < o.projectsPerOrg; j++) this.buildProject(org, j);
    }
    if (this.projects.length > MAX_PROJECTS) throw new Error('too many projects');
  }

  private buildOrgChildren(org: OrgEntity): void {
    const o = this.options;
    const k = this.key;
    for (let c = 0; c < o.contextsPerOrg; c++) {
      const h = hashInts(k, T.context, org.index, c);
      const name = c < CONTEXT_NAMES.length ? (CONTEXT_NAMES[(c + (h % 2)) % CONTEXT_NAMES.length] as string) : `context-${c}`;
      org.contexts.push({
        id: uuidFrom(k, T.context, org.index, c),
        name: org.contexts.some((x) => x.name === name) ? `${name}-${c}` : name,
        created_at: iso(this.epochMs - between(h, 100, 900) * DAY - between(hashInts(h, 1), 0, DAY)),
      });
    }
    // Oldest first, as contexts are listed.
    org.contexts.sort((a, b) => a.created_at.localeCompare(b.created_at));
    for (let g = 0; g < o.groupsPerOrg; g++) {
      const entry = GROUP_NAMES[g % GROUP_NAMES.length] as readonly [string, string];
      org.groups.push({
        id: uuidFrom(k, T.group, org.index, g),
        name: g < GROUP_NAMES.length ? entry[0] : `${entry[0]} ${g}`,
        description: entry[1],
      });
    }
    for (let e = 0; e < o.environmentsPerOrg; e++) {
      const h = hashInts(k, T.env, org.index, e);
      const created = this.epochMs - between(h, 30, 400) * DAY - between(hashInts(h, 1), 0, DAY);
      const updated = created + Math.floor(unit(hashInts(h, 2)) * (this.epochMs - HOUR_MS - created));
      const name = e < ENV_NAMES.length ? (ENV_NAMES[e] as string) : `env-${e}`;
      org.environments.push({
        id: uuidFrom(k, T.env, org.index, e),
        name,
        description: `${name} environment`,
        created_at: iso(created),
        updated_at: iso(updated),
        labels: [
          { key: 'env', value: name },
          { key: 'region', value: pick(hashInts(h, 3), ['us-east-1', 'eu-west-1', 'ap-south-1']) },
        ],
      });
    }
    org.environments.sort((a, b) => a.created_at.localeCompare(b.created_at) || a.id.localeCompare(b.id));
  }

  private buildProject(org: OrgEntity, j: number): void {
    const k = this.key;
    const gIdx = this.projects.length;
    const base = REPO_NAMES[(j + (hashInts(k, T.projName, org.index) % REPO_NAMES.length)) % REPO_NAMES.length] as string;
    const name = j < REPO_NAMES.length ? base : `${base}-${j}`;
    const id = uuidFrom(k, T.projId, gIdx);
    let slug: string;
    let vcsUrl: string;
    let provider: ProjectEntity['provider'];
    let pipelineProvider: string;
    let defProviders: string[];
    if (org.form === 'gh') {
      slug = `gh/${org.name}/${name}`;
      vcsUrl = `https://github.com/${org.name}/${name}`;
      provider = 'GitHub';
      pipelineProvider = 'GitHub';
      defProviders = ['github_oauth'];
    } else if (org.form === 'bb') {
      slug = `bb/${org.name}/${name}`;
      vcsUrl = `https://bitbucket.org/${org.name}/${name}`;
      provider = 'Bitbucket';
      pipelineProvider = 'Bitbucket';
      defProviders = ['bitbucket'];
    } else {
      slug = `circleci/${org.id}/${id}`;
      provider = 'CircleCI';
      const kinds = ['github_app', 'bitbucket_dc', 'gitlab'];
      const first = kinds[j % 3] as string;
      const second = kinds[(j + 1) % 3] as string;
      defProviders = [first, second];
      if (first === 'gitlab') {
        vcsUrl = `https://gitlab.com/${org.name}/${name}`;
        pipelineProvider = 'GitLab';
      } else if (first === 'bitbucket_dc') {
        vcsUrl = `https://bitbucket.${org.name}.example/scm/${org.name}/${name}`;
        pipelineProvider = 'Bitbucket';
      } else {
        vcsUrl = `https://github.com/${org.name}/${name}`;
        pipelineProvider = 'GitHub';
      }
    }
    const project: ProjectEntity = {
      gIdx,
      org,
      id,
      name,
      slug,
      vcsUrl,
      provider,
      pipelineProvider,
      defaultBranch: 'main',
      baseCount: this.options.pipelinesPerProject,
      added: [],
      finishMarks: [],
      reruns: new Map(),
      definitions: [],
      schedules: [],
    };
    this.buildDefinitions(project, defProviders);
    this.buildSchedules(project, j);
    org.projects.push(project);
    this.projects.push(project);
    this.projectsBySlug.set(slug, project);
    this.projectsById.set(id, project);
  }

  private buildDefinitions(p: ProjectEntity, providers: string[]): void {
    const k = this.key;
    const repoFullName = `${p.org.name}/${p.name}`;
    providers.forEach((provider, d) => {
      const h = hashInts(k, T.def, p.gIdx, d);
      const externalId =
        provider === 'bitbucket_dc' || provider === 'gitlab'
          ? String(1000 + (hashInts(h, T.external) % 90000))
          : String(100000000 + (hashInts(h, T.external) % 800000000));
      const repo = { full_name: repoFullName, external_id: externalId };
      const created = this.epochMs - between(h, 20, 500) * DAY;
      const record: JsonObject & { id: string } = {
        id: uuidFrom(k, T.def, p.gIdx, d),
        name: d === 0 ? `${p.name} build` : `${p.name} ${provider} pipeline`,
        description: d === 0 ? `Main pipeline for ${p.name}` : `Secondary pipeline (${provider})`,
        created_at: iso(created),
        config_source: { provider, repo, file_path: d === 0 ? '.circleci/config.yml' : `.circleci/${provider}.yml` },
        checkout_source: { provider, repo },
      };
      const def: DefinitionEntity = { record, provider, triggers: [] };
      if (provider === 'github_app' || provider === 'bitbucket_dc') {
        const count = 1 + (hashInts(h, 1) % 2);
        for (let t = 0; t < count; t++) {
          const th = hashInts(k, T.trigger, p.gIdx, d, t);
          const tCreated = iso(created + between(th, 1, 10) * DAY);
          const id = uuidFrom(k, T.trigger, p.gIdx, d, t);
          if (t === 1 && provider === 'github_app') {
            def.triggers.push({
              id,
              event_name: 'deploy-request',
              created_at: tCreated,
              event_source: {
                provider: 'webhook',
                webhook: {
                  url: `https://internal.circleci.com/private/soc/e/${id}?secret=${hex40(th).slice(0, 24)}`,
                  sender: 'datadog',
                },
              },
              checkout_ref: 'main',
              config_ref: 'main',
              disabled: false,
            });
          } else {
            const trigger: JsonObject & { id: string } = {
              id,
              created_at: tCreated,
              event_source: { provider, repo },
            };
            if (provider === 'github_app') trigger.event_preset = pick(th, TRIGGER_PRESETS);
            trigger.disabled = unit(hashInts(th, 2)) < 0.2;
            def.triggers.push(trigger);
          }
        }
      }
      p.definitions.push(def);
    });
  }

  private buildSchedules(p: ProjectEntity, j: number): void {
    if (p.org.form === 'circleci') return; // GitHub App / GitLab projects use triggers
    const k = this.key;
    const count = j === 0 ? 1 + (hashInts(k, T.schedule, p.gIdx) % 2) : hashInts(k, T.schedule, p.gIdx) % 3;
    for (let s = 0; s < count; s++) {
      const h = hashInts(k, T.schedule, p.gIdx, s);
      const created = this.epochMs - between(h, 30, 400) * DAY - between(hashInts(h, 1), 0, DAY);
      const updated = created + Math.floor(unit(hashInts(h, 2)) * (this.epochMs - HOUR_MS - created));
      const actor = pick(hashInts(h, 3), this.users);
      const monthly = unit(hashInts(h, 4)) < 0.3;
      const timetable: JsonObject = monthly
        ? { 'per-hour': 1, 'hours-of-day': [3], 'days-of-month': [1, 15], months: ['JAN', 'APR', 'JUL', 'OCT'] }
        : { 'per-hour': 1, 'hours-of-day': [between(h, 0, 11), between(hashInts(h, 5), 12, 23)], 'days-of-week': ['MON', 'WED', 'FRI'] };
      p.schedules.push({
        id: uuidFrom(k, T.schedule, p.gIdx, s),
        name: s === 0 ? 'nightly build' : `scheduled run ${s + 1}`,
        description:
          (p.org.form === 'bb' && j === 0 && s === 0) || unit(hashInts(h, 6)) < 0.3
            ? null
            : `Runs the ${p.name} pipeline on a timetable`,
        timetable,
        'project-slug': p.slug,
        actor: { ...actor },
        'created-at': iso(created),
        'updated-at': iso(updated),
        parameters: { branch: p.defaultBranch },
      });
    }
  }

  // -------------------------------------------------------------------------------------
  // Lookups used by the routes
  // -------------------------------------------------------------------------------------

  me(): User {
    return { ...(this.users[0] as User) };
  }

  /** The organizations of the token's user: /me/collaborations, and what the organization streams cover. */
  get memberOrgs(): OrgEntity[] {
    return this.orgs.filter((o) => !this.outside.has(o));
  }

  /**
   * The token's user is not a member of this organization: /me/collaborations leaves it
   * out, and with it the organization streams' truth; its projects still answer by slug (a
   * project the user follows outside their own organizations), so a configured one is read.
   */
  leaveOrganization(orgIdOrSlug: string): void {
    const org = this.orgById(orgIdOrSlug) ?? this.orgBySlug(orgIdOrSlug);
    if (!org) throw new Error(`leaveOrganization: unknown organization ${orgIdOrSlug}`);
    this.outside.add(org);
    this.version++;
  }

  collaborations(): Collaboration[] {
    return this.memberOrgs.map((o) => ({
      id: o.id,
      vcs_type: o.vcsType,
      name: o.name,
      avatar_url: o.avatarUrl,
      slug: o.slug,
    }));
  }

  orgById(id: string): OrgEntity | undefined {
    return this.orgsById.get(id.toLowerCase());
  }

  orgBySlug(slug: string): OrgEntity | undefined {
    return this.orgsBySlug.get(slug);
  }

  /** Accepts `gh/o/r`, `github/o/r`, `bb/...`, `bitbucket/...`, `circleci/<org>/<proj>`. */
  projectBySlug(slug: string): ProjectEntity | undefined {
    const parts = slug.split('/');
    if (parts.length !== 3) return undefined;
    const vcs = parts[0] === 'github' ? 'gh' : parts[0] === 'bitbucket' ? 'bb' : parts[0];
    return this.projectsBySlug.get(`${vcs}/${parts[1]}/${parts[2]}`);
  }

  projectById(id: string): ProjectEntity | undefined {
    return this.projectsById.get(id.toLowerCase());
  }

  projectRecord(p: ProjectEntity): ProjectRecord {
    return {
      slug: p.slug,
      name: p.name,
      id: p.id,
      organization_name: p.org.name,
      organization_slug: p.org.slug,
      organization_id: p.org.id,
      vcs_info: { vcs_url: this.listedVcsUrl(p), provider: p.provider, default_branch: p.defaultBranch },
    };
  }

  /** A project's vcs_url as the project endpoints give it: protocol-relative for CircleCI-native organizations (live API, test/reference/README.md). */
  private listedVcsUrl(p: ProjectEntity): string {
    return p.org.form === 'circleci' ? `//circleci.com/${p.org.id}/${p.id}` : p.vcsUrl;
  }

  /** An item of the private project listing; `last_build_finished_at` only once a job of the project has finished. */
  privateProjectItem(p: ProjectEntity): JsonObject {
    const item: JsonObject = { id: p.id, name: p.name, slug: p.slug, organization_id: p.org.id, vcs_url: this.listedVcsUrl(p) };
    const last = this.lastBuildFinishedMs(p);
    if (last !== undefined) item.last_build_finished_at = iso(last);
    return item;
  }

  /**
   * When the project's last job finished: the latest stopped_at of a job of its newest
   * pipelines (down to those created more than a workflow's lag before the best found)
   * and of the pipelines with late reruns.
   */
  lastBuildFinishedMs(p: ProjectEntity): number | undefined {
    let best: number | undefined;
    const consider = (n: number) => {
      for (const m of this.workflowMetas(p, n)) {
        for (const job of this.jobStates(m)) if (job.stopped !== null && (best === undefined || job.stopped > best)) best = job.stopped;
      }
    };
    for (let n = this.pipelineCount(p); n >= 1; n--) {
      if (best !== undefined && this.pipelineCreatedMs(p, n) + DERIVED_WORKFLOW_LAG_MS < best) break;
      consider(n);
    }
    for (const n of this.latePipelines(p)) consider(n);
    return best;
  }

  contexts(org: OrgEntity): ContextRecord[] {
    return org.contexts.map((c) => ({ ...c }));
  }

  groups(org: OrgEntity): GroupRecord[] {
    return org.groups.map((g) => ({ ...g }));
  }

  environments(org: OrgEntity): EnvironmentRecord[] {
    return org.environments.map((e) => structuredClone(e));
  }

  definitions(p: ProjectEntity): JsonObject[] {
    return p.definitions.map((d) => structuredClone(d.record));
  }

  definitionById(p: ProjectEntity, id: string): DefinitionEntity | undefined {
    return p.definitions.find((d) => d.record.id === id.toLowerCase());
  }

  triggers(def: DefinitionEntity): JsonObject[] {
    return def.triggers.map((t) => structuredClone(t));
  }

  schedules(p: ProjectEntity): ScheduleRecord[] {
    return p.schedules.map((s) => structuredClone(s));
  }

  // -------------------------------------------------------------------------------------
  // Pipelines (lazy)
  // -------------------------------------------------------------------------------------

  pipelineCount(p: ProjectEntity): number {
    return p.baseCount + p.added.length;
  }

  pipelineId(p: ProjectEntity, n: number): string {
    return this.encode(KIND_PIPELINE, p.gIdx, n, 0, 0);
  }

  workflowId(p: ProjectEntity, n: number, idx: number): string {
    return this.encode(KIND_WORKFLOW, p.gIdx, n, idx, 0);
  }

  jobId(p: ProjectEntity, n: number, idx: number, k: number): string {
    return this.encode(KIND_JOB, p.gIdx, n, idx, k);
  }

  private encode(kind: number, proj: number, n: number, wf: number, job: number): string {
    const hi = ((kind << 30) | (proj << 16) | (n >>> 8)) >>> 0;
    const lo = (((n & 0xff) << 24) | (wf << 16) | job) >>> 0;
    return encodeId(hi, lo, this.idKey);
  }

  private decode(id: string): { kind: number; p: ProjectEntity; n: number; wf: number; job: number } | undefined {
    const words = decodeId(id, this.idKey);
    if (!words) return undefined;
    const [hi, lo] = words;
    const kind = hi >>> 30;
    const proj = (hi >>> 16) & 0x3fff;
    const n = ((hi & 0xffff) << 8) | (lo >>> 24);
    const wf = (lo >>> 16) & 0xff;
    const job = lo & 0xffff;
    const p = this.projects[proj];
    if (!p || n < 1 || n > this.pipelineCount(p)) return undefined;
    return { kind, p, n, wf, job };
  }

  /** Resolve a pipeline id minted by this world. */
  pipelineById(id: string): PipelineRef | undefined {
    const d = this.decode(id);
    if (!d || d.kind !== KIND_PIPELINE || d.wf !== 0 || d.job !== 0) return undefined;
    return { project: d.p, number: d.n };
  }

  pipelineCreatedMs(p: ProjectEntity, n: number): number {
    if (n > p.baseCount) return p.added[n - p.baseCount - 1] as number;
    // Spread over the 90 days before creation, denser towards now; strictly increasing.
    const j = 0.05 + 0.9 * unit(hashInts(this.key, T.pipeTime, p.gIdx, n));
    const u = (n - 1 + j) / p.baseCount;
    return Math.floor(this.epochMs - PIPELINE_SPAN_MS * (1 - u) * (1 - u));
  }

  pipelineUpdatedMs(p: ProjectEntity, n: number): number {
    const created = this.pipelineCreatedMs(p, n);
    const h = hashInts(this.key, T.pipeUpd, p.gIdx, n);
    let offset = this.pipelineErrored(p, n) ? between(h, 200, 800) : between(h, 500, 3000);
    if (n < p.baseCount) {
      // keep updated_at ordered like created_at among the initial pipelines
      const gap = this.pipelineCreatedMs(p, n + 1) - created;
      offset = Math.min(offset, Math.floor(gap * 0.4));
    }
    return created + offset;
  }

  private forcedRerunPipeline(p: ProjectEntity): number {
    return p.gIdx % 3 === 2 && p.baseCount >= 2 ? p.baseCount - 1 : 0;
  }

  pipelineErrored(p: ProjectEntity, n: number): boolean {
    if (n > p.baseCount) return false;
    if (this.erroredBeforeConfig(p, n)) return true;
    if (n >= p.baseCount || n === this.forcedRerunPipeline(p)) return false;
    return unit(hashInts(this.key, T.pipeErr, p.gIdx, n)) < 0.03;
  }

  /**
   * The pipeline every third project errors on first (its pipeline 1): errored before it
   * got a config, in the shape captured from the live API (test/reference/README.md,
   * "Shapes seen in responses captured from the live API"), which wins over the spec here.
   */
  private erroredBeforeConfig(p: ProjectEntity, n: number): boolean {
    return p.gIdx % 3 === 1 && n === 1 && p.baseCount >= 3;
  }

  pipelineRecord(p: ProjectEntity, n: number): JsonObject {
    const k = this.key;
    const created = this.pipelineCreatedMs(p, n);
    const errored = this.pipelineErrored(p, n);
    if (this.erroredBeforeConfig(p, n)) {
      // No vcs key, a trigger type outside the spec's enum, received at the epoch, no actor login.
      return {
        id: this.pipelineId(p, n),
        errors: [{ type: 'config-fetch', message: 'Unable to fetch the configuration file from the repository.' }],
        project_slug: p.slug,
        updated_at: iso(this.pipelineUpdatedMs(p, n)),
        number: n,
        state: 'errored',
        created_at: iso(created),
        trigger: { received_at: '1970-01-01T00:00:00.000Z', type: 'Decoupled Ingestion System', actor: { login: '', avatar_url: null } },
      };
    }
    const hv = hashInts(k, T.pipeVcs, p.gIdx, n);
    const ht = hashInts(k, T.pipeTrig, p.gIdx, n);
    const actor = pick(hashInts(ht, 1), this.users);
    const rt = unit(ht);
    const triggerType =
      p.schedules.length > 0 && rt < 0.1 ? 'scheduled_pipeline' : rt < 0.2 ? 'api' : rt < 0.23 ? 'explicit' : 'webhook';
    const r = unit(hv);
    const vcs: JsonObject = {
      origin_repository_url: p.vcsUrl,
      target_repository_url: p.vcsUrl,
      revision: hex40(k, T.pipeVcs, p.gIdx, n),
      provider_name: p.pipelineProvider,
      commit: {
        body: unit(hashInts(hv, 2)) < 0.5 ? '' : 'Signed-off-by: CI Bot <ci@example.com>',
        subject: `${pick(hashInts(hv, 1), COMMIT_SUBJECTS)} (#${n})`,
      },
    };
    if (r < 0.05) vcs.tag = `v1.${n}.0`;
    else vcs.branch = r < 0.65 ? p.defaultBranch : pick(hashInts(hv, 3), BRANCHES);
    return {
      id: this.pipelineId(p, n),
      errors: errored
        ? [{ type: 'config', message: 'Config does not conform to schema: {:workflows {:build-and-test {:jobs missing-required-key}}}' }]
        : [],
      project_slug: p.slug,
      updated_at: iso(this.pipelineUpdatedMs(p, n)),
      number: n,
      state: errored ? 'errored' : 'created',
      created_at: iso(created),
      trigger: {
        received_at: iso(created - between(hashInts(ht, 2), 100, 900)),
        type: triggerType,
        actor: { login: actor.login, avatar_url: actor.avatar_url },
      },
      vcs,
    };
  }

  pipelineBranch(p: ProjectEntity, n: number): string | undefined {
    const hv = hashInts(this.key, T.pipeVcs, p.gIdx, n);
    const r = unit(hv);
    if (r < 0.05) return undefined;
    return r < 0.65 ? p.defaultBranch : pick(hashInts(hv, 3), BRANCHES);
  }

  // -------------------------------------------------------------------------------------
  // Workflows (lazy, plus reruns made by mutations)
  // -------------------------------------------------------------------------------------

  /** How many of the newest initial pipelines may have an in-progress workflow. */
  private inProgressWindow(p: ProjectEntity): number {
    return Math.max(1, Math.min(3, Math.ceil(p.baseCount / 4)));
  }

  private inProgressCandidate(p: ProjectEntity, n: number): boolean {
    return n > p.baseCount - this.inProgressWindow(p);
  }

  /** The workflows of a pipeline in creation order (index order). */
  workflowMetas(p: ProjectEntity, n: number): WorkflowMeta[] {
    if (this.pipelineErrored(p, n)) return p.reruns.get(n) ?? [];
    const k = this.key;
    const o = this.options;
    const pipelineCreated = this.pipelineCreatedMs(p, n);
    const forcedRerun = n === this.forcedRerunPipeline(p);
    let distinct = between(hashInts(k, T.wfCount, p.gIdx, n), 1, o.workflowsPerPipeline);
    if (forcedRerun) distinct = Math.min(2, o.workflowsPerPipeline); // two workflows plus the rerun
    const metas: WorkflowMeta[] = [];
    let t = pipelineCreated + between(hashInts(k, T.wfTime, p.gIdx, n), 2000, 15000);
    for (let idx = 0; idx < distinct; idx++) {
      const h = hashInts(k, T.wfPlan, p.gIdx, n, idx);
      const isLast = idx === distinct - 1;
      let plan: WorkflowStatus;
      if (forcedRerun && idx === 0) plan = 'failed';
      else if (isLast && n === p.baseCount) {
        plan = (['running', 'on_hold', 'failing', 'success'] as const)[p.gIdx % 4] as WorkflowStatus;
      } else if (isLast && this.inProgressCandidate(p, n)) {
        const r = unit(h);
        const pInProgress = n > p.baseCount ? 0.6 : 0.4;
        if (r < pInProgress) {
          const r2 = unit(hashInts(h, 1));
          plan = r2 < 0.5 ? 'running' : r2 < 0.75 ? 'on_hold' : 'failing';
        } else plan = unit(hashInts(h, 2)) < 0.75 ? 'success' : 'failed';
      } else {
        plan = unit(h) < 0.75 ? 'success' : 'failed';
      }
      const name = workflowName(idx);
      const shape = this.shapeWorkflow(name, plan, between(hashInts(k, T.jobCount, p.gIdx, n, idx), 1, o.jobsPerWorkflow));
      metas.push({
        p,
        n,
        idx,
        name,
        template: shape.template,
        jobCount: shape.jobCount,
        createdMs: t,
        plan: shape.plan,
        finished: this.isFinishedByMark(p, n),
        startedBy: pick(hashInts(k, T.wfUser, p.gIdx, n, idx), this.users).id,
        salt: 0,
      });
      t += between(hashInts(h, 3), 1000, 3000);
    }
    // A rerun of the first failed workflow, created after it stopped (pipeline.updated_at
    // stays unchanged, as in the live API).
    const failed = metas.find((m) => m.plan === 'failed');
    if (failed) {
      const h = hashInts(k, T.rerun, p.gIdx, n);
      if (forcedRerun || unit(h) < 0.15) {
        const stopped = this.workflowStoppedMs(failed) ?? failed.createdMs;
        const created = stopped + between(hashInts(h, 1), 5 * MINUTE, 120 * MINUTE);
        if (created < this.epochMs - MINUTE) {
          metas.push({
            ...failed,
            idx: distinct,
            createdMs: created,
            plan: forcedRerun || unit(hashInts(h, 2)) < 0.8 ? 'success' : 'failed',
            finished: false,
            startedBy: pick(hashInts(h, 3), this.users).id,
          });
        }
      }
    }
    if (this.lateRerunPipelines(p).includes(n)) {
      // Re-run days later: its updated_at stays old, the new workflow is finished and
      // created a few hours before the newest initial pipeline (so it does not move an
      // incremental read's bookmark, the newest workflow created_at).
      const target = metas.find((m) => m.plan === 'failed') ?? (metas[0] as WorkflowMeta);
      const h = hashInts(k, T.lateRerun, p.gIdx, n);
      metas.push({
        ...target,
        idx: metas.length,
        createdMs: this.pipelineCreatedMs(p, p.baseCount) - between(h, 4 * HOUR_MS, 12 * HOUR_MS),
        plan: unit(hashInts(h, 1)) < 0.8 ? 'success' : 'failed',
        finished: false,
        startedBy: pick(hashInts(h, 2), this.users).id,
      });
    }
    const extra = p.reruns.get(n);
    return extra ? [...metas, ...extra] : metas;
  }

  /**
   * Initial pipelines that hold a late rerun (see LATE_RERUN_AGES_MS): for each age, the
   * newest pipeline at least that much older than the newest initial pipeline that is
   * neither errored nor possibly still running. Found by bisection (created_at grows with
   * the number), so a million-job world pays a few dozen hashes once per project.
   */
  lateRerunPipelines(p: ProjectEntity): number[] {
    const cached = this.lateRerunCache.get(p);
    if (cached) return cached;
    const out: number[] = [];
    const newest = this.pipelineCreatedMs(p, p.baseCount);
    for (const age of LATE_RERUN_AGES_MS) {
      let lo = 0;
      let hi = p.baseCount;
      while (lo < hi) {
        const mid = Math.ceil((lo + hi) / 2);
        if (this.pipelineCreatedMs(p, mid) <= newest - age) lo = mid;
        else hi = mid - 1;
      }
      let n = Math.min(lo, p.baseCount - this.inProgressWindow(p));
      while (n >= 1 && (this.pipelineErrored(p, n) || out.includes(n))) n--;
      if (n >= 1) out.push(n);
    }
    this.lateRerunCache.set(p, out);
    return out;
  }

  /**
   * Pipelines whose workflows may be created more than DERIVED_WORKFLOW_LAG_MS after the
   * pipeline: those with a late rerun or a rerun made by rerunWorkflow.
   */
  latePipelines(p: ProjectEntity): number[] {
    return [...new Set([...this.lateRerunPipelines(p), ...p.reruns.keys()])];
  }

  private shapeWorkflow(
    name: string,
    plan: WorkflowStatus,
    jobCount: number,
  ): { template: Template; jobCount: number; plan: WorkflowStatus } {
    const max = this.options.jobsPerWorkflow;
    let template: Template = name === 'deploy' ? 'approval' : 'standard';
    if (plan === 'failing') {
      if (max >= 3) {
        template = 'standard';
        jobCount = Math.max(jobCount, 3);
      } else plan = 'running';
    }
    if (plan === 'on_hold') {
      if (max >= 2) {
        template = 'approval';
        jobCount = Math.max(jobCount, 2);
      } else plan = 'running';
    }
    if (template === 'approval' && jobCount === 1) template = 'standard';
    // An approval workflow of two jobs starts with the hold: it cannot be "running".
    if (plan === 'running' && template === 'approval' && jobCount === 2) {
      if (max >= 3) jobCount = 3;
      else plan = 'on_hold';
    }
    return { template, jobCount, plan };
  }

  private isFinishedByMark(p: ProjectEntity, n: number): boolean {
    return p.finishMarks.some((m) => m.through >= n);
  }

  private isInProgressPlan(plan: WorkflowStatus): boolean {
    return plan === 'running' || plan === 'on_hold' || plan === 'failing';
  }

  workflowStatus(m: WorkflowMeta): WorkflowStatus {
    if (!this.isInProgressPlan(m.plan)) return m.plan;
    if (!m.finished) return m.plan;
    return m.plan === 'failing' ? 'failed' : 'success';
  }

  private timeline(m: WorkflowMeta): JobTimeline {
    const n = m.jobCount;
    const names: string[] = [];
    const types: ('build' | 'approval')[] = [];
    const deps: number[][] = [];
    if (m.template === 'approval') {
      if (n === 2) {
        names.push('hold', 'deploy');
        types.push('approval', 'build');
        deps.push([], [0]);
      } else {
        names.push('build');
        types.push('build');
        deps.push([]);
        const tests: number[] = [];
        for (let i = 1; i <= n - 3; i++) {
          names.push(n - 3 === 1 ? 'test' : `test-${i}`);
          types.push('build');
          deps.push([0]);
          tests.push(i);
        }
        names.push('hold', 'deploy');
        types.push('approval', 'build');
        deps.push(tests.length > 0 ? tests : [0], [n - 2]);
      }
    } else if (n === 1) {
      names.push('build');
      types.push('build');
      deps.push([]);
    } else if (n === 2) {
      names.push('build', 'test');
      types.push('build', 'build');
      deps.push([], [0]);
    } else {
      names.push('build');
      types.push('build');
      deps.push([]);
      const middle = n === 3 ? 2 : n - 2;
      const tests: number[] = [];
      for (let i = 1; i <= middle; i++) {
        names.push(`test-${i}`);
        types.push('build');
        deps.push([0]);
        tests.push(i);
      }
      if (n > 3) {
        names.push('report');
        types.push('build');
        deps.push(tests);
      }
    }
    const ready: number[] = [];
    const start: number[] = [];
    const end: number[] = [];
    for (let j = 0; j < n; j++) {
      const h = hashInts(this.key, T.jobTime, m.p.gIdx, m.n, m.idx, j, m.salt);
      const r = (deps[j] as number[]).reduce((acc, d) => Math.max(acc, end[d] as number), m.createdMs);
      const s = r + between(h, 1000, 3000);
      const dur = types[j] === 'approval' ? between(hashInts(h, 1), MINUTE, 180 * MINUTE) : between(hashInts(h, 1), 10_000, 300_000);
      ready.push(r);
      start.push(s);
      end.push(s + dur);
    }
    return { names, types, deps, ready, start, end };
  }

  /** Indices that (transitively) depend on job f. */
  private downstream(tl: JobTimeline, f: number): Set<number> {
    const out = new Set<number>();
    for (let j = 0; j < tl.deps.length; j++) {
      if ((tl.deps[j] as number[]).some((d) => d === f || out.has(d))) out.add(j);
    }
    return out;
  }

  private failIndex(m: WorkflowMeta, tl: JobTimeline): number {
    const candidates = tl.types.map((t, j) => (t === 'build' ? j : -1)).filter((j) => j >= 0);
    if (m.plan === 'failing') {
      // the middle (parallel) job that ends first
      let best = 1;
      for (let j = 1; j < tl.names.length; j++) {
        if ((tl.deps[j] as number[]).length === 1 && tl.deps[j]?.[0] === 0 && (tl.end[j] as number) < (tl.end[best] as number)) best = j;
      }
      return best;
    }
    const middle = candidates.filter((j) => j > 0 && tl.types[j] === 'build' && (tl.deps[j] as number[])[0] === 0);
    const pool = middle.length > 0 ? middle : candidates;
    return pick(hashInts(this.key, T.failIdx, m.p.gIdx, m.n, m.idx, m.salt), pool);
  }

  /** Cut time of an in-progress workflow: what has happened by the time it is observed. */
  private cutMs(m: WorkflowMeta, tl: JobTimeline): number {
    if (m.plan === 'on_hold') {
      const hold = tl.types.indexOf('approval');
      return (tl.start[hold] as number) + 500;
    }
    if (m.plan === 'failing') return (tl.end[this.failIndex(m, tl)] as number) + 500;
    // running: midway through a build job that starts before any approval job
    const hold = tl.types.indexOf('approval');
    const limit = hold >= 0 ? (tl.start[hold] as number) : Infinity;
    const pool = tl.types.map((t, j) => (t === 'build' && (tl.start[j] as number) < limit ? j : -1)).filter((j) => j >= 0);
    const r = pick(hashInts(this.key, T.cut, m.p.gIdx, m.n, m.idx, m.salt), pool.length > 0 ? pool : [0]);
    return Math.floor(((tl.start[r] as number) + (tl.end[r] as number)) / 2);
  }

  workflowStoppedMs(m: WorkflowMeta): number | null {
    const status = this.workflowStatus(m);
    if (status !== 'success' && status !== 'failed') return null;
    const jobs = this.jobStates(m);
    let stopped = m.createdMs;
    for (const j of jobs) if (j.stopped !== null && j.stopped > stopped) stopped = j.stopped;
    return stopped;
  }

  private jobStates(m: WorkflowMeta): { status: string; started: number | null; stopped: number | null }[] {
    const tl = this.timeline(m);
    const status = this.workflowStatus(m);
    const n = tl.names.length;
    const states: { status: string; started: number | null; stopped: number | null }[] = [];
    if (status === 'success') {
      for (let j = 0; j < n; j++) states.push({ status: 'success', started: tl.start[j] as number, stopped: tl.end[j] as number });
      return states;
    }
    if (status === 'failed') {
      const f = this.failIndex(m, tl);
      const down = this.downstream(tl, f);
      for (let j = 0; j < n; j++) {
        if (down.has(j)) states.push({ status: 'not_run', started: null, stopped: null });
        else states.push({ status: j === f ? 'failed' : 'success', started: tl.start[j] as number, stopped: tl.end[j] as number });
      }
      return states;
    }
    // in progress
    const cut = this.cutMs(m, tl);
    const f = status === 'failing' ? this.failIndex(m, tl) : -1;
    const down = f >= 0 ? this.downstream(tl, f) : new Set<number>();
    for (let j = 0; j < n; j++) {
      const s = tl.start[j] as number;
      const e = tl.end[j] as number;
      if (down.has(j) || s > cut) states.push({ status: 'blocked', started: null, stopped: null });
      else if (e <= cut) states.push({ status: j === f ? 'failed' : 'success', started: s, stopped: e });
      else if (tl.types[j] === 'approval') states.push({ status: 'on_hold', started: null, stopped: null });
      else states.push({ status: 'running', started: s, stopped: null });
    }
    return states;
  }

  /**
   * The first workflow of the first pipeline of every third project is a legacy (1.0-era)
   * one: `pipeline_id` and `pipeline_number` null. The spec requires both, but responses
   * captured from the live API have them null (test/reference/README.md, "Shapes seen in
   * responses captured from the live API"); that documented fact wins over the spec here.
   * It is still listed under its pipeline and answered by GET /workflow/{id}.
   */
  private legacyWorkflow(m: WorkflowMeta): boolean {
    return m.p.gIdx % 3 === 0 && m.n === 1 && m.idx === 0 && m.p.baseCount >= 3;
  }

  workflowRecord(m: WorkflowMeta): JsonObject {
    const stopped = this.workflowStoppedMs(m);
    const legacy = this.legacyWorkflow(m);
    return {
      pipeline_id: legacy ? null : this.pipelineId(m.p, m.n),
      id: this.workflowId(m.p, m.n, m.idx),
      name: m.name,
      project_slug: m.p.slug,
      status: this.workflowStatus(m),
      started_by: m.startedBy,
      pipeline_number: legacy ? null : m.n,
      created_at: iso(m.createdMs),
      stopped_at: stopped === null ? null : iso(stopped),
    };
  }

  /** Workflows of a pipeline as the API lists them: newest first. */
  workflowsOfPipeline(p: ProjectEntity, n: number): WorkflowMeta[] {
    return this.workflowMetas(p, n).sort((a, b) => b.createdMs - a.createdMs || b.idx - a.idx);
  }

  /** The id of the pipeline that lists this workflow record: its pipeline_id, also for a legacy workflow whose record has none. */
  listingPipelineId(workflow: { readonly id?: unknown }): string {
    const m = this.workflowById(String(workflow.id));
    if (!m) throw new Error(`workflow ${String(workflow.id)} is not in this world`);
    return this.pipelineId(m.p, m.n);
  }

  workflowById(id: string): WorkflowMeta | undefined {
    const d = this.decode(id);
    if (!d || d.kind !== KIND_WORKFLOW || d.job !== 0) return undefined;
    return this.workflowMetas(d.p, d.n).find((m) => m.idx === d.wf);
  }

  jobRecords(m: WorkflowMeta): JsonObject[] {
    const tl = this.timeline(m);
    const states = this.jobStates(m);
    const out: JsonObject[] = [];
    for (let j = 0; j < tl.names.length; j++) {
      const st = states[j] as { status: string; started: number | null; stopped: number | null };
      const id = this.jobId(m.p, m.n, m.idx, j);
      const rec: JsonObject = { dependencies: (tl.deps[j] as number[]).map((d) => this.jobId(m.p, m.n, m.idx, d)) };
      const approval = tl.types[j] === 'approval';
      if (!approval && st.started !== null) {
        rec.job_number = this.jobNumber(m, j);
      }
      rec.id = id;
      rec.started_at = st.started === null ? null : iso(st.started);
      rec.name = tl.names[j] as string;
      if (approval && st.status === 'success') {
        rec.approved_by = pick(hashInts(this.key, T.approver, m.p.gIdx, m.n, m.idx), this.users).id;
      }
      rec.project_slug = m.p.slug;
      rec.status = st.status;
      rec.type = tl.types[j] as string;
      // An approval job not yet approved has no stopped_at key at all (live API, test/reference/README.md).
      if (!(approval && st.stopped === null)) rec.stopped_at = st.stopped === null ? null : iso(st.stopped);
      if (approval) rec.approval_request_id = id;
      out.push(rec);
    }
    return out;
  }

  /** job_number of job j of a workflow: invertible (see jobByNumber), unique within the project. */
  private jobNumber(m: WorkflowMeta, j: number): number {
    const jobsMax = Math.max(1, this.options.jobsPerWorkflow);
    return ((m.n - 1) * MAX_WORKFLOWS_PER_PIPELINE + m.idx) * jobsMax + j + 1;
  }

  /** The job of a project with this job_number (a job that has not started has none). */
  jobByNumber(p: ProjectEntity, jobNumber: number): { meta: WorkflowMeta; index: number; id: string } | undefined {
    if (!Number.isSafeInteger(jobNumber) || jobNumber < 1) return undefined;
    const jobsMax = Math.max(1, this.options.jobsPerWorkflow);
    const j = (jobNumber - 1) % jobsMax;
    const rest = Math.floor((jobNumber - 1) / jobsMax);
    const idx = rest % MAX_WORKFLOWS_PER_PIPELINE;
    const n = Math.floor(rest / MAX_WORKFLOWS_PER_PIPELINE) + 1;
    if (n > this.pipelineCount(p)) return undefined;
    const meta = this.workflowMetas(p, n).find((m) => m.idx === idx);
    if (!meta || j >= meta.jobCount) return undefined;
    const record = this.jobRecords(meta)[j];
    if (record?.job_number !== jobNumber) return undefined;
    return { meta, index: j, id: record.id as string };
  }

  /** The job list id of a project's job number (for faults aimed at job ids). */
  jobIdByNumber(projectSlug: string, jobNumber: string): string | undefined {
    const p = this.projectBySlug(projectSlug);
    if (!p || !/^\d+$/.test(jobNumber)) return undefined;
    return this.jobByNumber(p, Number(jobNumber))?.id;
  }

  /**
   * Job details (GET /project/{slug}/job/{number}) of every job of a workflow, by index;
   * undefined where the job has no job_number (approval jobs, jobs not started yet).
   */
  jobDetailsRecords(m: WorkflowMeta): (JsonObject | undefined)[] {
    const tl = this.timeline(m);
    const states = this.jobStates(m);
    const p = m.p;
    const wfId = this.workflowId(p, m.n, m.idx);
    const webSlug = p.slug.replace(/^gh\//, 'github/').replace(/^bb\//, 'bitbucket/');
    return states.map((st, j) => {
      if (tl.types[j] === 'approval' || st.started === null) return undefined;
      const h = hashInts(this.key, T.jobExec, p.gIdx, m.n, m.idx, j, m.salt);
      const name = tl.names[j] as string;
      const number = this.jobNumber(m, j);
      const parallelism = name.startsWith('test') ? pick(h, [1, 1, 2, 4]) : 1;
      const runStatus = (i: number): string =>
        st.status === 'failed' ? (i === h % parallelism ? 'failed' : 'success') : st.status;
      let executor: JsonObject;
      if (name === 'deploy') executor = { resource_class: 'small', type: 'docker' };
      else if (name === 'build' && p.gIdx % 4 === 3) executor = { resource_class: 'macos.m1.medium.gen1', type: 'macos' };
      else if (name === 'build' && p.gIdx % 4 === 2) executor = { resource_class: 'arm.medium', type: 'machine' };
      else executor = { resource_class: pick(hashInts(h, 1), DOCKER_CLASSES), type: 'docker' };
      // Deploy jobs use the organization's contexts; about a quarter of the others use one.
      const orgContexts = p.org.contexts.map((c) => c.name);
      let contexts: string[] = [];
      if (name === 'deploy') contexts = orgContexts.slice(0, 2);
      else if (orgContexts.length > 0 && unit(hashInts(h, 2)) < 0.25) contexts = [pick(hashInts(h, 3), orgContexts)];
      const messages = unit(hashInts(h, 4)) < 0.2 ? [{ ...pick(hashInts(h, 5), JOB_MESSAGES) }] : [];
      const ready = tl.ready[j] as number;
      const queued = ready + Math.floor(((st.started as number) - ready) * unit(hashInts(h, 6)));
      // Older GitHub projects answer the old web_url form and no project.id (live API, test/reference/README.md).
      const old = p.org.form === 'gh' && p.gIdx % 2 === 1;
      return {
        web_url: old ? `https://circleci.com/gh/${p.org.name}/${p.name}/${number}` : `https://app.circleci.com/pipelines/${webSlug}/${m.n}/workflows/${wfId}/jobs/${number}`,
        project: old ? ({ slug: p.slug, name: p.name, external_url: p.vcsUrl } as JsonObject) : { id: p.id, slug: p.slug, name: p.name, external_url: p.vcsUrl },
        parallel_runs: Array.from({ length: parallelism }, (_, i) => ({ index: i, status: runStatus(i) })),
        started_at: iso(st.started),
        latest_workflow: { id: wfId, name: m.name },
        name,
        executor,
        parallelism,
        status: st.status,
        number,
        pipeline: { id: this.pipelineId(p, m.n) },
        duration: st.stopped === null ? null : st.stopped - st.started,
        created_at: iso(ready),
        messages,
        contexts: contexts.map((c) => ({ name: c })),
        organization: { name: p.org.name },
        queued_at: iso(queued),
        stopped_at: st.stopped === null ? null : iso(st.stopped),
      };
    });
  }

  /**
   * Test metadata (GET /project/{slug}/{number}/tests) of job j, in listing order. Tests
   * are stored when a job finishes: running, approval and unstarted jobs have none. Most
   * test jobs and a few build jobs have a suite; a failed job's failing test is listed
   * twice (the runner retried it), as is a flaky test of a successful job, because
   * JUnit reports repeat a testcase per attempt.
   */
  testItems(m: WorkflowMeta, j: number): JsonObject[] {
    const tl = this.timeline(m);
    const st = this.jobStates(m)[j];
    if (!st || tl.types[j] === 'approval' || st.stopped === null) return [];
    const name = tl.names[j] as string;
    const h = hashInts(this.key, T.tests, m.p.gIdx, m.n, m.idx, j, m.salt);
    const failed = st.status === 'failed';
    // About two tests per job over a large world (the benchmark preset stays a few million).
    const has = name.startsWith('test') ? failed || unit(h) < 0.5 : name === 'build' ? unit(h) < 0.1 : false;
    if (!has) return [];
    // Mostly small suites; about one in twelve spans several default-size (20) pages.
    const count = unit(hashInts(h, 1)) < 0.08 ? between(hashInts(h, 2), 21, 45) : between(hashInts(h, 2), 1, 6);
    const runner = TEST_RUNNERS[m.p.gIdx % TEST_RUNNERS.length] as TestRunner;
    const combos = TEST_MODULES.length * TEST_BEHAVIOURS.length;
    const first = hashInts(h, 3) % combos;
    const items: JsonObject[] = [];
    for (let i = 0; i < count; i++) {
      const c = (first + i) % combos;
      const mod = TEST_MODULES[Math.floor(c / TEST_BEHAVIOURS.length)] as string;
      const [sentence, snake, camel] = TEST_BEHAVIOURS[c % TEST_BEHAVIOURS.length] as readonly [string, string, string];
      const skipped = unit(hashInts(h, 4, i)) < 0.08;
      items.push(this.testItem(runner, m.p, mod, sentence, snake, camel, skipped ? 'skipped' : 'success', hashInts(h, 5, i)));
    }
    const retried = failed ? hashInts(h, 6) % count : count >= 2 && unit(hashInts(h, 7)) < 0.2 ? hashInts(h, 6) % count : -1;
    if (retried >= 0) {
      const t = items[retried] as JsonObject;
      const failure = pick(hashInts(h, 8), TEST_FAILURES);
      items[retried] = { ...t, message: failure, result: 'failure' };
      const again = failed
        ? { ...t, message: failure, result: 'failure', run_time: roundSeconds(hashInts(h, 9)) }
        : { ...t, message: null, result: 'success', run_time: roundSeconds(hashInts(h, 9)) };
      items.splice(retried + 1, 0, again);
    }
    return items;
  }

  private testItem(
    runner: TestRunner,
    p: ProjectEntity,
    mod: string,
    sentence: string,
    snake: string,
    camel: string,
    result: 'success' | 'skipped',
    h: number,
  ): JsonObject {
    const Mod = mod.charAt(0).toUpperCase() + mod.slice(1);
    let file: string;
    let classname: string;
    let name: string;
    if (runner === 'jest') {
      file = `src/${mod}/${mod}.test.ts`;
      classname = `${mod} service`;
      name = `${mod} service ${sentence}`;
    } else if (runner === 'pytest') {
      file = `tests/test_${mod}.py`;
      classname = `tests.test_${mod}.Test${Mod}`;
      name = `test_${snake}`;
    } else if (runner === 'gotestsum') {
      // go test's JUnit output names no file. The spec requires `file` as a (non-null)
      // string, so the fake sends '' (the spec wins over guessing null or absent).
      file = '';
      classname = `github.com/${p.org.name}/${p.name}/internal/${mod}`;
      name = `Test${Mod}${camel}`;
    } else {
      file = `./spec/${mod}_spec.rb`;
      classname = `spec.${mod}_spec`;
      name = `${Mod} ${sentence}`;
    }
    // `message` is x-nullable in the spec: passing tests have none (null); a JUnit
    // <skipped/> without text gives ''.
    return { message: result === 'skipped' ? '' : null, source: runner, run_time: roundSeconds(h), file, result, name, classname };
  }

  // -------------------------------------------------------------------------------------
  // Advancing the world
  // -------------------------------------------------------------------------------------

  get now(): string {
    return iso(this.nowMs);
  }

  advanceTime(ms: number): void {
    if (!(ms >= 0)) throw new Error('advanceTime: ms must be >= 0');
    this.nowMs += Math.floor(ms);
    this.version++;
  }

  /** Add `count` new pipelines (newest, created at about `now`) to a project. */
  addPipelines(projectSlug: string, count: number): JsonObject[] {
    const p = this.requireProject(projectSlug);
    if (this.pipelineCount(p) + count >= MAX_PIPELINES) throw new Error('too many pipelines');
    const out: JsonObject[] = [];
    for (let j = 0; j < count; j++) {
      const prev = this.pipelineUpdatedMs(p, this.pipelineCount(p));
      const t = Math.max(this.nowMs - (count - 1 - j) * 1000, prev + 1000);
      p.added.push(t);
      out.push(this.pipelineRecord(p, this.pipelineCount(p)));
    }
    const newest = this.pipelineUpdatedMs(p, this.pipelineCount(p));
    if (newest > this.nowMs) this.nowMs = newest;
    this.version++;
    return out;
  }

  /**
   * Re-run a workflow of a pipeline (default: its newest failed workflow, else its newest
   * workflow): a new workflow id, created now, running; pipeline.updated_at is unchanged.
   */
  rerunWorkflow(pipelineId: string, workflowId?: string): JsonObject {
    const ref = this.pipelineById(pipelineId);
    if (!ref) throw new Error(`rerunWorkflow: unknown pipeline ${pipelineId}`);
    const { project: p, number: n } = ref;
    const metas = this.workflowsOfPipeline(p, n);
    if (metas.length === 0) throw new Error(`rerunWorkflow: pipeline ${pipelineId} has no workflows`);
    const target = workflowId
      ? metas.find((m) => this.workflowId(m.p, m.n, m.idx) === workflowId)
      : (metas.find((m) => this.workflowStatus(m) === 'failed') ?? metas[0]);
    if (!target) throw new Error(`rerunWorkflow: unknown workflow ${workflowId}`);
    const idx = Math.max(...metas.map((m) => m.idx)) + 1;
    if (idx >= MAX_WORKFLOWS_PER_PIPELINE) throw new Error('rerunWorkflow: too many workflows');
    const newest = Math.max(...metas.map((m) => m.createdMs));
    const created = Math.max(this.nowMs, newest + 1000);
    if (created > this.nowMs) this.nowMs = created;
    let plan: WorkflowStatus = 'running';
    if (target.template === 'approval' && target.jobCount === 2) plan = 'on_hold';
    const meta: WorkflowMeta = {
      p,
      n,
      idx,
      name: target.name,
      template: target.template,
      jobCount: target.jobCount,
      createdMs: created,
      plan,
      finished: false,
      startedBy: (this.users[0] as User).id,
      salt: this.version + 1,
    };
    const list = p.reruns.get(n) ?? [];
    list.push(meta);
    p.reruns.set(n, list);
    this.version++;
    return this.workflowRecord(meta);
  }

  /**
   * Finish every running/on_hold/failing workflow: running and on_hold become success,
   * failing becomes failed; stopped_at is set and jobs finish. Returns how many changed.
   */
  finishRunningWorkflows(): number {
    const changed: WorkflowMeta[] = [];
    for (const p of this.projects) {
      const count = this.pipelineCount(p);
      const from = Math.max(1, Math.min(p.baseCount - this.inProgressWindow(p) + 1, count));
      for (let n = from; n <= count; n++) {
        for (const m of this.workflowMetas(p, n)) {
          if (this.isInProgressPlan(m.plan) && !m.finished) changed.push(m);
        }
      }
      // explicit reruns on older pipelines
      for (const [n, list] of p.reruns) {
        for (const m of list) {
          if (n < from && this.isInProgressPlan(m.plan) && !m.finished) changed.push(m);
          m.finished = true;
        }
      }
      p.finishMarks.push({ through: count, atMs: this.nowMs });
    }
    // Workflows finish on their own timeline; the clock moves to the last finish if needed.
    for (const m of changed) {
      m.finished = true;
      const stopped = this.workflowStoppedMs(m);
      if (stopped !== null && stopped > this.nowMs) this.nowMs = stopped;
    }
    this.version++;
    return changed.length;
  }

  /**
   * A project that joins an organization later (its pipelines are derived like the
   * others', so it arrives with a history). Returns its slug.
   */
  addProject(orgIdOrSlug: string): string {
    const org = this.orgById(orgIdOrSlug) ?? this.orgBySlug(orgIdOrSlug);
    if (!org) throw new Error(`addProject: unknown organization ${orgIdOrSlug}`);
    if (this.projects.length >= MAX_PROJECTS) throw new Error('too many projects');
    this.buildProject(org, org.projects.length);
    this.version++;
    return (this.projects[this.projects.length - 1] as ProjectEntity).slug;
  }

  /** Edit a schedule: bumps its `updated-at` to now. */
  editSchedule(id: string): ScheduleRecord {
    for (const p of this.projects) {
      const s = p.schedules.find((x) => x.id === id);
      if (s) {
        const prev = Date.parse(s['updated-at']);
        s['updated-at'] = iso(Math.max(this.nowMs, prev + 1));
        s.name = s.name.endsWith(' (edited)') ? s.name : `${s.name} (edited)`;
        this.version++;
        return structuredClone(s);
      }
    }
    throw new Error(`editSchedule: unknown schedule ${id}`);
  }

  /** Add a deploy environment to an organization, created and updated now. */
  addDeployEnvironment(orgId: string, name?: string): EnvironmentRecord {
    const org = this.orgById(orgId);
    if (!org) throw new Error(`addDeployEnvironment: unknown organization ${orgId}`);
    const i = org.environments.length;
    const envName = name ?? `env-${i + 1}`;
    const rec: EnvironmentRecord = {
      id: uuidFrom(this.key, T.env, org.index, i, this.version + 1),
      name: envName,
      description: `${envName} environment`,
      created_at: this.now,
      updated_at: this.now,
      labels: [{ key: 'env', value: envName }],
    };
    org.environments.push(rec);
    this.version++;
    return structuredClone(rec);
  }

  private requireProject(slug: string): ProjectEntity {
    const p = this.projectBySlug(slug);
    if (!p) throw new Error(`unknown project ${slug}`);
    return p;
  }

  // -------------------------------------------------------------------------------------
  // Truth: what a connector should hold after a full read
  // -------------------------------------------------------------------------------------

  /** All project slugs, in org order. */
  projectSlugs(): string[] {
    return this.projects.map((p) => p.slug);
  }

  truth(stream: StreamName, options: TruthOptions = {}): JsonObject[] {
    return [...this.iterateTruth(stream, options)];
  }

  /** Streaming variant of truth() for large worlds. */
  *iterateTruth(stream: StreamName, options: TruthOptions = {}): Generator<JsonObject> {
    const start = options.startDate ? Date.parse(options.startDate) : -Infinity;
    if (Number.isNaN(start)) throw new Error(`invalid startDate ${options.startDate}`);
    const selected = (): ProjectEntity[] => {
      if (!options.projectSlugs) return this.projects;
      return options.projectSlugs.map((s) => this.requireProject(s));
    };
    // The project stream and those under it cover every project the token can see (its
    // organizations' and the configured ones), in the world's order; the history, the scope.
    const chosen = new Set([...this.memberOrgs.flatMap((o) => o.projects), ...selected()]);
    const inScope = this.projects.filter((p) => chosen.has(p));
    const slugInScope = (slug: unknown) => chosen.has(this.requireProject(String(slug)));
    switch (stream) {
      case 'collaborations':
        yield* this.collaborations();
        return;
      case 'context':
        for (const o of this.memberOrgs) for (const c of this.contexts(o)) yield { ...c, organization_id: o.id };
        return;
      case 'groups':
        for (const o of this.memberOrgs) for (const g of this.groups(o)) yield { ...g, organization_id: o.id };
        return;
      case 'deploy':
        for (const o of this.memberOrgs) {
          for (const e of this.environments(o)) if (Date.parse(e.updated_at) >= start) yield { ...e, organization_id: o.id };
        }
        return;
      case 'project':
        for (const p of inScope) yield this.projectRecord(p);
        return;
      case 'pipeline_definition':
        for (const p of inScope) {
          for (const d of this.definitions(p)) yield { ...d, project_id: p.id, organization_id: p.org.id };
        }
        return;
      case 'trigger':
        for (const p of inScope) {
          for (const d of p.definitions) {
            for (const t of this.triggers(d)) {
              // What a destination may hold: the webhook URL without its `secret` (issue #13).
              yield { ...withoutWebhookSecret(t), project_id: p.id, pipeline_definition_id: d.record.id, organization_id: p.org.id };
            }
          }
        }
        return;
      case 'schedule':
        for (const p of inScope) for (const s of this.schedules(p)) if (Date.parse(s['updated-at']) >= start) yield s;
        return;
      case 'pipelines':
      case 'workflows':
      case 'jobs':
        for (const p of selected()) {
          for (let n = this.pipelineCount(p); n >= 1; n--) {
            if (this.pipelineUpdatedMs(p, n) < start) continue;
            if (stream === 'pipelines') {
              yield this.pipelineRecord(p, n);
              continue;
            }
            for (const m of this.workflowsOfPipeline(p, n)) {
              if (stream === 'workflows') {
                yield this.workflowRecord(m);
                continue;
              }
              const wfId = this.workflowId(m.p, m.n, m.idx);
              const wfCreated = iso(m.createdMs);
              // The connector takes a job's _pipeline_id from its workflow record: null under a legacy workflow.
              const pipelineId = this.legacyWorkflow(m) ? null : this.pipelineId(m.p, m.n);
              for (const j of this.jobRecords(m)) yield { ...j, _workflow_id: wfId, _workflow_created_at: wfCreated, _pipeline_id: pipelineId };
            }
          }
        }
        return;
      case 'job_details':
        yield* this.jobDetailsTruth(options);
        return;
      case 'tests':
        yield* this.testsTruth(options);
        return;
      case 'usage':
        for (const o of this.memberOrgs) yield* usageTruthRecords(this, o.id, options.startDate);
        return;
      // The inventory covers every project and context; what the connector drops (masked
      // values, signing secrets, URL credentials) is not in the truth.
      case 'deploy_components':
        yield* deployComponentsTruth(this);
        return;
      case 'deploy_component_versions': {
        const orgOf = new Map(deployComponentsTruth(this).map((c) => [c.id, c.organization_id]));
        for (const v of deployVersionsTruth(this)) yield { ...v, organization_id: orgOf.get(v.component_id) as string };
        return;
      }
      case 'project_env_vars':
        for (const { value: _masked, ...v } of envVarsTruth(this)) if (slugInScope(v.project_slug)) yield { ...v, project_id: this.requireProject(String(v.project_slug)).id };
        return;
      case 'project_checkout_keys':
        for (const k of checkoutKeysTruth(this)) if (slugInScope(k.project_slug)) yield { ...k, project_id: this.requireProject(String(k.project_slug)).id };
        return;
      case 'context_env_vars':
        for (const o of this.memberOrgs) {
          const ids = new Set(o.contexts.map((c) => c.id));
          for (const v of contextEnvVarsTruth(this)) if (ids.has(String(v.context_id))) yield { ...v, organization_id: o.id };
        }
        return;
      case 'webhooks':
        for (const { 'signing-secret': _secret, ...w } of webhooksTruth(this)) {
          const p = this.projectById(String((w.scope as JsonObject).id))!;
          if (chosen.has(p)) yield { ...w, url: webhookUrlWithoutToken(String(w.url)), project_slug: p.slug };
        }
        return;
      case 'insights_workflows':
      case 'insights_jobs':
      case 'insights_workflow_runs':
      case 'flaky_tests':
      case 'insights_org_summary':
        yield* insightsTruth(this, stream, options, selected().map((p) => p.slug));
        return;
      default: {
        const never: never = stream;
        throw new Error(`unknown stream ${String(never)}`);
      }
    }
  }

  /** Workflows of the selected projects' pipelines updated at/after startDate (the jobs selection). */
  private *selectedWorkflows(options: TruthOptions): Generator<WorkflowMeta> {
    const start = options.startDate ? Date.parse(options.startDate) : -Infinity;
    if (Number.isNaN(start)) throw new Error(`invalid startDate ${options.startDate}`);
    const projects = options.projectSlugs ? options.projectSlugs.map((s) => this.requireProject(s)) : this.projects;
    for (const p of projects) {
      for (let n = this.pipelineCount(p); n >= 1; n--) {
        if (this.pipelineUpdatedMs(p, n) < start) continue;
        yield* this.workflowsOfPipeline(p, n);
      }
    }
  }

  /**
   * Job details of every job with a job_number, as served, plus the job list's id and the
   * workflow fields the jobs truth adds (kept out of truth(stream): the connector's stream
   * list is not the fake's to extend).
   */
  *jobDetailsTruth(options: TruthOptions = {}): Generator<JsonObject> {
    for (const m of this.selectedWorkflows(options)) {
      const jobs = this.jobRecords(m);
      const details = this.jobDetailsRecords(m);
      const wf = { _workflow_id: this.workflowId(m.p, m.n, m.idx), _workflow_created_at: iso(m.createdMs) };
      for (const [j, d] of details.entries()) {
        if (d) yield { ...d, _job_id: (jobs[j] as JsonObject).id as string, ...wf };
      }
    }
  }

  /**
   * One record per test item of every job with a job_number, as served, plus job and
   * workflow fields and `_test_key` (see testKeys).
   */
  *testsTruth(options: TruthOptions = {}): Generator<JsonObject> {
    for (const m of this.selectedWorkflows(options)) {
      const wf = { _workflow_id: this.workflowId(m.p, m.n, m.idx), _workflow_created_at: iso(m.createdMs) };
      for (const [j, job] of this.jobRecords(m).entries()) {
        if (job.job_number === undefined) continue;
        const items = this.testItems(m, j);
        const keys = testKeys(items);
        for (const [i, t] of items.entries()) {
          yield {
            ...t,
            _job_id: job.id as string,
            _job_number: job.job_number,
            ...wf,
            project_slug: m.p.slug,
            _test_key: keys[i] as string,
          };
        }
      }
    }
  }

  /** Record counts per stream (iterates lazily; a million-job world takes a few seconds). */
  counts(options: TruthOptions = {}): Record<StreamName, number> {
    const out = {} as Record<StreamName, number>;
    for (const s of STREAM_NAMES) {
      let c = 0;
      for (const _ of this.iterateTruth(s, options)) c++;
      out[s] = c;
    }
    return out;
  }
}

function roundSeconds(h: number): number {
  return between(h, 1, 2500) / 1000;
}

/**
 * Keys of a job's test items, stable across syncs and unique within the job:
 * `${file}::${classname}::${name}`, with `#k` appended to the k-th (k >= 2) occurrence
 * of the same triple in listing order. The connector implements the same rule.
 */
function testKeys(items: readonly JsonObject[]): string[] {
  const seen = new Map<string, number>();
  return items.map((t) => {
    const base = `${(t.file as string | null | undefined) ?? ''}::${(t.classname as string | null | undefined) ?? ''}::${(t.name as string | null | undefined) ?? ''}`;
    const k = (seen.get(base) ?? 0) + 1;
    seen.set(base, k);
    return k === 1 ? base : `${base}#${k}`;
  });
}

function workflowName(idx: number): string {
  return idx === 0 ? 'build-and-test' : idx === 1 ? 'deploy' : idx === 2 ? 'nightly' : `workflow-${idx + 1}`;
}

function validateOptions(o: WorldOptions): void {
  const ints: (keyof WorldOptions)[] = [
    'organizations',
    'projectsPerOrg',
    'pipelinesPerProject',
    'workflowsPerPipeline',
    'jobsPerWorkflow',
    'pageSize',
    'contextsPerOrg',
    'groupsPerOrg',
    'environmentsPerOrg',
  ];
  for (const k of ints) {
    const v = o[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new Error(`world option ${k} must be a non-negative integer`);
  }
  if (!Number.isInteger(o.seed)) throw new Error('world option seed must be an integer');
  if (o.pageSize < 1) throw new Error('world option pageSize must be >= 1');
  if (o.workflowsPerPipeline < 1 || o.jobsPerWorkflow < 1) throw new Error('workflowsPerPipeline and jobsPerWorkflow must be >= 1');
  if (o.workflowsPerPipeline > 64) throw new Error('workflowsPerPipeline must be <= 64');
  if (o.jobsPerWorkflow > 1000) throw new Error('jobsPerWorkflow must be <= 1000'); // ids hold 16 bits
  if (o.pipelinesPerProject >= MAX_PIPELINES / 2) throw new Error('pipelinesPerProject too large');
  if (Number.isNaN(Date.parse(o.now))) throw new Error(`world option now is not a date: ${o.now}`);
}

/**
 * Create a world. `preset` (default `tiny`) supplies defaults; any option overrides it.
 * Same options (seed included) always give the same world.
 */
export function createWorld(init: WorldInit = {}): World {
  const { preset = 'tiny', ...rest } = init;
  const base = presets[preset];
  if (!base) throw new Error(`unknown preset ${preset}`);
  const defined = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined)) as Partial<WorldOptions>;
  return new World({ seed: 1, ...base, ...defined });
}

/** A trigger as replicated: its webhook URL carries no `secret` query parameter (issue #13). */
function withoutWebhookSecret(trigger: JsonObject): JsonObject {
  const source = trigger.event_source as { webhook?: { url?: string } } | undefined;
  const url = source?.webhook?.url;
  if (url === undefined) return trigger;
  const parsed = new URL(url);
  parsed.searchParams.delete('secret');
  return { ...trigger, event_source: { ...source, webhook: { ...source!.webhook, url: parsed.toString() } } };
}
