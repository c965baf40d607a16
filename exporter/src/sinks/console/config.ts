// The console sink's config keys and their JSON Schema, apart from the sink so the config loader stays light.
import { defaults } from '../../config/defaults.js';

/** As the sink receives it: checked, every default filled in (config/defaults.ts). */
export interface ConsoleSinkConfig {
  name: string;
  type: 'console';
  /** ndjson: the record as committed, one per line; text: a readable one-line summary (see console.md). */
  format: 'ndjson' | 'text';
  /** stdout or stderr. */
  stream: 'stdout' | 'stderr';
}

export const configSchema = {
  type: 'object',
  required: ['name', 'type'],
  properties: {
    type: { const: 'console' },
    format: { enum: ['ndjson', 'text'], default: defaults.sinks.console.format },
    stream: { enum: ['stdout', 'stderr'], default: defaults.sinks.console.stream },
  },
  additionalProperties: false,
} as const;
