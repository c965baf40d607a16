// What the sinks that POST batches to one HTTP endpoint (http, otlp) share: a Sink that starts, reports and closes through its HttpEndpoint and sends through a RequestSplitter. A sink adds its keys and
// how it encodes one request (post).
import type { Logger } from 'pino';
import type { OutgoingRecord, RecordFailure, SendResult, Sink, SinkHealth } from '../sink.js';
import { HttpEndpoint, type StatusPolicy } from './http-endpoint.js';
import type { EndpointConfig } from './endpoint-config.js';
import { RequestSplitter, type SplitterOptions } from './request-splitter.js';

export interface EndpointSinkOptions extends Omit<SplitterOptions, 'maxRecords' | 'maxBytes'> {
  url: URL;
  method: 'POST' | 'PUT';
  status: StatusPolicy;
  log?: Logger | undefined;
}

export abstract class EndpointSink implements Sink {
  abstract readonly type: string;
  readonly name: string;
  readonly #endpoint: HttpEndpoint;
  readonly #requests: RequestSplitter;

  protected constructor(cfg: EndpointConfig & { batch: { maxRecords: number; maxBytes: number } }, o: EndpointSinkOptions) {
    this.name = cfg.name;
    this.#endpoint = new HttpEndpoint(o.url, o.method, cfg, o.status);
    this.#requests = new RequestSplitter({ ...o, maxRecords: cfg.batch.maxRecords, maxBytes: cfg.batch.maxBytes });
  }

  start(): Promise<void> {
    return this.#endpoint.start();
  }

  health(): SinkHealth {
    return this.#endpoint.health;
  }

  close(): Promise<void> {
    return this.#endpoint.close();
  }

  send(batch: readonly OutgoingRecord[], signal: AbortSignal): Promise<SendResult> {
    return this.#requests.send(batch, (indexes, failures) => this.post(batch, indexes, failures, signal));
  }

  /** Sends the records at these indexes as one request (see PostRequest). */
  protected abstract post(batch: readonly OutgoingRecord[], indexes: readonly number[], failures: RecordFailure[], signal: AbortSignal): Promise<void>;

  /** Sends one encoded request body; the 2xx response is returned for the body to be read or dumped. */
  protected request(body: Uint8Array, contentHeaders: Record<string, string>, signal: AbortSignal) {
    return this.#endpoint.send(body, contentHeaders, signal);
  }
}
