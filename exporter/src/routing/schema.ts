// JSON Schema of the per-sink routing keys `filter` and `redact` (proto-docs/routing.md).

const names = { type: 'array', minItems: 1, items: { type: 'string' } } as const;

/** Criteria on a record; each listed criterion must match (AND), any value of a list may match (OR); "*" globs. */
export const matchSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    eventTypes: names,
    enforcementActions: names,
    constraintKinds: names,
    constraintNames: names,
    namespaces: names,
    resourceKinds: names,
    /** Label key of the resource's namespace → accepted values (records' namespaceLabels). */
    namespaceLabels: { type: 'object', minProperties: 1, additionalProperties: names },
  },
} as const;

export const filterSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    ...matchSchema.properties,
    /** Records matching these are left out even when they match the rest. */
    exclude: matchSchema,
  },
} as const;

export const redactSchema = {
  type: 'array',
  items: {
    type: 'object',
    required: ['path'],
    additionalProperties: false,
    properties: {
      path: { type: 'string', pattern: '^/' },
      action: { enum: ['remove', 'replace'] },
      value: {},
      when: matchSchema,
    },
  },
} as const;

/** The routing keys every sink accepts, next to its own. */
export const routingKeys = ['filter', 'redact'] as const;
export const routingSchemaProperties = { filter: filterSchema, redact: redactSchema } as const;
