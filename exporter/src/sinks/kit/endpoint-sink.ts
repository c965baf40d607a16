// What the sinks that POST batches to one HTTP endpoint (http, otlp) share: a Sink that starts, reports and closes through
// its HttpEndpoint and sends through a RequestSplitter. A sink adds its keys, how it prepares a batch (prepare) and how it
// encodes one request (post).
import type { Logger } from 'pino';
import type { OutgoingRecord, RecordFailure, SendResult, Sink, SinkHealth } from '../sink.js';
import { HttpEndpoint, type StatusPolicy } from './http-endpoint.js';
import type { EndpointConfig } from './endpoint-config.js';
import { RequestSplitter, type SplitterOptions } from './request-splitter.js';

export interface EndpointSinkOptions extends Omit<SplitterOptions, 'maxRecords' | 'maxBytes'> {
  /** Bytes a record adds to a request (before compression). */
  recordBytes(record: OutgoingRecord): number;
  url: URL;
  method: 'POST' | 'PUT';
  status: StatusPolicy;
  log?: Logger | undefined;
}

/**
 * P: a batch as prepare() leaves it for post(). Requests take milliseconds, long enough for V8 to promote what they hold
 * to its old generation (freed only by a full GC): a sink whose prepared batch is bytes (http) holds no record then.
 */
export abstract class EndpointSink<P> implements Sink {
  abstract readonly type: string;
  readonly name: string;
  readonly #endpoint: HttpEndpoint;
  readonly #requests: RequestSplitter;
  readonly #recordBytes: (record: OutgoingRecord) => number;

  protected constructor(cfg: EndpointConfig & { batch: { maxRecords: number; maxBytes: number } }, o: EndpointSinkOptions) {
    this.name = cfg.name;
    this.#endpoint = new HttpEndpoint(o.url, o.method, cfg, o.status);
    this.#requests = new RequestSplitter({ ...o, maxRecords: cfg.batch.maxRecords, maxBytes: cfg.batch.maxBytes });
    this.#recordBytes = o.recordBytes;
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
    const split = batch.map((r) => ({ seq: r.seq, bytes: this.#recordBytes(r) }));
    const prepared = this.prepare(batch);
    // Not async: once it returns, only `prepared` is held through the requests, not `batch`.
    return this.#requests.send(split, (indexes, failures) => this.post(prepared, indexes, failures, signal));
  }

  /** The batch as post() needs it; indexes given to post() are the batch's. */
  protected abstract prepare(batch: readonly OutgoingRecord[]): P;

  /** Sends the records at these indexes as one request (see PostRequest). */
  protected abstract post(prepared: P, indexes: readonly number[], failures: RecordFailure[], signal: AbortSignal): Promise<void>;

  /** Sends one encoded request body; the 2xx response is returned for the body to be read or dumped. */
  protected request(body: Uint8Array, contentHeaders: Record<string, string>, signal: AbortSignal) {
    return this.#endpoint.send(body, contentHeaders, signal);
  }
}
