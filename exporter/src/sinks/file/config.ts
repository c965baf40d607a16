// The file sink's config keys and their JSON Schema, apart from the sink so the config loader stays light.
import { defaults } from '../../config/defaults.js';
import { sizeSchema } from '../../config/units.js';

const own = defaults.sinks.file;

/** As the sink receives it: checked, every default filled in (config/defaults.ts), sizes in bytes. */
export interface FileSinkConfig {
  name: string;
  type: 'file';
  /** The active file; rotated files sit beside it. */
  path: string;
  /** Rotate before a write would take the active file past this size. */
  maxBytes: number;
  /** Rotated files kept beside the active one; the oldest are deleted. 0 keeps none. */
  maxFiles: number;
  /** fsync the file (and the directory after a rotation) before send() resolves. */
  fsync: boolean;
  /** Mode of files created, as a number or an octal string ("0640"). */
  mode: number | string;
}

export const configSchema = {
  type: 'object',
  required: ['name', 'type', 'path'],
  properties: {
    type: { const: 'file' },
    path: { type: 'string', minLength: 1 },
    maxBytes: sizeSchema(own.maxBytes, { min: 1 }),
    maxFiles: { type: 'integer', minimum: 0, default: own.maxFiles },
    fsync: { type: 'boolean', default: own.fsync },
    mode: { anyOf: [{ type: 'integer', minimum: 0, maximum: 0o777 }, { type: 'string', pattern: '^0?o?[0-7]{3,4}$' }], default: own.mode },
  },
  additionalProperties: false,
} as const;
