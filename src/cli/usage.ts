import { CONNECTOR_NAME, CONNECTOR_VERSION } from '../version.js';

/** One line, quoted by every command-line error so the fix is in the message. */
export const USAGE = 'usage: spec | check --config FILE | discover --config FILE | read --config FILE --catalog FILE [--state FILE] | --help | --version';

/** What `--version` prints. */
export function versionText(): string {
  return `${CONNECTOR_NAME} ${CONNECTOR_VERSION}\n`;
}

/**
 * What `--help` prints: plain text for a person at a terminal. spec, check, discover and
 * read never print it; their stdout holds protocol messages only.
 */
export function helpText(): string {
  return `${CONNECTOR_NAME} ${CONNECTOR_VERSION}: Airbyte source connector for the CircleCI API v2

Usage:
  ${CONNECTOR_NAME} spec
  ${CONNECTOR_NAME} check    --config CONFIG
  ${CONNECTOR_NAME} discover --config CONFIG
  ${CONNECTOR_NAME} read     --config CONFIG --catalog CATALOG [--state STATE]
  ${CONNECTOR_NAME} --help | --version

Commands (each prints Airbyte protocol messages on stdout, one JSON object per line):
  spec      the configuration fields (one SPEC message)
  check     whether the token works and every project is visible (one CONNECTION_STATUS)
  discover  the streams, their keys and sync modes (one CATALOG)
  read      the records of the streams chosen in CATALOG (RECORD, STATE, TRACE, LOG)

Files (JSON; --flag FILE or --flag=FILE):
  CONFIG   api_token, project_slugs, start_date, and optional settings; see spec.
           Example: integration_tests/sample_config.json
  CATALOG  a configured catalog: the streams to read and their sync modes.
           Example: integration_tests/configured_catalog.json
  STATE    a JSON list of the "state" objects of an earlier read's STATE messages,
           the last one per stream (per-stream state; a single LEGACY state is refused)

A failure ends with a TRACE ERROR message (during read, one per stream that failed)
and a non-zero exit code; check reports a wrong token, project or setting as one
CONNECTION_STATUS FAILED, exit code 0. User's guide: docs/integrations/circleci.md
`;
}
