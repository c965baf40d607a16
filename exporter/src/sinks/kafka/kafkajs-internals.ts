// The parts of kafkajs the sink uses below its producer API: the cluster (connections, TLS, SASL, API versions,
// metadata), InitProducerId, the Produce v3 response decoder and its error types. The produce request itself is
// encoded by this sink (record-batch.ts): kafkajs' producer spent ~35 µs of CPU per message encoding it.
// kafkajs is pinned at 2.2.4 (package-lock.json; the project has had no release since 2023); these paths exist in it.
import { createRequire } from 'node:module';
import type { Kafka } from 'kafkajs';

const require = createRequire(import.meta.url);

export interface PartitionMetadata {
  partitionId: number;
  leader: number;
}

export interface ProtocolRequest {
  request: { apiKey: number; apiVersion: number; apiName: string; expectResponse: () => boolean; encode: () => Promise<{ buf: Buffer; buffer: Buffer }> };
  response: { decode: (raw: Buffer) => Promise<unknown>; parse: (data: unknown) => Promise<unknown> };
}

export interface Broker {
  readonly nodeId: number;
  initProducerId(o: { transactionTimeout: number }): Promise<{ producerId: string; producerEpoch: number }>;
  connectionPool: { send(r: ProtocolRequest): Promise<unknown> };
  disconnect(): Promise<void>;
}

export interface Cluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  isConnected(): boolean;
  addMultipleTargetTopics(topics: string[]): Promise<void>;
  refreshMetadata(): Promise<void>;
  refreshMetadataIfNecessary(): Promise<void>;
  findTopicPartitionMetadata(topic: string): PartitionMetadata[];
  findBroker(o: { nodeId: number | string }): Promise<Broker>;
  findControllerBroker(): Promise<Broker>;
}

export interface ProduceResponse {
  topics: { topicName: string; partitions: { partition: number; errorCode: number }[] }[];
}

const produceV3Response = require('kafkajs/src/protocol/requests/produce/v3/response.js') as { decode: (raw: Buffer) => Promise<ProduceResponse> };
const protocolErrors = require('kafkajs/src/protocol/error.js') as { createErrorFromCode: (code: number) => Error & { type: string; retriable: boolean } };

export const decodeProduceV3Response = produceV3Response.decode;
export const createErrorFromCode = protocolErrors.createErrorFromCode;

/** A cluster configured exactly as kafkajs configures its producer's (same logger, retry, TLS, SASL, timeouts). */
export function clusterOf(kafka: Kafka, o: { allowAutoTopicCreation: boolean; metadataMaxAge: number }): Cluster {
  const create = Object.getOwnPropertySymbols(kafka).find((s) => s.description === 'private:Kafka:createCluster');
  if (!create) throw new Error('kafkajs: cannot reach the cluster factory (kafkajs version other than 2.2.x?)');
  const factory = (kafka as unknown as Record<symbol, (opts: object) => Cluster>)[create]!;
  return factory({ ...o, maxInFlightRequests: null });
}
