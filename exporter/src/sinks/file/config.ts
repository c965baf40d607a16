// The file sink's config keys and their JSON Schema, apart from the sink so the config loader stays light.

export interface FileSinkConfig {
  name: string;
  type: 'file';
  /** The active file; rotated files sit beside it. */
  path: string;
  /** Rotate before a write would take the active file past this size. Default 100Mi. */
  maxBytes?: number | string;
  /** Rotated files kept beside the active one; the oldest are deleted. 0 keeps none. Default 5. */
  maxFiles?: number;
  /** fsync the file (and the directory after a rotation) before send() resolves. Default true. */
  fsync?: boolean;
  /** Mode of files created, as a number or an octal string. Default 0o640. */
  mode?: number | string;
}

export const configSchema = {
  type: 'object',
  required: ['name', 'type', 'path'],
  properties: {
    name: { type: 'string', minLength: 1 },
    type: { const: 'file' },
    path: { type: 'string', minLength: 1 },
    maxBytes: { anyOf: [{ type: 'integer', minimum: 1 }, { type: 'string', format: 'size' }] },
    maxFiles: { type: 'integer', minimum: 0 },
    fsync: { type: 'boolean' },
    mode: { oneOf: [{ type: 'integer', minimum: 0, maximum: 0o777 }, { type: 'string', pattern: '^0?o?[0-7]{3,4}$' }] },
  },
  additionalProperties: false,
} as const;
