// The whole config file's JSON Schema in one document, each sink type's keys included: for editors and for readers
// (proto-docs/schema/exporter-config.schema.json, `exporter config schema`). The loader checks the same schemas piece by
// piece (resolve.ts), so that each sink's problems are named by its index and type.
import { configSchema } from './schema.js';
import { schemaOfSinkType } from './resolve.js';
import { sinkTypes } from '../sinks/registry.js';

export function exporterConfigSchema(): object {
  const types = Object.keys(sinkTypes);
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'gk-exporter: the exporter config file',
    description:
      'Durations and sizes are strings with a unit ("250ms", "30s", "7d"; "512B", "64Ki", "32Mi"); each default is the one the ' +
      'exporter applies. x-unit marks those keys, x-secret a secret ({value}, {file} or {env}), minBytes and minMs the least value.',
    ...configSchema,
    properties: {
      ...configSchema.properties,
      sinks: {
        type: 'array',
        items: {
          type: 'object',
          required: ['name', 'type'],
          properties: { type: { enum: types } },
          allOf: types.map((type) => ({ if: { properties: { type: { const: type } }, required: ['type'] }, then: schemaOfSinkType(type) })),
        },
      },
    },
  };
}
