/**
 * CAT's TestSpec on the built connector and (with SOURCE_CIRCLECI_IMAGE) the Docker image.
 * Test names are CAT's; see test/reference/AIRBYTE.md "What the acceptance tests assert".
 */
import { beforeAll, describe, expect, it } from '@jest/globals';

import {
  additionalPropertiesTrue,
  arrayItems,
  duplicateEnums,
  duplicateOrders,
  forbiddenKeywords,
  keyOccurrences,
  nestedGroups,
  objectsNotEmpty,
  oneOfUsage,
  propertyTypes,
  secretMarking,
  type CheckResult,
} from './support/cat.js';
import { configValidator } from '../support/config-validator.js';
import { pointAt, readRepoJson, readRepoYaml } from './support/fixture.js';
import { describeOnTargets, type ConnectorRun } from './support/targets.js';

/** A rule that found nothing wrong, and did look at something. */
function expectClean(result: CheckResult): void {
  expect(result.errors).toEqual([]);
  expect(result.visited).toBeGreaterThan(0);
}

describeOnTargets('TestSpec', (target) => {
  const specFile = readRepoJson('spec.json');
  let run: ConnectorRun;
  let spec: Record<string, any>;
  let connectionSpecification: Record<string, any>;

  beforeAll(async () => {
    run = await target.run('spec');
    expect(run.exitCode).toBe(0);
    const specs = run.messages.filter((m) => m.type === 'SPEC');
    expect(specs).toHaveLength(1);
    spec = specs[0]!.spec;
    connectionSpecification = spec.connectionSpecification;
  });

  it('test_match_expected: spec prints exactly one SPEC, equal to spec.json', () => {
    expect(run.messages).toHaveLength(1);
    expect(spec).toEqual(specFile);
  });

  it('test_config_match_spec: integration_tests/sample_config.json validates against connectionSpecification (draft-07)', () => {
    const validate = configValidator(connectionSpecification);
    // CAT drops technical keys starting with "_"; the port is rewritten as the suite does.
    const config = pointAt(readRepoJson('integration_tests/sample_config.json'), 'http://127.0.0.1:40000');
    const valid = validate(Object.fromEntries(Object.entries(config).filter(([key]) => !key.startsWith('_'))));
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
    // …and the invalid config is invalid only by its token: it still matches the spec.
    expect(validate(readRepoJson('integration_tests/invalid_config.json'))).toBe(true);
  });

  it('test_secret_is_properly_marked: fields named like secrets are airbyte_secret, nothing else is', () => {
    const result = secretMarking(connectionSpecification);
    expectClean(result);
    expect(connectionSpecification.properties.api_token.airbyte_secret).toBe(true);
  });

  it('test_enum_usage: no duplicate enum values', () => expectClean(duplicateEnums(connectionSpecification)));
  it('test_oneof_usage: oneOf groups on objects with one common const property', () => expectClean(oneOfUsage(connectionSpecification)));
  it('test_property_type_is_not_array: a property type is one type or [type, "null"]', () => expectClean(propertyTypes(connectionSpecification)));
  it('test_object_not_empty: every object has properties or oneOf', () => expectClean(objectsNotEmpty(connectionSpecification)));
  it('test_array_type: array items are a single schema', () => expectClean(arrayItems(connectionSpecification)));
  it('test_forbidden_complex_types: no not, anyOf, allOf, patternProperties, prefixItems, if/then/else, dependentSchemas, dependentRequired', () =>
    expectClean(forbiddenKeywords(connectionSpecification)));
  it('test_duplicate_order: order unique among the properties of each object', () => expectClean(duplicateOrders(connectionSpecification)));
  it('test_nested_group: group only on top-level properties', () => expectClean(nestedGroups(connectionSpecification)));
  it('test_additional_properties_is_true: additionalProperties is true wherever present', () => expectClean(additionalPropertiesTrue(connectionSpecification)));

  it('test_defined_refs_exist_in_json_spec_file: no $ref anywhere in the spec', () => {
    expect(keyOccurrences(spec, '$ref')).toEqual([]);
    expect(keyOccurrences(spec, 'api_token')).toEqual(['/connectionSpecification/properties/api_token']); // the search does descend
  });

  if (target.kind === 'docker') {
    const metadata = readRepoYaml<{ data: { dockerRepository: string; dockerImageTag: string } }>('metadata.yaml');

    it('test_image_labels: io.airbyte.name and io.airbyte.version equal metadata.yaml', async () => {
      const config = await target.imageConfig!();
      expect(config.Labels?.['io.airbyte.name']).toBe(metadata.data.dockerRepository);
      expect(config.Labels?.['io.airbyte.version']).toBe(metadata.data.dockerImageTag);
    });

    it('test_image_environment_variables: AIRBYTE_ENTRYPOINT equals the entrypoint joined by spaces', async () => {
      const config = await target.imageConfig!();
      const entry = (config.Env ?? []).find((e) => e.startsWith('AIRBYTE_ENTRYPOINT='));
      expect(entry).toBeDefined();
      expect((config.Entrypoint ?? []).length).toBeGreaterThan(0);
      expect(entry!.slice('AIRBYTE_ENTRYPOINT='.length)).toBe((config.Entrypoint ?? []).join(' '));
    });
  }

  describe('output', () => {
    it('test_secret_never_in_the_output: every run printed only valid protocol messages and never a secret', () => {
      // The runner rejects a run that breaks either rule; this says how many were checked.
      expect(target.runs.length).toBeGreaterThan(0);
      for (const r of target.runs) expect(r.messages.length).toBe(r.stdout.split('\n').filter(Boolean).length);
    });
  });
});
