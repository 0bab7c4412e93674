import { readFileSync } from 'node:fs';

// package.json is the one place the version is written; the User-Agent and the image
// label (checked by a test against metadata.yaml) follow it. Compiled code lives in
// dist/src/, two levels below the package root, here and in the Docker image alike.
const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { name: string; version: string };

export const CONNECTOR_NAME = pkg.name;
export const CONNECTOR_VERSION = pkg.version;
export const USER_AGENT = `${pkg.name}/${pkg.version} (Airbyte source; +https://github.com/airbytehq/airbyte)`;
