// Which client library the Kafka sink tests produce through: KAFKA_TRANSPORT (platformatic or kafkajs), else the default.
import { DEFAULT_TRANSPORT, TRANSPORT_NAMES, type KafkaTransportName } from '../../exporter/src/sinks/kafka/transport.js';

export function transportFromEnv(): KafkaTransportName {
  const name = process.env['KAFKA_TRANSPORT'];
  if (name === undefined || name === '') return DEFAULT_TRANSPORT;
  if (!(TRANSPORT_NAMES as readonly string[]).includes(name)) throw new Error(`KAFKA_TRANSPORT=${name}: expected one of ${TRANSPORT_NAMES.join(', ')}`);
  return name as KafkaTransportName;
}
