// The console sink's config keys and their JSON Schema, apart from the sink so the config loader stays light.

export interface ConsoleSinkConfig {
  name: string;
  type: 'console';
  /** ndjson (default): the record as committed, one per line; text: a readable one-line summary (see console.md). */
  format?: 'ndjson' | 'text';
  /** stdout (default) or stderr. */
  stream?: 'stdout' | 'stderr';
}

export const configSchema = {
  type: 'object',
  required: ['name', 'type'],
  properties: {
    name: { type: 'string', minLength: 1 },
    type: { const: 'console' },
    format: { enum: ['ndjson', 'text'] },
    stream: { enum: ['stdout', 'stderr'] },
  },
  additionalProperties: false,
} as const;
