/**
 * Project slug patterns as `project_slugs` and `exclude_project_slugs` hold them: a slug
 * (`gh/acme/api`) or a glob whose `*` stands for any run of characters and `?` for one,
 * never across a `/` (`gh/acme/*`, `gh/acme/api-*`, `circleci/<org-id>/*`). Matching
 * ignores case, as GitHub's and Bitbucket's organization and repository names do.
 * Patterns are already normalised by the config (`github/` → `gh/`).
 */

const GLOB = /[*?]/;

export function isGlob(pattern: string): boolean {
  return GLOB.test(pattern);
}

function compile(glob: string): RegExp {
  const body = [...glob].map((ch) => (ch === '*' ? '[^/]*' : ch === '?' ? '[^/]' : ch.replace(/[.+^${}()|[\]\\]/g, '\\$&'))).join('');
  return new RegExp(`^${body}$`, 'i');
}

/** Whether `slug` (vcs/org/repo) matches any of `patterns`. */
export function matcher(patterns: readonly string[]): (slug: string) => boolean {
  const compiled = patterns.map(compile);
  return (slug) => compiled.some((regex) => regex.test(slug));
}

/** The organization part of a slug or pattern: `gh/acme/*` → `gh/acme`. */
export function organizationOf(slugOrPattern: string): string {
  return slugOrPattern.split('/').slice(0, 2).join('/');
}
