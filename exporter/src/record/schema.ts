// Source of truth for the record's JSON Schema; proto-docs/schema/decision-record.v1.schema.json is generated from it
// (npm run gen:schema) and a test fails when the two drift.
export const SCHEMA_VERSION = '1';

export const decisionRecordSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://gk-exporter.dev/schema/decision-record.v1.json',
  title: 'Decision record, version 1',
  type: 'object',
  required: ['eventType'],
  properties: {
    schemaVersion: { type: 'string' },
    decisionId: { type: 'string', minLength: 1, maxLength: 256 },
    timestamp: { type: 'string', minLength: 1 },
    eventType: { type: 'string', minLength: 1, maxLength: 128 },
  },
  additionalProperties: true,
} as const;
