/**
 * API answers generated at random from CircleCI's OpenAPI spec (test/reference), not from
 * the fake this project wrote: whatever the spec allows, a read must take. A seeded
 * generator walks the spec's own response schemas ($ref, allOf/anyOf/oneOf, nullable and
 * x-nullable, required) and, at random: omits optional fields, sends null where the spec
 * says nullable, sends enum values the spec does not list, adds fields it does not know,
 * sends values of another type than the spec says (numbers and booleans as strings, some
 * convertible and some not, timestamps without their milliseconds), and pages with empty
 * pages that still carry a next_page_token.
 *
 * `specApi(seed)` serves every endpoint a read uses (msw handlers at TEST_API) and records
 * what it served: the primary keys of every item, and which parents' child listings were
 * asked for, so a test can check that every item with its key became a record.
 */
import { HttpResponse, http, type HttpHandler } from 'msw';

import type { StreamName } from '../../src/streams/schemas/index.js';
import { loadSpec, type OpenApiDocument, type OpenApiSchema } from '../../tools/schemas/derive-stream-schemas.js';
import { flakeKeys } from '../../tools/fake-circleci/insights-truth.js';
import { TEST_API } from './http.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** mulberry32: small, seeded, good enough for test data. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A stable 32-bit hash of text, to derive one generator per route from the seed. */
function hash(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

export interface GeneratorOdds {
  /** A nullable value is null. */
  nullable: number;
  /** An optional property is left out. */
  omitOptional: number;
  /** An enum value is one the spec does not list. */
  unknownEnum: number;
  /** An object carries a field the spec does not list. */
  extraField: number;
  /**
   * A number, integer or boolean is sent as a string (what hand-written mocks and some
   * live answers do): its text, an empty string, or text that is no number at all.
   * A date-time loses its milliseconds (captured live answers have both).
   */
  wrongType: number;
}

export const DEFAULT_ODDS: GeneratorOdds = { nullable: 0.2, omitOptional: 0.35, unknownEnum: 0.15, extraField: 0.3, wrongType: 0.08 };

/**
 * The answers' clock: every answer carries it as its Date header (CircleCI's now, what
 * Insights counts its 90 days from). A read over these answers runs with it as its own
 * clock too (RunOptions.clock), so the snapshots' `_synced_at`, part of their keys, is known.
 */
export const SERVER_NOW = Date.UTC(2026, 0, 1);
/** The `_synced_at` of a read run with SERVER_NOW as its clock. */
const SYNCED_AT = new Date(SERVER_NOW).toISOString();
/** The reporting window the connector asks Insights for. */
const WINDOW = 'last-90-days';

/** Dates fall in this range, so a start date before it reads them all. */
const EARLIEST = Date.UTC(2001, 0, 1);
const LATEST = SERVER_NOW;

/** Generates values that the spec's schemas accept (plus the allowed surprises above). */
export class SpecGenerator {
  constructor(
    private readonly spec: OpenApiDocument,
    private readonly random: () => number,
    private readonly odds: GeneratorOdds = DEFAULT_ODDS,
  ) {}

  private chance(p: number): boolean {
    return this.random() < p;
  }

  private int(min: number, max: number): number {
    return min + Math.floor(this.random() * (max - min + 1));
  }

  uuid(): string {
    const hex = Array.from({ length: 32 }, () => this.int(0, 15).toString(16)).join('');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20)}`;
  }

  private resolve(schema: OpenApiSchema): OpenApiSchema {
    let current = schema;
    for (let hops = 0; current.$ref !== undefined; hops++) {
      if (hops > 20) throw new Error(`$ref chain too long at ${current.$ref}`);
      const { $ref, ...siblings } = current;
      let node: unknown = this.spec;
      for (const raw of $ref.slice(2).split('/')) node = (node as Record<string, unknown>)[raw.replaceAll('~1', '/').replaceAll('~0', '~')];
      if (node === undefined) throw new Error(`unresolvable $ref ${$ref}`);
      current = { ...(node as OpenApiSchema), ...siblings };
    }
    return current;
  }

  /** A value of `schema`; `depth` bounds recursive schemas. */
  value(input: OpenApiSchema, depth = 0): Json {
    const schema = this.resolve(input);
    const nullable = schema.nullable === true || schema['x-nullable'] === true;
    if (nullable && this.chance(this.odds.nullable)) return null;
    if (depth > 8) return null;
    if (schema.allOf) {
      const parts = schema.allOf.map((part) => this.value(part, depth + 1));
      const objects = parts.filter((part): part is JsonObject => part !== null && typeof part === 'object' && !Array.isArray(part));
      return objects.length === parts.length ? Object.assign({}, ...objects) : (parts[0] ?? null);
    }
    const alternatives = schema.anyOf ?? schema.oneOf;
    if (alternatives) return this.value(alternatives[this.int(0, alternatives.length - 1)]!, depth + 1);
    if (schema.enum) {
      if (this.chance(this.odds.unknownEnum) && (schema.type === 'string' || typeof schema.enum[0] === 'string')) return `value-the-spec-does-not-list-${this.int(1, 99)}`;
      return schema.enum[this.int(0, schema.enum.length - 1)] as Json;
    }
    const type = schema.type ?? (schema.properties || schema.additionalProperties ? 'object' : schema.items ? 'array' : undefined);
    switch (type) {
      case 'object':
        return this.object(schema, depth);
      case 'array':
        return Array.from({ length: this.int(0, 3) }, () => this.value(schema.items ?? {}, depth + 1));
      case 'string':
        return this.string(schema);
      case 'integer':
        return this.mistyped(this.int(0, 5000), depth);
      case 'number':
        return this.mistyped(this.int(0, 100_000) / 100, depth);
      case 'boolean':
        return this.mistyped(this.chance(0.5), depth);
      default:
        return this.anything();
    }
  }

  private object(schema: OpenApiSchema, depth: number): JsonObject {
    const out: JsonObject = {};
    const required = new Set(schema.required ?? []);
    for (const [name, property] of Object.entries(schema.properties ?? {})) {
      if (!required.has(name) && this.chance(this.odds.omitOptional)) continue;
      out[name] = this.value(property, depth + 1);
    }
    if (schema.additionalProperties && typeof schema.additionalProperties === 'object') {
      for (let i = this.int(0, 2); i > 0; i--) out[`key_${this.int(1, 999)}`] = this.value(schema.additionalProperties, depth + 1);
    }
    if (this.chance(this.odds.extraField)) out[`field_the_spec_does_not_list_${this.int(1, 9)}`] = this.anything();
    return out;
  }

  /**
   * `value`, or at odds wrongType the same as a string: its text, empty, or no number at
   * all. Only inside an answer (depth > 0): a bare number asked for by this file's own
   * page counts and sizes stays a number.
   */
  private mistyped(value: number | boolean, depth: number): Json {
    if (depth === 0 || !this.chance(this.odds.wrongType)) return value;
    const form = this.int(0, 2);
    if (form === 0) return String(value);
    return form === 1 ? '' : 'n/a';
  }

  private string(schema: OpenApiSchema): string {
    if (schema.format === 'date-time') {
      const at = new Date(EARLIEST + Math.floor(this.random() * (LATEST - EARLIEST))).toISOString();
      return this.chance(this.odds.wrongType) ? at.replace(/\.\d{3}Z$/, 'Z') : at;
    }
    if (schema.format === 'uuid') return this.uuid();
    if (typeof schema.example === 'string' && this.chance(0.5)) return schema.example;
    return `text-${this.int(0, 1_000_000).toString(36)}`;
  }

  private anything(): Json {
    switch (this.int(0, 4)) {
      case 0:
        return null;
      case 1:
        return this.int(-5, 5);
      case 2:
        return `any-${this.int(0, 99)}`;
      case 3:
        return { nested: [this.chance(0.5), 'x', null] };
      default:
        return [1, 'two', null];
    }
  }

  /** The schema of one list item (or the body) of a GET path's 200 answer. */
  responseSchema(path: string): OpenApiSchema {
    const body = this.spec.paths[path]?.get?.responses?.['200']?.content?.['application/json']?.schema;
    if (!body) throw new Error(`no GET ${path} 200 schema in the spec`);
    return this.resolve(body);
  }

  listItemSchema(path: string): OpenApiSchema {
    const body = this.responseSchema(path);
    const items = body.type === 'array' ? body.items : this.resolve(body.properties?.['items'] ?? {}).items;
    if (!items) throw new Error(`GET ${path} 200 has no list items`);
    return items;
  }
}

/** The primary key of an item as the connector would record it, or undefined when a part is missing. */
function keyOf(parts: readonly unknown[]): string | undefined {
  return parts.every((part) => part !== undefined && part !== null && typeof part !== 'object') ? JSON.stringify(parts) : undefined;
}

export interface SpecApi {
  handlers: HttpHandler[];
  /** Primary keys (JSON of the key values) of every item served with its key, per stream. */
  served: Map<StreamName, string[]>;
  /** Items served without their key, per stream. */
  keyless: Map<StreamName, number>;
  /** Per child listing route, the parents it was asked for (org ids, project ids/slugs, definition ids, pipeline ids, workflow ids, job refs). */
  listed: Map<string, Set<string>>;
  /** Pipelines served without `updated_at`: id → created_at. */
  pipelinesWithoutUpdatedAt: Map<string, Json>;
  /** Definitions served, by id, with their config_source provider. */
  definitionProviders: Map<string, Json>;
  /** Secret values served: webhook URL credentials (`?secret=`, `?token=`), signing secrets, env var values. */
  secrets: string[];
  /** Empty pages served that carried a next_page_token. */
  emptyPagesWithToken(): number;
  /** Every test result the tests listing of one job (`slug#number`) holds, in listing order, whether served yet or not. */
  testsOf(job: string): JsonObject[];
}

/** How the job-level routes name a job: `project-slug#job-number`. */
export function jobRef(slug: unknown, number: unknown): string {
  return `${String(slug)}#${String(number)}`;
}

const PATHS = {
  collaborations: '/me/collaborations',
  context: '/context',
  groups: '/organizations/{org_id}/groups',
  deploy: '/deploy/environments',
  project: '/project/{project-slug}',
  pipeline_definition: '/projects/{project_id}/pipeline-definitions',
  trigger: '/projects/{project_id}/pipeline-definitions/{pipeline_definition_id}/triggers',
  schedule: '/project/{project-slug}/schedule',
  pipelines: '/project/{project-slug}/pipeline',
  workflows: '/pipeline/{pipeline-id}/workflow',
  jobs: '/workflow/{id}/job',
  job_details: '/project/{project-slug}/job/{job-number}',
  tests: '/project/{project-slug}/{job-number}/tests',
  deploy_components: '/deploy/components',
  deploy_component_versions: '/deploy/components/{component_id}/versions',
  project_env_vars: '/project/{project-slug}/envvar',
  project_checkout_keys: '/project/{project-slug}/checkout-key',
  context_env_vars: '/context/{context_id}/environment-variable',
  webhooks: '/webhook',
  insights_workflows: '/insights/{project-slug}/workflows',
  insights_jobs: '/insights/{project-slug}/workflows/{workflow-name}/jobs',
  insights_workflow_runs: '/insights/{project-slug}/workflows/{workflow-name}',
  flaky_tests: '/insights/{project-slug}/flaky-tests',
  insights_org_summary: '/insights/{org-slug}/summary',
} as const;

/** An answer as CircleCI sends it: JSON, with the server's Date. */
function json(body: Json, init: { status?: number } = {}): Response {
  return HttpResponse.json(body, { ...init, headers: { Date: new Date(SERVER_NOW).toUTCString() } });
}

/**
 * msw handlers answering from the spec's schemas with `seed`. Each listing's pages are
 * decided by the seed and the listing (route and parent), not by the order requests come
 * in, so concurrent reads get the same answers.
 */
export function specApi(seed: number, spec: OpenApiDocument = loadSpec(), odds: GeneratorOdds = DEFAULT_ODDS): SpecApi {
  const served = new Map<StreamName, string[]>();
  const keyless = new Map<StreamName, number>();
  const listed = new Map<string, Set<string>>();
  const pipelinesWithoutUpdatedAt = new Map<string, Json>();
  const definitionProviders = new Map<string, Json>();
  const secrets: string[] = [];
  /** Project slug → id, from the project details served (the inventory's project-level records carry the id). */
  const projectId = new Map<string, Json>();
  /** Project id → organization_id, from the project details served. */
  const projectOrg = new Map<string, Json>();
  /** Organization slug → the ids of the collaborations with that slug (the summary's records carry the id). */
  const orgIds = new Map<string, Json[]>();
  /** Single-answer listings already counted (each is counted the first time it is served). */
  const counted = new Set<string>();
  const firstTime = (key: string) => !counted.has(key) && Boolean(counted.add(key));
  let emptyWithToken = 0;
  const pages = new Map<string, Array<{ items: JsonObject[]; next: string | null | undefined }>>();

  const generator = (listing: string) => new SpecGenerator(spec, seeded(hash(`${seed}:${listing}`)), odds);
  const note = (route: string, parent: string) => {
    const set = listed.get(route) ?? new Set<string>();
    set.add(parent);
    listed.set(route, set);
  };
  const record = (stream: StreamName, parts: readonly unknown[]) => {
    const key = keyOf(parts);
    if (key === undefined) keyless.set(stream, (keyless.get(stream) ?? 0) + 1);
    else served.set(stream, [...(served.get(stream) ?? []), key]);
  };

  /** The pages of one listing: 1-3 pages of 0-4 items, empty pages with a next token included. */
  function listing(listingKey: string, path: string, shape?: (item: JsonObject, gen: SpecGenerator) => JsonObject) {
    let book = pages.get(listingKey);
    if (!book) {
      const gen = generator(listingKey);
      const schema = gen.listItemSchema(path);
      const count = 1 + Math.floor(gen.value({ type: 'integer' }) as number) % 3;
      book = Array.from({ length: count }, (_, index) => {
        const empty = index < count - 1 && gen.value({ type: 'boolean' }) === true && gen.value({ type: 'boolean' }) === true;
        const size = empty ? 0 : (gen.value({ type: 'integer' }) as number) % 5;
        const items = Array.from({ length: size }, () => {
          const item = gen.value(schema) as JsonObject;
          return shape ? shape(item, gen) : item;
        });
        // The last page ends the listing with null, an empty string, or no token at all.
        const last = index === count - 1;
        const ends = [null, '', undefined] as const;
        return { items, next: last ? ends[(gen.value({ type: 'integer' }) as number) % 3] : `${listingKey}#${index + 1}` };
      });
      pages.set(listingKey, book);
    }
    return book;
  }

  /** Answers one page request and counts the page's items the first time it is served. */
  function page(request: Request, listingKey: string, path: string, count: (item: JsonObject) => void, shape?: (item: JsonObject, gen: SpecGenerator) => JsonObject) {
    const book = listing(listingKey, path, shape);
    const token = new URL(request.url).searchParams.get('page-token');
    const index = token === null ? 0 : Number(token.slice(token.lastIndexOf('#') + 1));
    const current = book[index];
    if (current === undefined || (token !== null && token !== `${listingKey}#${index}`)) return json({ message: 'bad page token' }, { status: 404 });
    if (!(current as { counted?: boolean }).counted) {
      (current as { counted?: boolean }).counted = true;
      for (const item of current.items) count(item);
      if (current.items.length === 0 && current.next) emptyWithToken += 1;
    }
    const body: JsonObject = { items: current.items };
    if (current.next !== undefined) body.next_page_token = current.next;
    return json(body);
  }

  const api = (path: string) => `${TEST_API}/api/v2${path}`;
  const slugOf = (params: Record<string, unknown>) => `${String(params.vcs)}/${String(params.org)}/${String(params.repo)}`;

  const handlers: HttpHandler[] = [
    http.get(api('/me/collaborations'), () => {
      const gen = generator('collaborations');
      const schema = gen.listItemSchema(PATHS.collaborations);
      const items = Array.from({ length: 1 + ((gen.value({ type: 'integer' }) as number) % 3) }, () => gen.value(schema) as JsonObject);
      if (!listed.has('collaborations')) {
        for (const item of items) {
          record('collaborations', [item.id]);
          orgIds.set(String(item.slug), [...(orgIds.get(String(item.slug)) ?? []), item.id ?? null]);
        }
      }
      note('collaborations', 'me');
      return json(items);
    }),
    http.get(api('/context'), ({ request }) => {
      const org = new URL(request.url).searchParams.get('owner-id') ?? '';
      note('context', org);
      return page(request, `context:${org}`, PATHS.context, (item) => record('context', [item.id, org]));
    }),
    http.get(api('/organizations/:org/groups'), ({ request, params }) => {
      const org = String(params.org);
      note('groups', org);
      return page(request, `groups:${org}`, PATHS.groups, (item) => record('groups', [item.id, org]));
    }),
    http.get(api('/deploy/environments'), ({ request }) => {
      const org = new URL(request.url).searchParams.get('org-id') ?? '';
      note('deploy', org);
      return page(request, `deploy:${org}`, PATHS.deploy, (item) => record('deploy', [item.id, org]));
    }),
    // Not in the spec (test/reference/README.md): items carry id, name and slug.
    http.get(`${TEST_API}/api/private/project`, ({ request }) => {
      const org = new URL(request.url).searchParams.get('organization-id') ?? '';
      note('private_projects', org);
      const gen = generator(`private:${org}`);
      const count = (gen.value({ type: 'integer' }) as number) % 4;
      const items = Array.from({ length: count }, (_, i) => ({ id: gen.uuid(), name: `repo-${i}`, slug: `gh/org-${hash(org) % 1000}/repo-${i}` }));
      return json({ items, next_page_token: null });
    }),
    http.get(api('/project/:vcs/:org/:repo'), ({ params }) => {
      const slug = slugOf(params);
      const gen = generator(`project:${slug}`);
      // CircleCI answers the slug it was asked for.
      const detail: JsonObject = { ...(gen.value(gen.responseSchema(PATHS.project)) as JsonObject), slug };
      if (!listed.get('project')?.has(slug)) {
        record('project', [detail.id, detail.organization_id]);
        if (typeof detail.id === 'string') projectOrg.set(detail.id, detail.organization_id ?? null);
        projectId.set(slug, detail.id ?? null);
      }
      note('project', slug);
      return json(detail);
    }),
    http.get(api('/projects/:project/pipeline-definitions'), ({ request, params }) => {
      const project = String(params.project);
      note('pipeline_definition', project);
      return page(request, `definitions:${project}`, PATHS.pipeline_definition, (item) => {
        record('pipeline_definition', [item.id, project, projectOrg.get(project)]);
        if (typeof item.id === 'string') definitionProviders.set(item.id, (item.config_source as JsonObject | null | undefined)?.provider ?? null);
      });
    }),
    http.get(api('/projects/:project/pipeline-definitions/:definition/triggers'), ({ request, params }) => {
      const project = String(params.project);
      const definition = String(params.definition);
      note('trigger', definition);
      return page(
        request,
        `triggers:${definition}`,
        PATHS.trigger,
        (item) => record('trigger', [item.id, project, definition, projectOrg.get(project)]),
        (item, gen) => {
          // The spec's example: webhook URLs carry the secret as a query parameter.
          const webhook = (item.event_source as JsonObject | null | undefined)?.webhook as JsonObject | null | undefined;
          if (webhook && typeof webhook === 'object') {
            const secret = `whsec${gen.uuid().replaceAll('-', '')}`;
            webhook.url = `https://some-webhook.invalid/some-endpoint?secret=${secret}&sender=x`;
            secrets.push(secret);
          }
          return item;
        },
      );
    }),
    http.get(api('/project/:vcs/:org/:repo/schedule'), ({ request, params }) => {
      const slug = slugOf(params);
      note('schedule', slug);
      return page(request, `schedule:${slug}`, PATHS.schedule, (item) => record('schedule', [item.id, item['project-slug']]));
    }),
    http.get(api('/project/:vcs/:org/:repo/pipeline'), ({ request, params }) => {
      const slug = slugOf(params);
      note('pipelines', slug);
      return page(request, `pipelines:${slug}`, PATHS.pipelines, (item) => {
        record('pipelines', [item.id]);
        if (item.updated_at === undefined && typeof item.id === 'string') pipelinesWithoutUpdatedAt.set(item.id, item.created_at ?? null);
      });
    }),
    http.get(api('/pipeline/:pipeline/workflow'), ({ request, params }) => {
      const pipeline = String(params.pipeline);
      note('workflows', pipeline);
      return page(request, `workflows:${pipeline}`, PATHS.workflows, (item) => record('workflows', [item.id]));
    }),
    // A workflow followed while unfinished, read again by id on a later sync.
    http.get(api('/workflow/:workflow'), ({ params }) => {
      const workflow = String(params.workflow);
      note('workflow', workflow);
      const gen = generator(`workflow:${workflow}`);
      return json({ ...(gen.value(gen.responseSchema('/workflow/{id}')) as JsonObject), id: workflow });
    }),
    http.get(api('/workflow/:workflow/job'), ({ request, params }) => {
      const workflow = String(params.workflow);
      note('jobs', workflow);
      return page(
        request,
        `jobs:${workflow}`,
        PATHS.jobs,
        (item) => record('jobs', [item.id, workflow]),
        // The spec's example and CircleCI's answers: a job's project_slug is vcs/org/repo, the path its details and tests are read at.
        (item, gen) => (typeof item.project_slug === 'string' && item.project_slug.split('/').length === 3 ? item : { ...item, project_slug: `gh/spec-org/repo-${gen.value({ type: 'integer' }) as number}` }),
      );
    }),
    // Job details: one record per job, keyed by the job's id from the list (the connector's).
    http.get(api('/project/:vcs/:org/:repo/job/:number'), ({ params }) => {
      const job = jobRef(slugOf(params), params.number);
      note('job_details', job);
      const gen = generator(`job:${job}`);
      return json(gen.value(gen.responseSchema(PATHS.job_details)) as JsonObject);
    }),
    // Test results: keyed by the connector (_job_id, _test_key), so the test compares them with testsOf.
    http.get(api('/project/:vcs/:org/:repo/:number/tests'), ({ request, params }) => {
      const job = jobRef(slugOf(params), params.number);
      note('tests', job);
      return page(request, `tests:${job}`, PATHS.tests, () => undefined);
    }),
    // The inventory: every listing generated from the spec like the others, with secrets
    // where the spec has fields for them (an env var's value, a webhook's signing secret and URL).
    http.get(api('/deploy/components'), ({ request }) => {
      const org = new URL(request.url).searchParams.get('org-id') ?? '';
      note('deploy_components', org);
      return page(request, `deploy_components:${org}`, PATHS.deploy_components, (item) => record('deploy_components', [item.id, org]));
    }),
    http.get(api('/deploy/components/:component/versions'), ({ request, params }) => {
      const component = String(params.component);
      note('deploy_component_versions', component);
      return page(request, `versions:${component}`, PATHS.deploy_component_versions, (item) => record('deploy_component_versions', [component, item.environment_id, item.name]));
    }),
    http.get(api('/project/:vcs/:org/:repo/envvar'), ({ request, params }) => {
      const slug = slugOf(params);
      note('project_env_vars', slug);
      return page(
        request,
        `envvars:${slug}`,
        PATHS.project_env_vars,
        (item) => record('project_env_vars', [projectId.get(slug), item.name]),
        (item, gen) => {
          if (!Object.hasOwn(item, 'value')) return item;
          const secret = `envsecret${gen.uuid().replaceAll('-', '')}`;
          secrets.push(secret);
          return { ...item, value: secret };
        },
      );
    }),
    http.get(api('/project/:vcs/:org/:repo/checkout-key'), ({ request, params }) => {
      const slug = slugOf(params);
      note('project_checkout_keys', slug);
      return page(request, `checkout_keys:${slug}`, PATHS.project_checkout_keys, (item) => record('project_checkout_keys', [projectId.get(slug), item.fingerprint]));
    }),
    http.get(api('/context/:context/environment-variable'), ({ request, params }) => {
      const context = String(params.context);
      note('context_env_vars', context);
      return page(request, `context_env_vars:${context}`, PATHS.context_env_vars, (item) => record('context_env_vars', [item.context_id, item.variable]));
    }),
    http.get(api('/webhook'), ({ request }) => {
      const scope = new URL(request.url).searchParams.get('scope-id') ?? '';
      note('webhooks', scope);
      return page(
        request,
        `webhooks:${scope}`,
        PATHS.webhooks,
        (item) => record('webhooks', [item.id]),
        (item, gen) => {
          const out = { ...item };
          if (Object.hasOwn(item, 'url')) {
            const secret = `whtoken${gen.uuid().replaceAll('-', '')}`;
            out.url = `https://hooks.invalid/in?token=${secret}&source=circleci`;
            secrets.push(secret);
          }
          if (Object.hasOwn(item, 'signing-secret')) {
            const secret = `whsign${gen.uuid().replaceAll('-', '')}`;
            out['signing-secret'] = secret;
            secrets.push(secret);
          }
          return out;
        },
      );
    }),
    // Insights: the streams' own listings, and what incremental syncs ask for finished runs of older
    // pipelines (reruns): the workflow names of a project, then each name's recent runs.
    http.get(api('/insights/:vcs/:org/:repo/workflows'), ({ request, params }) => {
      const slug = slugOf(params);
      note('insights_workflows', slug);
      // A summary per workflow: the endpoint aggregates a project's runs by workflow name, so no name comes twice.
      const names = new Set<string>();
      return page(
        request,
        `insights_workflows:${slug}`,
        PATHS.insights_workflows,
        (item) => record('insights_workflows', [slug, item.name, WINDOW, SYNCED_AT]),
        (item) => {
          let name = String(item.name);
          while (names.has(name)) name += '-again';
          names.add(name);
          return { ...item, name };
        },
      );
    }),
    http.get(api('/insights/:vcs/:org/:repo/workflows/:name'), ({ request, params }) => {
      const key = `${slugOf(params)}/${String(params.name)}`;
      note('insights_workflow_runs', key);
      // The spec: runs "that started at or after" start-date, going back at most 90 days.
      const start = new URL(request.url).searchParams.get('start-date');
      const from = start === null ? SERVER_NOW - 90 * 86_400_000 : Date.parse(start);
      return page(
        request,
        `insights_runs:${key}:${start ?? ''}`,
        PATHS.insights_workflow_runs,
        (item) => record('insights_workflow_runs', [item.id]),
        (item, gen) => ({ ...item, created_at: new Date(from + Math.floor((gen.value({ type: 'integer' }) as number) / 5000 * (SERVER_NOW - from))).toISOString() }),
      );
    }),
    http.get(api('/insights/:vcs/:org/:repo/workflows/:name/jobs'), ({ request, params }) => {
      const slug = slugOf(params);
      const name = String(params.name);
      note('insights_jobs', `${slug}/${name}`);
      return page(request, `insights_jobs:${slug}/${name}`, PATHS.insights_jobs, (item) => record('insights_jobs', [slug, name, item.name, WINDOW, SYNCED_AT]));
    }),
    http.get(api('/insights/:vcs/:org/:repo/flaky-tests'), ({ params }) => {
      const slug = slugOf(params);
      note('flaky_tests', slug);
      const gen = generator(`flaky_tests:${slug}`);
      const body = gen.value(gen.responseSchema(PATHS.flaky_tests)) as JsonObject;
      if (firstTime(`flaky_tests:${slug}`)) for (const key of flakeKeys(body['flaky-tests'] as JsonObject[])) record('flaky_tests', [slug, key, SYNCED_AT]);
      return json(body);
    }),
    // An organization slug has one or two segments (`gh/acme`); a project route has more.
    http.get(new RegExp(`^${TEST_API}/api/v2/insights/([^/?]+(?:/[^/?]+)?)/summary(?:\\?|$)`), ({ request }) => {
      const raw = new URL(request.url).pathname.replace(/^\/api\/v2\/insights\//, '').replace(/\/summary$/, '');
      const slug = raw.split('/').map(decodeURIComponent).join('/');
      note('insights_org_summary', slug);
      const gen = generator(`summary:${slug}`);
      if (firstTime(`summary:${slug}`)) for (const id of orgIds.get(slug) ?? []) record('insights_org_summary', [id, WINDOW, SYNCED_AT]);
      return json(gen.value(gen.responseSchema(PATHS.insights_org_summary)) as JsonObject);
    }),
  ];
  const testsOf = (job: string) => listing(`tests:${job}`, PATHS.tests).flatMap((one) => one.items);
  return { handlers, served, keyless, listed, pipelinesWithoutUpdatedAt, definitionProviders, secrets, emptyPagesWithToken: () => emptyWithToken, testsOf };
}
