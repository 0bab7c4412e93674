import { Ajv, type ValidateFunction } from 'ajv';

/**
 * A connector config checked against spec.json's connectionSpecification the way Airbyte
 * checks it: draft-07 with `format` as an annotation. CAT's test_config_match_spec calls
 * python's `jsonschema.validate` without a format checker, and the UI uses `format` only to
 * choose its widget (`date-time`: a date picker); the `pattern` is what accepts a value.
 * So `start_date` carries `format: date-time` for the picker while its pattern still admits
 * the plain dates users type (2025-01-01, 01/31/2025).
 */
export function configValidator(connectionSpecification: object): ValidateFunction {
  return new Ajv({ strict: false, allErrors: true, validateFormats: false }).compile(connectionSpecification);
}
