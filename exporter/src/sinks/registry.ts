// Maps a sink's `type` (as written in the config) to its config schema and to the module that implements it.
// The schema comes from a light module (sinks/<type>/config.ts) so the config is validated synchronously without
// loading any client library; the implementation, with its client (undici, kafkajs), is imported only for the types
// a config uses. Each sink owner adds one entry here. The schema covers the type's own keys, without the common ones
// (name, type, startFrom, batch, retry); the implementation (sinks/<type>/sink.ts) exports `createSink(cfg, ctx)`.
import type { Logger } from 'pino';
import type { Sink } from './sink.js';
import { configSchema as consoleSchema } from './console/config.js';
import { configSchema as daprSchema } from './dapr/config.js';
import { configSchema as fileSchema } from './file/config.js';
import { configSchema as httpSchema } from './http/config.js';
import { configSchema as kafkaSchema } from './kafka/config.js';
import { configSchema as otlpSchema } from './otlp/config.js';

export interface SinkContext {
  logger: Logger;
}

export interface SinkModule {
  // The config object holds the common keys plus the type's own, already validated against the type's configSchema.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  createSink(cfg: any, ctx: SinkContext): Sink;
}

export interface SinkType {
  /** JSON Schema of the type's own keys. */
  readonly configSchema: object;
  /** Imports the implementation (and its client library). */
  load(): Promise<SinkModule>;
}

export const sinkTypes: Readonly<Record<string, SinkType>> = {
  console: { configSchema: consoleSchema, load: () => import('./console/sink.js') },
  dapr: { configSchema: daprSchema, load: () => import('./dapr/sink.js') },
  file: { configSchema: fileSchema, load: () => import('./file/sink.js') },
  http: { configSchema: httpSchema, load: () => import('./http/sink.js') },
  kafka: { configSchema: kafkaSchema, load: () => import('./kafka/sink.js') },
  otlp: { configSchema: otlpSchema, load: () => import('./otlp/sink.js') },
};

export function sinkType(type: string): SinkType | undefined {
  return Object.hasOwn(sinkTypes, type) ? sinkTypes[type] : undefined;
}

/** The implementation of a known sink type; throws for an unknown one (the config loader rejects those first). */
export async function loadSinkModule(type: string): Promise<SinkModule> {
  const t = sinkType(type);
  if (!t) throw new Error(`unknown sink type "${type}" (known: ${Object.keys(sinkTypes).join(', ')})`);
  return t.load();
}
