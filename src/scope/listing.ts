import { normaliseSlug } from '../config/config.js';
import { ApiError } from '../http/api-error.js';
import type { CircleCiClient } from '../http/client.js';
import { text, type ApiRecord, type ListContext } from '../streams/declaration.js';
import { organizationOf } from './slug-pattern.js';

/**
 * What the token can see of organizations and their projects: `GET /me/collaborations`,
 * then each organization's private project listing (50 projects a page). Each is asked
 * for at most once per run (kept per client), whoever asks first: the project scope
 * (src/scope/scope.ts) lists only the organizations a pattern can match, the projects
 * the token can see list them all, and neither pays twice.
 */

/** A project as a listing (or the config) names it. */
export interface ListedProject extends ApiRecord {
  slug: string;
  /** The id of the organization that listed it, as /me/collaborations gave it. */
  organization_id?: unknown;
  /** The listing's time of the project's last finished build (ISO), where it gave one. */
  last_build_finished_at?: string;
}

/** An organization of the token's user, with the slug patterns are matched against ('' where it has none readable). */
export interface Organization {
  id: string;
  slug: string;
}

const PRIVATE_PROJECT_PAGE_SIZE = 50; // larger pages answer 500

const collaborations = new WeakMap<CircleCiClient, Promise<ApiRecord[] | undefined>>();
const listings = new WeakMap<CircleCiClient, Map<string, Promise<ListedProject[] | undefined>>>();

/**
 * `GET /me/collaborations` as CircleCI answered it (undefined for a 404), asked once per
 * run: the collaborations stream and the listings share the answer.
 */
export function collaborationRecords(context: ListContext): Promise<ApiRecord[] | undefined> {
  let cached = collaborations.get(context.client);
  if (cached === undefined) {
    cached = context.client.get<ApiRecord[]>(`/api/v2${COLLABORATIONS}`);
    collaborations.set(context.client, cached);
  }
  return cached;
}

/** The endpoint path of the token's user's organizations (under /api/v2). */
export const COLLABORATIONS = '/me/collaborations';

/** The organizations of the token's user that have an id (one without is not one the organization streams read either). */
export async function organizations(context: ListContext): Promise<Organization[]> {
  const orgs = await collaborationRecords(context);
  return (Array.isArray(orgs) ? orgs : [])
    .filter((org) => org.id !== undefined && org.id !== null && org.id !== '')
    .map((org) => ({ id: text(org.id), slug: normaliseOrgSlug(text(org.slug)) }));
}

/**
 * The projects of one organization, or undefined where CircleCI did not list them
 * (refused or missing: CircleCI Server, older installs). Only a 401 or the read ending
 * is thrown.
 */
export function organizationProjects(org: Organization, context: ListContext): Promise<ListedProject[] | undefined> {
  let perClient = listings.get(context.client);
  if (perClient === undefined) {
    perClient = new Map();
    listings.set(context.client, perClient);
  }
  let cached = perClient.get(org.id);
  if (cached === undefined) {
    cached = listOrganization(org, context);
    perClient.set(org.id, cached);
  }
  return cached;
}

async function listOrganization(org: Organization, context: ListContext): Promise<ListedProject[] | undefined> {
  const projects: ListedProject[] = [];
  try {
    const pages = context.client.pages<ApiRecord>('/api/private/project', { 'organization-id': org.id, 'page-size': PRIVATE_PROJECT_PAGE_SIZE }, () => {
      throw new ApiError('GET /api/private/project answered 404', 'transient_error', 'GET /api/private/project', 404);
    });
    for await (const page of pages) {
      for (const item of page) {
        const slug = normaliseSlug(text(item.slug));
        if (slug === undefined) continue;
        const project: ListedProject = { slug, organization_id: org.id };
        if (typeof item.last_build_finished_at === 'string') project.last_build_finished_at = item.last_build_finished_at;
        projects.push(project);
      }
    }
  } catch (error) {
    if (context.signal?.aborted) throw error;
    if (!(error instanceof ApiError) || error.status === undefined || error.status === 401) throw error;
    return undefined;
  }
  return projects;
}

/** `gh/acme` from a collaboration's slug (`github/acme` too); '' when it is not one. */
function normaliseOrgSlug(slug: string): string {
  const [vcs, org] = slug.split('/');
  if (vcs === undefined || org === undefined) return '';
  return organizationOf(normaliseSlug(`${vcs}/${org}/x`) ?? '');
}

/** The number of organizations `projects` belong to: the listing's id, else the slug's organization part. */
export function organizationCount(projects: readonly ListedProject[]): number {
  return new Set(projects.map((project) => (project.organization_id !== undefined ? project.organization_id : organizationOf(project.slug).toLowerCase()))).size;
}
