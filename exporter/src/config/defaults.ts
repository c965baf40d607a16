// Every default of the exporter's configuration, in the form the YAML config takes (durations and sizes as strings).
// The JSON Schemas (config/schema.ts, sinks/<type>/config.ts) carry them as `default`, and validation fills them in:
// nothing else in the exporter supplies a default for a config key. `exporter config defaults` prints the result.
// Defaults that depend on the environment or on another key are the sink's own and documented with it: dapr's url
// (DAPR_HTTP_PORT) and apiToken (DAPR_API_TOKEN), kafka's maxInFlightRequests (5 idempotent, else 1).

export const defaults = {
  socketMode: '0660',
  ingest: {
    maxLineBytes: '1Mi',
    batchMaxRecords: 5000,
    // Group commit: each commit has a fixed cost, so at webhook rates (a few lines per write) it is what the exporter's CPU
    // follows (bench/exporter-paced.ts, quiet: 25 ms against 10 ms, 11-30 % less CPU per record from 500 to 10,000
    // records/s); acks come up to this much later, and the engine's client never waits for them.
    batchLinger: '25ms',
    maxPendingRecords: 10_000,
    maxPendingBytes: '1Mi',
    ackBufferBytes: '64Ki',
    maxConnections: 1024,
    // 32 lines at the default maxLineBytes: ample for the engine's one connection, far under the chart's memory limit.
    maxPartialBytes: '32Mi',
    // The engine's client reconnects by itself; a closed idle connection costs it a reconnect.
    idleTimeout: '10m',
    // basic: the invariants every consumer relies on; full: also the record JSON Schema (ajv; ~1.5 µs more per record,
    // proto-docs/record.md).
    validate: 'basic' as 'basic' | 'full',
  },
  queue: {
    maxBytes: '1Gi',
    onFull: 'block',
    synchronous: 'full',
    maxAge: '0s',
    deadLetterMaxRawBytes: '64Ki',
    deadLetterMaxRecords: 100_000,
    diskReserveBytes: '8Mi',
    writerThread: false,
    checkpointThread: true,
    statusInterval: '5s',
  },
  metrics: {},
  log: { level: 'info' },
  shutdownTimeout: '10s',
  shutdownDrain: false,
  /** The keys every sink has, whatever its type. */
  sink: {
    startFrom: 'newest',
    previousNames: [],
    batch: { maxRecords: 1000, maxBytes: '4Mi', linger: '50ms' },
    retry: { initial: '200ms', multiplier: 2, max: '30s', jitter: 0.2, maxAttempts: 5 },
  },
  /** The keys of the sinks that send HTTP requests (http, otlp): sinks/kit/http-endpoint.ts. */
  httpEndpoint: { headers: {}, timeouts: { connect: '5s', request: '30s' }, errorBodyBytes: '512B' },
  /** Each sink type's own keys. */
  sinks: {
    console: { format: 'ndjson', stream: 'stdout' },
    dapr: {
      topic: 'audit-channel',
      envelope: 'cloudevent',
      dataContentType: 'text/plain',
      cloudEvent: { source: 'gk-exporter', type: 'com.dapr.event.sent' },
      bulk: true,
      maxEntriesPerRequest: 500,
      // Under daprd's --max-body-size (4Mi by default).
      maxBytesPerRequest: '3MB',
      concurrency: 16,
      metadata: {},
      requestTimeout: '30s',
      readinessInterval: '1s',
    },
    file: { maxBytes: '100Mi', maxFiles: 5, fsync: true, mode: '0640' },
    http: {
      method: 'POST',
      format: 'ndjson',
      gzip: false,
      splitOn413: true,
      onBatchRejected: 'split',
    },
    kafka: {
      clientId: 'gk-exporter',
      key: 'resource',
      acks: -1,
      idempotent: true,
      compression: 'none',
      maxRecordsPerRequest: 10_000,
      // Under the broker's message.max.bytes (1 MiB by default), which bounds a whole record batch.
      maxBytesPerRequest: '900KB',
      requestTimeout: '30s',
      connectionTimeout: '3s',
      clientRetries: 3,
      headers: {},
    },
    otlp: {
      encoding: 'protobuf',
      gzip: true,
      resourceAttributes: {},
    },
  },
} as const;
