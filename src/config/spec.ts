import { readFileSync } from 'node:fs';
import { ConnectorSpecification } from '../protocol/messages.js';

// spec.json at the repository root is the single source of the connector specification:
// `spec` prints it, the acceptance tests compare against it. Compiled code lives in
// dist/src/config/, so the file is three levels up, here and in the Docker image alike.
const SPEC_URL = new URL('../../../spec.json', import.meta.url);

export function loadSpec(): ConnectorSpecification {
  return ConnectorSpecification.parse(JSON.parse(readFileSync(SPEC_URL, 'utf8')));
}
