#!/usr/bin/env node
// Reads decision records from a Kafka topic the exporter's kafka sink writes to, drops duplicates by decisionId and
// prints a summary. Start from here: replace Summary.add with what your team does with a record.
//   KAFKA_BROKERS=127.0.0.1:9092 KAFKA_TOPIC=gatekeeper-decisions node kafka-consumer.mjs
import { Kafka, logLevel } from 'kafkajs';
import { Summary, dedupSettings, printEvery, take, tombstoneRecord } from './summary.mjs';

const env = process.env;
const kafka = new Kafka({
  clientId: env.KAFKA_CLIENT_ID ?? 'gk-decisions-consumer',
  brokers: (env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
  logLevel: logLevel.WARN,
});
const consumer = kafka.consumer({ groupId: env.KAFKA_GROUP ?? 'gk-decisions-summary' });
const summary = new Summary(dedupSettings());
const print = printEvery(summary);

await consumer.connect();
await consumer.subscribe({ topic: env.KAFKA_TOPIC ?? 'gatekeeper-decisions', fromBeginning: env.KAFKA_FROM_BEGINNING !== 'false' });
await consumer.run({
  eachMessage: async ({ message }) => {
    // The value is the record JSON; a null value is a tombstone: with the sink's violationLifecycle.tombstones, a
    // resolved violation (its key the pair, its headers the record's decisionId and eventType); anything else is skipped.
    if (!message.value) {
      const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]));
      const resolved = tombstoneRecord(message.key?.toString('utf8'), headers, Number(message.timestamp));
      if (resolved) take(summary, resolved);
      return;
    }
    try {
      take(summary, JSON.parse(message.value.toString('utf8')));
    } catch (e) {
      process.stderr.write(`skipping a message that is not a record: ${e.message}\n`);
    }
  },
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, async () => {
    await consumer.disconnect();
    print();
    process.exit(0);
  });
}
