// The queue's housekeeping while an exporter runs: delivered records pruned (soon after a sink advances, and every
// second), records past queue.maxAge dropped, the count removed sinks still hold, and whether ingest is held back saved
// for `exporter status`. Callers only say when a sink advanced and stop it.
import type { Logger } from 'pino';
import type { Queue } from './queue.js';
import { orphanedBySink, saveIngestHold, type IngestHold } from './status.js';

const TICK_MS = 1000;
/** After a sink advanced: prune soon, once for many advances. */
const PRUNE_DELAY_MS = 100;
/** Removed sinks' held records are a count over their backlog: every 10 s, not every tick. */
const ORPHAN_RECOUNT_TICKS = 10;

export class Housekeeping {
  private pruneScheduled = false;
  private ticks = 0;
  private held: IngestHold['reason'] | null = null;
  private timer: NodeJS.Timeout | undefined;
  /** Records each removed sink still holds (only those holding any); recounted only while there are any. */
  orphaned: Map<string, number>;

  constructor(
    private readonly queue: Queue,
    private readonly log: Logger,
    private readonly holdReason: () => IngestHold['reason'] | null,
  ) {
    this.orphaned = orphanedBySink(queue);
  }

  start(): void {
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.timer.unref();
  }

  /** A sink advanced: what every sink has passed can go. */
  readonly afterAdvance = (): void => {
    if (this.pruneScheduled) return;
    this.pruneScheduled = true;
    setTimeout(() => {
      // Not while ingest's writer thread holds SQLite's write lock (this thread would wait in SQLite's busy handler).
      void this.queue.writerIdle().then(() => {
        this.pruneScheduled = false;
        try {
          this.queue.prune();
        } catch (e) {
          this.log.warn({ err: (e as Error).message }, 'pruning delivered records failed; will retry');
        }
      });
    }, PRUNE_DELAY_MS).unref();
  };

  private tick(): void {
    try {
      this.queue.prune();
      const dropped = this.queue.enforceRetention();
      if (dropped) this.log.warn({ records: dropped, maxAgeMs: this.queue.opts.maxAgeMs }, 'records older than queue.maxAge dropped before every sink had them');
      if (this.orphaned.size && ++this.ticks % ORPHAN_RECOUNT_TICKS === 0) this.orphaned = orphanedBySink(this.queue);
      // After pruning: on a full disk this write may fail, and must not keep the space from being reclaimed.
      const reason = this.holdReason();
      if (reason !== this.held) {
        saveIngestHold(this.queue.db, reason ? { reason, since: new Date().toISOString() } : null);
        this.held = reason;
      }
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, 'queue maintenance failed; will retry');
    }
  }

  /** Stops the timer, prunes what it can and clears the saved hold (the exporter is about to close the queue). */
  stop(): void {
    clearInterval(this.timer);
    try {
      this.queue.prune();
      if (this.held) saveIngestHold(this.queue.db, null);
    } catch {
      // the next start prunes; status ignores a hold while no exporter runs
    }
  }
}
