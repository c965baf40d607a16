// One delivery worker per sink: reads batches after the sink's cursor, sends them, retries with backoff, dead-letters what
// the sink refuses for good, and advances the cursor only when every record of the batch is done.
import type { Logger } from 'pino';
import { classifyFailure, type OutgoingRecord, type Sink } from '../sinks/sink.js';
import type { SinkConfig } from '../config/config.js';
import type { NewDeadLetter, Queue } from '../queue/queue.js';
import type { ExporterMetrics } from '../metrics/metrics.js';
import { backoffDelay, sleep, type BackoffPolicy } from './backoff.js';
import type { SinkLiveRow } from '../queue/sink-health.js';
import { compileRouting, type RecordTransform, type RoutingConfig } from '../routing/index.js';

export interface WorkerOptions {
  queue: Queue;
  metrics: ExporterMetrics;
  log: Logger;
  sink: Sink;
  /** The sink's config, routing included: its filter and redaction are applied here, so no sink runs without them. */
  cfg: SinkConfig;
  /** Called after the cursor moved (the queue may prune). */
  onAdvance?: () => void;
  /** How often an idle worker looks for records appended by another process (dead-letter retry). */
  idlePollMs?: number;
}

/** What a worker knows of its sink right now, for `exporter status` (see delivery/health-reporter.ts). */
export type WorkerLiveState = Omit<SinkLiveRow, 'updatedAt'>;

interface Item {
  rec: OutgoingRecord;
  attempts: number;
}

/** Retrying a cursor save that failed (a full disk): the batch is delivered, only its bookkeeping waits. */
const CURSOR_SAVE_BACKOFF: BackoffPolicy = { initialMs: 100, multiplier: 2, maxMs: 5000, jitter: 0 };

export class DeliveryWorker {
  private cursor: number;
  private stopping = false;
  private readonly stopSignal = new AbortController();
  private readonly sendSignal = new AbortController();
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private lastSendOk = true;
  private lastSuccessAt: number | null = null;
  private consecutiveFailures = 0;
  private nextRetryAt: number | null = null;
  private readonly unsubscribe: () => void;
  /** Filter and redaction (exporter_records_filtered_total counts what the filter leaves out); none: sent as stored. */
  private readonly route: RecordTransform | undefined;
  readonly name: string;

  constructor(private readonly o: WorkerOptions) {
    this.name = o.cfg.name;
    this.route = compileRouting(o.cfg as RoutingConfig, o.log);
    this.cursor = o.queue.sinkCursor(this.name);
    this.unsubscribe = o.queue.onAppend(() => this.wake?.());
  }

  get position(): number {
    return this.cursor;
  }

  /** Up: the last attempt went through (or nothing needed sending) and the sink says it is ready. */
  get up(): boolean {
    return this.lastSendOk && this.o.sink.health().ready;
  }

  liveState(): WorkerLiveState {
    const h = this.o.sink.health();
    return {
      sink: this.name,
      ready: h.ready,
      detail: h.detail ?? null,
      up: this.lastSendOk && h.ready,
      lastSuccessAt: this.lastSuccessAt,
      consecutiveFailures: this.consecutiveFailures,
      nextRetryAt: this.nextRetryAt,
    };
  }

  start(): void {
    this.loop = this.run().catch((e: unknown) => {
      this.o.log.error({ sink: this.name, err: (e as Error).message }, 'delivery worker crashed');
      this.lastSendOk = false;
    });
  }

  /** Stops taking new batches; an in-flight send may finish until the deadline, then it is aborted. */
  async stop(deadline: number): Promise<void> {
    this.stopping = true;
    this.stopSignal.abort();
    this.wake?.();
    const timer = setTimeout(() => this.sendSignal.abort(), Math.max(0, deadline - Date.now()));
    try {
      await this.loop;
    } finally {
      clearTimeout(timer);
      this.unsubscribe();
      await this.o.sink.close().catch((e: unknown) => this.o.log.warn({ sink: this.name, err: (e as Error).message }, 'sink close failed'));
    }
  }

  private async run(): Promise<void> {
    const { sink, log } = this.o;
    await sink.start(this.stopSignal.signal).catch((e: unknown) => {
      log.warn({ sink: this.name, err: (e as Error).message }, 'sink start failed; will retry on send');
    });
    const { maxRecords, maxBytes, lingerMs } = this.o.cfg.batch;
    while (!this.stopping) {
      // Fewer records than a batch after the cursor: linger before reading them rather than after, so the batch is read
      // once and no records are held while more arrive (records held for tens of milliseconds while ingest allocates
      // are promoted to V8's old generation: most of the end-to-end peak RSS). lastSeq also counts records meant for
      // other sinks only, and not those another process appended (dead-letter retry): the read below finds those.
      const pending = this.o.queue.lastSeq - this.cursor;
      if (pending > 0 && pending < maxRecords && lingerMs > 0) {
        await sleep(lingerMs, this.stopSignal.signal);
        if (this.stopping) break;
      }
      const batch = this.o.queue.readBatch(this.name, this.cursor, maxRecords, maxBytes);
      if (!batch.length) {
        await this.waitForRecords(this.o.idlePollMs ?? 1000);
        continue;
      }
      await this.deliver(batch);
    }
  }

  private waitForRecords(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      const self = this; // eslint-disable-line @typescript-eslint/no-this-alias
      function done() {
        clearTimeout(t);
        self.wake = undefined;
        resolve();
      }
      this.wake = done;
    });
  }

  private async deliver(batch: OutgoingRecord[]): Promise<void> {
    const { cfg, metrics, queue, log, sink } = this.o;
    const retry = cfg.retry;
    let filtered = 0;
    let toSend: Item[] = [];
    for (const rec of batch) {
      const out = this.route ? this.route(rec) : rec;
      if (out) toSend.push({ rec: out, attempts: 0 });
      else filtered++;
    }
    const dead: NewDeadLetter[] = [];
    let delivered = 0;
    let attempt = 0;
    while (toSend.length) {
      // During shutdown, start no new attempt: the records stay queued and go out after the restart.
      if (this.stopping && attempt > 0) return;
      if (this.sendSignal.signal.aborted) return;
      let retryAfterMs: number | undefined;
      const t0 = performance.now();
      try {
        const result = await sink.send(
          toSend.map((i) => i.rec),
          this.sendSignal.signal,
        );
        metrics.deliverySeconds.observe({ sink: this.name }, (performance.now() - t0) / 1000);
        const failures = result.failures ?? [];
        if (!failures.length) {
          delivered += toSend.length;
          toSend = [];
          this.consecutiveFailures = 0;
          this.lastSuccessAt = Date.now();
          break;
        }
        const failed = new Set<number>();
        const next: Item[] = [];
        let lastError = '';
        for (const f of [...failures].sort((a, b) => a.index - b.index)) {
          const item = toSend[f.index];
          if (!item || failed.has(f.index)) continue;
          failed.add(f.index);
          item.attempts++;
          lastError = f.error;
          if (!f.retryable && item.attempts >= retry.maxAttempts) {
            dead.push(this.deadLetter(item, 'rejected', f.error));
          } else {
            next.push(item);
          }
        }
        const okCount = toSend.length - failed.size;
        delivered += okCount;
        metrics.deliveryFailures.inc({ sink: this.name }, failed.size);
        if (okCount > 0) {
          attempt = 0;
          this.lastSuccessAt = Date.now();
        }
        this.consecutiveFailures++;
        toSend = next;
        if (!toSend.length) break;
        attempt++;
        this.lastSendOk = false;
        this.noteFailure(attempt, `${failed.size} of ${batch.length} records failed: ${lastError}`);
      } catch (e) {
        if (this.sendSignal.signal.aborted) return;
        const err = classifyFailure(e);
        const retryable = err.retryable;
        retryAfterMs = err.retryAfterMs;
        attempt++;
        this.consecutiveFailures++;
        this.lastSendOk = false;
        metrics.deliveryFailures.inc({ sink: this.name });
        this.noteFailure(attempt, err.message);
        if (!retryable) {
          const next: Item[] = [];
          for (const item of toSend) {
            item.attempts++;
            if (item.attempts >= retry.maxAttempts) dead.push(this.deadLetter(item, 'rejected', err.message));
            else next.push(item);
          }
          toSend = next;
          if (!toSend.length) break;
        }
        if (attempt === 1 || attempt % 10 === 0) {
          log.warn({ sink: this.name, attempt, retryable, retryAfterMs, err: err.message, records: toSend.length }, 'delivery failed; retrying');
        }
      }
      const delay = backoffDelay(retry, attempt, retryAfterMs);
      this.nextRetryAt = Date.now() + delay;
      const slept = await sleep(delay, this.stopSignal.signal);
      this.nextRetryAt = null;
      if (!slept) return;
    }
    const last = batch[batch.length - 1]!.seq;
    // Saving the cursor can fail (a full disk): keep trying; the batch is delivered, only its bookkeeping waits.
    for (let tries = 1; ; tries++) {
      try {
        queue.advanceSink(this.name, last, delivered, dead);
        break;
      } catch (e) {
        if (tries === 1) log.error({ sink: this.name, err: (e as Error).message }, 'cannot save the sink cursor; retrying');
        if (!(await sleep(backoffDelay(CURSOR_SAVE_BACKOFF, tries), this.stopSignal.signal))) return;
      }
    }
    this.cursor = last;
    this.lastSendOk = true;
    if (delivered) metrics.delivered.inc({ sink: this.name }, delivered);
    if (filtered) metrics.filtered.inc({ sink: this.name }, filtered);
    if (dead.length) {
      metrics.deadLettered.inc({ sink: this.name }, dead.length);
      log.warn({ sink: this.name, records: dead.length, firstSeq: dead[0]!.seq }, 'records refused by the sink moved to dead letters');
    }
    this.o.onAdvance?.();
  }

  private noteFailure(attempt: number, error: string): void {
    try {
      this.o.queue.recordFailure(this.name, attempt, error);
    } catch (e) {
      this.o.log.debug({ sink: this.name, err: (e as Error).message }, 'cannot save the last error');
    }
  }

  private deadLetter(item: Item, reason: string, error: string): NewDeadLetter {
    return {
      sink: this.name,
      reason,
      error,
      raw: item.rec.json,
      seq: item.rec.seq,
      decisionId: item.rec.decisionId,
      attempts: item.attempts,
    };
  }
}
