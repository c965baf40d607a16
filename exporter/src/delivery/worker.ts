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

/** A record of the batch still to send; its text is in the queue (re-read for a retry), not held here. */
interface Item {
  seq: number;
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
      const batch = this.o.queue.readBatch(this.name, this.cursor, maxRecords, maxBytes, this.route?.readsFacts);
      if (!batch.length) {
        await this.waitForRecords(this.o.idlePollMs ?? 1000);
        continue;
      }
      await this.deliver(batch);
    }
  }

  /**
   * The routed records of these items, re-read from the queue: records are not held while a send is in flight (held
   * through a request they outlived V8's young generation: most of the end-to-end peak RSS).
   */
  private reread(items: readonly Item[]): (OutgoingRecord | undefined)[] {
    const first = items[0]!.seq;
    const span = items[items.length - 1]!.seq - first + 1;
    const bySeq = new Map<number, OutgoingRecord>();
    for (const rec of this.o.queue.readBatch(this.name, first - 1, span, Number.MAX_SAFE_INTEGER, this.route?.readsFacts)) bySeq.set(rec.seq, rec);
    return items.map((i) => {
      const rec = bySeq.get(i.seq);
      return rec && this.route ? (this.route(rec) ?? undefined) : rec;
    });
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

  /** Sends a batch (the array is emptied: the sink gets the records, nothing here holds them during the send). */
  private async deliver(batch: OutgoingRecord[]): Promise<void> {
    const { cfg, metrics, queue, log, sink } = this.o;
    const retry = cfg.retry;
    const batchSize = batch.length;
    const last = batch[batchSize - 1]!.seq;
    let filtered = 0;
    let toSend: Item[] = [];
    /** The records of the next attempt: the first one's were just read; a retry's are read again. */
    const records: OutgoingRecord[] = [];
    for (const rec of batch) {
      const out = this.route ? this.route(rec) : rec;
      if (!out) {
        filtered++;
        continue;
      }
      toSend.push({ seq: rec.seq, attempts: 0 });
      records.push(out);
    }
    batch.length = 0;
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
        if (!records.length) {
          toSend = this.rereadFor(toSend, records);
          if (!toSend.length) break;
        }
        // splice: the sink gets the only reference; once it has encoded them, the records can go.
        const result = await sink.send(records.splice(0), this.sendSignal.signal);
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
        const refused: { item: Item; error: string }[] = [];
        let lastError = '';
        for (const f of [...failures].sort((a, b) => a.index - b.index)) {
          const item = toSend[f.index];
          if (!item || failed.has(f.index)) continue;
          failed.add(f.index);
          item.attempts++;
          lastError = f.error;
          if (!f.retryable && item.attempts >= retry.maxAttempts) {
            refused.push({ item, error: f.error });
          } else {
            next.push(item);
          }
        }
        if (refused.length) this.retryUnread(next, this.deadLetters(refused, 'rejected', dead));
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
        this.noteFailure(attempt, `${failed.size} of ${batchSize} records failed: ${lastError}`);
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
          const refused: { item: Item; error: string }[] = [];
          for (const item of toSend) {
            item.attempts++;
            if (item.attempts >= retry.maxAttempts) refused.push({ item, error: err.message });
            else next.push(item);
          }
          if (refused.length) this.retryUnread(next, this.deadLetters(refused, 'rejected', dead));
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
    // Saving the cursor can fail (a full disk): keep trying; the batch is delivered, only its bookkeeping waits.
    for (let tries = 1; ; tries++) {
      try {
        // On the queue's writer thread when it has one: this thread does not wait for the commit's sync.
        await queue.advanceSinkAsync(this.name, last, delivered, dead);
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

  /** Fills records with the items' records re-read; the items still in the queue (drop-oldest may have removed some). */
  private rereadFor(items: readonly Item[], records: OutgoingRecord[]): Item[] {
    const kept: Item[] = [];
    this.reread(items).forEach((rec, i) => {
      if (!rec) return;
      kept.push(items[i]!);
      records.push(rec);
    });
    return kept;
  }

  /**
   * Dead letters for records the sink refused for good, their text re-read from the queue (as routed for the sink).
   * Returns the items whose text could not be read (they are tried again rather than lost).
   */
  private deadLetters(refused: readonly { item: Item; error: string }[], reason: string, into: NewDeadLetter[]): Item[] {
    let recs: (OutgoingRecord | undefined)[];
    try {
      recs = this.reread(refused.map((r) => r.item));
    } catch (e) {
      this.o.log.warn({ sink: this.name, err: (e as Error).message }, 'cannot read refused records for their dead letters; retrying them');
      return refused.map((r) => r.item);
    }
    refused.forEach(({ item, error }, i) => {
      const rec = recs[i];
      // Gone from the queue (onFull: drop-oldest): already counted as dropped.
      if (rec) into.push({ sink: this.name, reason, error, raw: rec.json, seq: item.seq, decisionId: rec.decisionId, attempts: item.attempts });
    });
    return [];
  }

  /** Items to try again after all, merged into `next` in seq order (a batch goes out in order). */
  private retryUnread(next: Item[], unread: readonly Item[]): void {
    if (!unread.length) return;
    next.push(...unread);
    next.sort((a, b) => a.seq - b.seq);
  }
}
