// Picks the transport. The default one's library loads with the sink (the sink module is itself loaded only when a
// Kafka sink is configured); the other's only when it is chosen, so a sink loads one client library, not both.
import { PlatformaticTransport } from './transport-platformatic.js';
import type { KafkaTransport, KafkaTransportName, TransportOptions } from './transport.js';

export async function createTransport(name: KafkaTransportName, o: TransportOptions): Promise<KafkaTransport> {
  if (name === 'kafkajs') return new (await import('./transport-kafkajs.js')).KafkajsTransport(o);
  return new PlatformaticTransport(o);
}
