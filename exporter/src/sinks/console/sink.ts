// Console sink: writes records to the exporter's standard output (or error), one per line, for `kubectl logs` and the
// node's log agent. A batch is delivered once the stream has handed every byte of it to the OS; a closed stream
// (EPIPE, the reader gone) fails the batch as retryable, so the records stay queued. Wire contract: proto-docs/sinks/console.md.
import type { Writable } from 'node:stream';
import type { Logger } from 'pino';
import { SinkError, type OutgoingRecord, type SendResult, type Sink, type SinkHealth } from '../sink.js';
import { severityOf } from '../kit/severity.js';
import { configSchema, type ConsoleSinkConfig } from './config.js';

export { configSchema, type ConsoleSinkConfig };

export interface ConsoleSinkContext {
  logger?: Logger;
}

export function createSink(cfg: ConsoleSinkConfig, ctx: ConsoleSinkContext = {}): ConsoleSink {
  return new ConsoleSink(cfg, ctx);
}

/** One readable line: time, severity, event type, the resource and the constraint, the message, the decision id. */
export function textLine(json: string): string {
  const r = JSON.parse(json) as Record<string, unknown>;
  const str = (k: string) => (typeof r[k] === 'string' && r[k] !== '' ? (r[k] as string) : undefined);
  const resource = [str('resourceKind'), [str('resourceNamespace'), str('resourceName')].filter(Boolean).join('/')].filter(Boolean).join(' ');
  const parts = [
    str('timestamp') ?? '-',
    severityOf(r).text,
    str('eventType') ?? '-',
    typeof r['allowed'] === 'boolean' ? (r['allowed'] ? 'allowed' : 'denied') : undefined,
    str('operation'),
    resource || undefined,
    str('kind') && str('name') ? `constraint=${str('kind')}/${str('name')}` : undefined,
    str('enforcementAction') ? `action=${str('enforcementAction')}` : undefined,
    str('message') ? JSON.stringify(str('message')) : undefined,
    `decisionId=${str('decisionId') ?? '-'}`,
  ];
  return parts.filter((p) => p !== undefined).join(' ');
}

export class ConsoleSink implements Sink {
  readonly name: string;
  readonly type = 'console';
  readonly #format: 'ndjson' | 'text';
  readonly #stream: Writable;
  readonly #streamName: string;
  readonly #log: Logger | undefined;
  #broken: Error | undefined;
  #health: SinkHealth = { ready: true };
  readonly #onError = (e: Error) => {
    // Without a listener an EPIPE on stdout would crash the exporter; record it and fail the sends instead.
    this.#broken = e;
    this.#health = { ready: false, detail: `${this.#streamName}: ${e.message}` };
  };

  constructor(cfg: ConsoleSinkConfig, ctx: ConsoleSinkContext = {}) {
    this.name = cfg.name;
    this.#format = cfg.format;
    this.#streamName = cfg.stream;
    this.#stream = cfg.stream === 'stdout' ? process.stdout : process.stderr;
    this.#log = ctx.logger?.child({ sink: cfg.name });
  }

  async start(): Promise<void> {
    this.#stream.on('error', this.#onError);
  }

  health(): SinkHealth {
    return this.#health;
  }

  async close(): Promise<void> {
    this.#stream.off('error', this.#onError);
  }

  async send(batch: readonly OutgoingRecord[]): Promise<SendResult> {
    let text = '';
    for (const r of batch) text += (this.#format === 'ndjson' ? r.json : textLine(r.json)) + '\n';
    try {
      await this.#write(text);
    } catch (e) {
      this.#health = { ready: false, detail: `${this.#streamName}: ${(e as Error).message}` };
      this.#log?.warn({ err: (e as Error).message }, 'console sink cannot write; the records stay queued');
      throw new SinkError(`${this.#streamName}: ${(e as Error).message}`, { retryable: true, cause: e });
    }
    this.#health = { ready: true };
    return {};
  }

  #write(text: string): Promise<void> {
    const s = this.#stream;
    if (this.#broken || s.destroyed || !s.writable) return Promise.reject(this.#broken ?? new Error('stream closed'));
    return new Promise<void>((resolve, reject) => {
      s.write(text, (e) => {
        if (e) return reject(e);
        if (!s.writableNeedDrain) return resolve();
        // A stream that breaks while full never drains: settle on whichever comes first.
        const onError = (err: Error) => (s.off('drain', onDrain), reject(err));
        const onDrain = () => (s.off('error', onError), resolve());
        s.once('drain', onDrain).once('error', onError);
      });
    });
  }
}
