/**
 * The user's documentation against the code: every message the docs page's
 * troubleshooting table (and the README) quotes is text the connector can print, and the
 * links and icon Airbyte shows resolve to files of this repository.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from '@jest/globals';
import { parse as parseYaml } from 'yaml';

import { STREAM_NAMES } from '../../src/streams/schemas/index.js';
import { REPO_ROOT } from '../support/protocol.js';

const DOCS_PAGE = 'docs/integrations/circleci.md';
const read = (path: string): string => readFileSync(join(REPO_ROOT, path), 'utf8');

/** Every TypeScript source of the connector, concatenated. */
function sourceText(): string {
  return readdirSync(join(REPO_ROOT, 'src'), { recursive: true, encoding: 'utf8' })
    .filter((path) => path.endsWith('.ts'))
    .map((path) => read(join('src', path)))
    .join('\n');
}

/** The `quoted` fragments of the first column of the troubleshooting table. */
function troubleshootingFragments(): string[] {
  const page = read(DOCS_PAGE);
  const section = page.slice(page.indexOf('\n## Troubleshooting'), page.indexOf('\n## ', page.indexOf('\n## Troubleshooting') + 1));
  const rows = section.split('\n').filter((line) => line.startsWith('| `'));
  return rows.flatMap((row) => [...row.split('|')[1]!.matchAll(/`([^`]+)`/g)].map((match) => match[1]!));
}

describe('troubleshooting', () => {
  const src = sourceText();

  it('the docs page lists messages of every kind the connector gives', () => {
    const fragments = troubleshootingFragments();
    expect(fragments.length).toBeGreaterThan(40);
    for (const kind of ['CircleCI rejected the API token (401', 'Could not reach', 'is not a valid date', 'LEGACY state is not supported', 'Unknown command']) {
      expect(fragments).toContain(kind);
    }
  });

  it.each(troubleshootingFragments())('the docs page quotes %j: it appears verbatim in src', (fragment) => {
    expect(src).toContain(fragment);
  });

  it('the README quotes messages as ("…"): each appears verbatim in src', () => {
    // Markdown wraps lines: a line break inside a quote is a space.
    const quoted = [...read('README.md').matchAll(/\("([^"]+)"\)/g)].map((match) => match[1]!.replace(/\s+/g, ' '));
    expect(quoted.length).toBeGreaterThan(0);
    for (const fragment of quoted) expect([fragment, src.includes(fragment)]).toEqual([fragment, true]);
  });
});

describe('what the Airbyte UI links to', () => {
  const metadata = parseYaml(read('metadata.yaml')) as { data: { documentationUrl: string; icon: string } };
  const spec = JSON.parse(read('spec.json')) as { documentationUrl: string };

  /**
   * The page as GitHub renders it, under the repository package.json names (the one place
   * that says where the repository is published). `blob/HEAD` follows the default branch
   * whatever its name; the protocol wants an absolute URI (SPEC's documentationUrl is
   * `format: uri`), so a path relative to the repository would not do.
   */
  function docsUrl(): string {
    const pkg = JSON.parse(read('package.json')) as { repository?: { url?: string } };
    const repository = /^(?:git\+)?(https:\/\/github\.com\/[^/]+\/[^/]+?)(?:\.git)?$/.exec(pkg.repository?.url ?? '');
    expect(repository).not.toBeNull();
    return `${repository![1]}/blob/HEAD/${DOCS_PAGE}`;
  }

  it('spec.json and metadata.yaml point at this repository’s docs page, which exists', () => {
    expect(spec.documentationUrl).toBe(metadata.data.documentationUrl);
    expect(spec.documentationUrl).toBe(docsUrl());
    expect(new URL(spec.documentationUrl).protocol).toBe('https:');
    expect(spec.documentationUrl.endsWith(`/${DOCS_PAGE}`)).toBe(true);
    // Not the page of Airbyte's own, different CircleCI connector.
    expect(spec.documentationUrl).not.toMatch(/docs\.airbyte\.com|airbytehq\/airbyte\//);
    expect(existsSync(join(REPO_ROOT, DOCS_PAGE))).toBe(true);
  });

  it('metadata.yaml names the icon, an SVG file at the top level', () => {
    expect(metadata.data.icon).toBe('icon.svg');
    const svg = read('icon.svg');
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" viewBox="0 0 \d+ \d+"/);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
  });
});

describe('what a new connection looks like in the Airbyte UI', () => {
  const metadata = parseYaml(read('metadata.yaml')) as { data: { suggestedStreams: { streams: string[] }; maxSecondsBetweenMessages: number } };
  const spec = JSON.parse(read('spec.json')) as { connectionSpecification: { properties: Record<string, { format?: string; maximum?: number }> } };

  it('suggests the seed connector’s eleven streams with job_details and tests, each a stream discover lists', () => {
    const seed = ['collaborations', 'context', 'deploy', 'groups', 'jobs', 'pipeline_definition', 'pipelines', 'project', 'schedule', 'trigger', 'workflows'];
    expect([...metadata.data.suggestedStreams.streams].sort()).toEqual([...seed, 'job_details', 'tests'].sort());
    for (const stream of metadata.data.suggestedStreams.streams) expect(STREAM_NAMES).toContain(stream);
  });

  it('maxSecondsBetweenMessages is above the longest wait the config allows (Retry-After, the usage export)', () => {
    const { max_retry_after_seconds, usage_export_max_wait_minutes } = spec.connectionSpecification.properties;
    expect(metadata.data.maxSecondsBetweenMessages).toBeGreaterThanOrEqual(max_retry_after_seconds!.maximum!);
    expect(metadata.data.maxSecondsBetweenMessages).toBeGreaterThanOrEqual(usage_export_max_wait_minutes!.maximum! * 60);
  });

  it('start_date is a date-time, so the UI offers a date picker', () => {
    expect(spec.connectionSpecification.properties.start_date!.format).toBe('date-time');
  });
});

