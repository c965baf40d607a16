// A Kafka sink from its keys as the config file writes them (durations and sizes as strings), checked and defaulted
// as the exporter's loader does: the sink reads the defaults from its config, it supplies none.
import { resolveSinkConfig } from '../../exporter/src/config/resolve.js';
import { createSink as createKafkaSink, type KafkaSink, type KafkaSinkConfig, type KafkaSinkContext } from '../../exporter/src/sinks/kafka/sink.js';

export function createSink(cfg: Record<string, unknown>, ctx?: KafkaSinkContext): KafkaSink {
  return createKafkaSink(resolveSinkConfig<KafkaSinkConfig>({ type: 'kafka', ...cfg }), ctx);
}
