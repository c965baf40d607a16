// Maps a sink's `type` (as written in the config) to the module that implements it.
// Each sink owner adds one line here for their module; the module exports `configSchema` (JSON Schema for its own keys,
// without the common ones: name, type, startFrom, batch, retry) and `createSink(cfg, ctx)`.
import type { Logger } from 'pino';
import type { Sink } from './sink.js';
import * as dapr from './dapr.js';
import * as file from './file.js';
import * as http from './http.js';
import * as kafka from './kafka.js';

export interface SinkContext {
  logger: Logger;
}

export interface SinkModule {
  configSchema: object;
  // The config object holds the common keys plus the type's own, already validated against configSchema.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  createSink(cfg: any, ctx: SinkContext): Sink;
}

export const sinkModules: Record<string, SinkModule> = {
  dapr,
  file,
  http,
  kafka,
};

export function sinkModule(type: string): SinkModule | undefined {
  return Object.hasOwn(sinkModules, type) ? sinkModules[type] : undefined;
}
