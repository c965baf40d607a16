// Public API of the exporter package (the engine-side client is at "@gk-exporter/exporter/client").
export { startExporter, type RunningExporter } from './cli/run.js';
export { loadConfig, loadCheckedConfig, checkConfig, resolveConfig, resolveSinkConfig, ConfigError, embeddedDefault, envOverrides } from './config/load.js';
export { exporterConfigSchema } from './config/full-schema.js';
export type { ExporterConfig, SinkConfig, RetryConfig, BatchConfig } from './config/config.js';
export { Queue } from './queue/queue.js';
export { METRIC_NAMES } from './metrics/metrics.js';
export type { RecordTransform } from './routing/index.js';
export { sinkTypes, loadSinkModule, type SinkType, type SinkModule, type SinkContext } from './sinks/registry.js';
export * from './sinks/sink.js';
export * from './record/index.js';
