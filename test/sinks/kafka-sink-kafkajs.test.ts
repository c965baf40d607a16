// The Kafka sink's cases (kafka-sink.test.ts) through the kafkajs transport, the one that is not the default, on the
// Kafka 3.x broker: it stays selectable only while it passes them.
process.env['KAFKA_TRANSPORT'] = 'kafkajs';
await import('./kafka-sink.test.js');
