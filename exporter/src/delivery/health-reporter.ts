// Saves each worker's live state (sink health, up/down, retry state) into the queue file for `exporter status`:
// a changed state within a second, and everything (with the last success time) every `intervalMs`. Never per record.
import type { Logger } from 'pino';
import type { SinkHealthStore } from '../queue/sink-health.js';
import type { DeliveryWorker, WorkerLiveState } from './worker.js';

/** How often states are compared with what was last written (an in-memory check; a write only on change). */
const CHECK_MS = 1000;

export class HealthReporter {
  private timer: NodeJS.Timeout | undefined;
  private readonly written = new Map<string, string>();
  private lastBeat = 0;
  private failing = false;

  constructor(
    private readonly store: SinkHealthStore,
    private readonly workers: readonly DeliveryWorker[],
    private readonly intervalMs: number,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.guard(() => this.store.begin(this.workers.map((w) => w.name), this.intervalMs));
    this.lastBeat = Date.now();
    this.tick();
    this.timer = setInterval(() => this.tick(), Math.min(CHECK_MS, this.intervalMs));
    this.timer.unref();
  }

  /** Last write, marking the exporter stopped (a graceful shutdown). */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.guard(() => this.store.write(this.changed(true), Date.now(), true));
  }

  private tick(): void {
    const now = Date.now();
    const beatDue = now - this.lastBeat >= this.intervalMs;
    const rows = this.changed(beatDue);
    if (!rows.length && !beatDue) return;
    if (this.guard(() => this.store.write(rows, now))) this.lastBeat = now;
  }

  /**
   * States that differ from the last written ones (all of them when `all`), remembered as written. The time of the last
   * success alone is no change: it moves with every batch of a healthy sink, and goes out with the heartbeat.
   */
  private changed(all: boolean): WorkerLiveState[] {
    const out: WorkerLiveState[] = [];
    for (const w of this.workers) {
      const s = w.liveState();
      const key = JSON.stringify({ ...s, lastSuccessAt: null });
      if (!all && this.written.get(s.sink) === key) continue;
      this.written.set(s.sink, key);
      out.push(s);
    }
    return out;
  }

  /** A failed write (a full disk, a busy file) must not disturb delivery: logged once, tried again next tick. */
  private guard(fn: () => void): boolean {
    try {
      fn();
      if (this.failing) this.log.info('sink state for `exporter status` saved again');
      this.failing = false;
      return true;
    } catch (e) {
      if (!this.failing) this.log.warn({ err: (e as Error).message }, 'cannot save the sink state for `exporter status`; will retry');
      this.failing = true;
      this.written.clear();
      return false;
    }
  }
}
