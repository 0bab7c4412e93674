import type { ApiRecord } from './declaration.js';

/**
 * The spec (listPipelineDefinitionTriggers): triggers are "currently only supported for
 * pipeline definitions where `config_source.provider` is `github_app` or `bitbucket_dc`".
 * Other definitions (circleci, gitlab, github_oauth...) are not asked: the request would
 * be refused or answer nothing. A definition that does not say its provider is not asked
 * either, since nothing shows triggers are supported for it.
 */
const TRIGGER_PROVIDERS = new Set(['github_app', 'bitbucket_dc']);

export function hasTriggers(definition: ApiRecord): boolean {
  const source = definition.config_source;
  if (source === null || typeof source !== 'object') return false;
  const provider = (source as ApiRecord).provider;
  return typeof provider === 'string' && TRIGGER_PROVIDERS.has(provider);
}
