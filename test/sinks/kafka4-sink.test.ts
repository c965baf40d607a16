// The Kafka sink's cases (kafka-sink.test.ts) against the Kafka 4 broker (KAFKA4_VERSION, scripts/peers/versions.env),
// through the default transport; the two cases that involve no broker run on 3.x only.
process.env['KAFKA_MAJOR'] = '4';
await import('./kafka-sink.test.js');
