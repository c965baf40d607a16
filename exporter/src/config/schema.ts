// JSON Schema of the exporter's config file (the sink-type-specific keys are checked by each sink module's own schema).
const size = { anyOf: [{ type: 'integer', minimum: 0 }, { type: 'string', format: 'size' }] };
const duration = { anyOf: [{ type: 'number', minimum: 0 }, { type: 'string', format: 'duration' }] };

import { routingSchemaProperties } from '../routing/schema.js';

export const sinkCommonKeys = ['name', 'type', 'startFrom', 'previousNames', 'batch', 'retry', 'filter', 'redact'] as const;

export const sinkCommonSchema = {
  type: 'object',
  required: ['name', 'type'],
  properties: {
    name: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$' },
    type: { type: 'string', minLength: 1 },
    // Per-sink routing (exporter/src/routing/, proto-docs/routing.md).
    ...routingSchemaProperties,
    startFrom: { enum: ['newest', 'oldest'] },
    // Names this sink had before: its queued backlog (cursor) moves to it (exporter/src/queue/sink-cursors.ts).
    previousNames: { type: 'array', uniqueItems: true, items: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$' } },
    batch: {
      type: 'object',
      additionalProperties: false,
      properties: {
        maxRecords: { type: 'integer', minimum: 1, maximum: 100_000 },
        maxBytes: size,
        lingerMs: duration,
      },
    },
    retry: {
      type: 'object',
      additionalProperties: false,
      properties: {
        initialMs: duration,
        multiplier: { type: 'number', minimum: 1 },
        maxMs: duration,
        jitter: { type: 'number', minimum: 0, maximum: 1 },
        maxAttempts: { type: 'integer', minimum: 1 },
      },
    },
  },
} as const;

export const configSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    socket: { type: 'string', minLength: 1 },
    socketMode: { anyOf: [{ type: 'integer', minimum: 0, maximum: 0o777 }, { type: 'string', pattern: '^0?[0-7]{3}$' }] },
    ingest: {
      type: 'object',
      additionalProperties: false,
      properties: {
        maxLineBytes: size,
        batchMaxRecords: { type: 'integer', minimum: 1 },
        batchLingerMs: duration,
        maxPendingRecords: { type: 'integer', minimum: 1 },
        maxPendingBytes: size,
        ackBufferBytes: size,
        maxConnections: { type: 'integer', minimum: 1 },
        maxPartialBytes: size,
        idleTimeout: duration,
      },
    },
    queue: {
      type: 'object',
      additionalProperties: false,
      properties: {
        path: { type: 'string', minLength: 1 },
        maxBytes: size,
        onFull: { enum: ['block', 'drop-oldest'] },
        synchronous: { enum: ['normal', 'full', 'NORMAL', 'FULL'] },
        maxAge: duration,
        deadLetterMaxRawBytes: size,
        deadLetterMaxRecords: { type: 'integer', minimum: 1 },
        diskReserveBytes: size,
        statusInterval: duration,
      },
    },
    sinks: { type: 'array', items: sinkCommonSchema },
    metrics: {
      type: 'object',
      additionalProperties: false,
      properties: { address: { type: 'string', format: 'listen-address' } },
    },
    log: {
      type: 'object',
      additionalProperties: false,
      properties: { level: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] } },
    },
    shutdownTimeout: duration,
    shutdownDrain: { type: 'boolean' },
  },
} as const;
