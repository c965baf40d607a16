// JSON Schema of the exporter's config file, with every default (from defaults.ts) and every limit: the document of
// what a config may say. Each sink type's own keys are in sinks/<type>/config.ts, merged with the common ones here
// (sinkSchema). Durations and sizes are strings with a unit (durationSchema, sizeSchema).
import { routingSchemaProperties } from '../routing/schema.js';
import { defaults } from './defaults.js';
import { durationSchema, sizeSchema } from './units.js';

const sinkName = { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$' } as const;

export const sinkCommonSchema = {
  type: 'object',
  required: ['name', 'type'],
  properties: {
    name: sinkName,
    type: { type: 'string', minLength: 1 },
    // Per-sink routing (exporter/src/routing/, proto-docs/routing.md).
    ...routingSchemaProperties,
    startFrom: { enum: ['newest', 'oldest'], default: defaults.sink.startFrom },
    // Names this sink had before: its queued backlog (cursor) moves to it (exporter/src/queue/sink-cursors.ts).
    previousNames: { type: 'array', uniqueItems: true, items: sinkName, default: defaults.sink.previousNames },
    batch: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        maxRecords: { type: 'integer', minimum: 1, maximum: 100_000, default: defaults.sink.batch.maxRecords },
        maxBytes: sizeSchema(defaults.sink.batch.maxBytes, { min: 1 }),
        linger: durationSchema(defaults.sink.batch.linger),
      },
    },
    retry: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        initial: durationSchema(defaults.sink.retry.initial),
        multiplier: { type: 'number', minimum: 1, default: defaults.sink.retry.multiplier },
        max: durationSchema(defaults.sink.retry.max),
        jitter: { type: 'number', minimum: 0, maximum: 1, default: defaults.sink.retry.jitter },
        maxAttempts: { type: 'integer', minimum: 1, default: defaults.sink.retry.maxAttempts },
      },
    },
  },
} as const;

interface ObjectSchema {
  properties?: Record<string, unknown>;
  required?: readonly string[];
}

/** One sink's whole schema: the common keys and the type's own (whose `type` constant wins). */
export function sinkSchema(typeSchema: object): object {
  const own = typeSchema as ObjectSchema;
  return {
    type: 'object',
    additionalProperties: false,
    required: [...new Set([...sinkCommonSchema.required, ...(own.required ?? [])])],
    properties: { ...own.properties, ...sinkCommonSchema.properties, type: own.properties?.['type'] ?? sinkCommonSchema.properties.type },
  };
}

const ingest = defaults.ingest;
const queue = defaults.queue;

export const configSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['socket', 'queue'],
  properties: {
    socket: { type: 'string', minLength: 1 },
    socketMode: { anyOf: [{ type: 'integer', minimum: 0, maximum: 0o777 }, { type: 'string', pattern: '^0?[0-7]{3}$' }], default: defaults.socketMode },
    ingest: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        maxLineBytes: sizeSchema(ingest.maxLineBytes, { min: 64 }),
        batchMaxRecords: { type: 'integer', minimum: 1, default: ingest.batchMaxRecords },
        batchLinger: durationSchema(ingest.batchLinger),
        maxPendingRecords: { type: 'integer', minimum: 1, default: ingest.maxPendingRecords },
        maxPendingBytes: sizeSchema(ingest.maxPendingBytes, { min: 64 * 1024 }),
        ackBufferBytes: sizeSchema(ingest.ackBufferBytes),
        maxConnections: { type: 'integer', minimum: 1, default: ingest.maxConnections },
        maxPartialBytes: sizeSchema(ingest.maxPartialBytes),
        idleTimeout: durationSchema(ingest.idleTimeout),
        validate: { enum: ['basic', 'full'], default: ingest.validate },
      },
    },
    queue: {
      type: 'object',
      additionalProperties: false,
      required: ['path'],
      properties: {
        path: { type: 'string', minLength: 1 },
        maxBytes: sizeSchema(queue.maxBytes, { min: 4096 }),
        onFull: { enum: ['block', 'drop-oldest'], default: queue.onFull },
        synchronous: { enum: ['normal', 'full', 'NORMAL', 'FULL'], default: queue.synchronous },
        maxAge: durationSchema(queue.maxAge),
        deadLetterMaxRawBytes: sizeSchema(queue.deadLetterMaxRawBytes),
        deadLetterMaxRecords: { type: 'integer', minimum: 1, default: queue.deadLetterMaxRecords },
        diskReserveBytes: sizeSchema(queue.diskReserveBytes),
        writerThread: { type: 'boolean', default: queue.writerThread },
        checkpointThread: { type: 'boolean', default: queue.checkpointThread },
        statusInterval: durationSchema(queue.statusInterval),
      },
    },
    // Each entry is checked against sinkSchema(its type's schema) by the loader.
    sinks: { type: 'array', items: { type: 'object' } },
    metrics: {
      type: 'object',
      additionalProperties: false,
      default: defaults.metrics,
      properties: { address: { type: 'string', format: 'listen-address' } },
    },
    log: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: { level: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], default: defaults.log.level } },
    },
    shutdownTimeout: durationSchema(defaults.shutdownTimeout),
    shutdownDrain: { type: 'boolean', default: defaults.shutdownDrain },
  },
} as const;
