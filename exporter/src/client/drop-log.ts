// Dropped records are counted one by one, but logged at most once per interval (the first drop at once, then a summary
// of the drops since the last line), so a long outage cannot flood the log from the request path.
import type { Logger } from 'pino';
import type { DropReason } from './types.js';

export class DropLog {
  #since: Partial<Record<DropReason, number>> = {};
  #unlogged = 0;
  #lastAt = -Infinity;

  constructor(
    private readonly log: Logger | undefined,
    private readonly intervalMs: number,
  ) {}

  note(reason: DropReason, n = 1): void {
    this.#since[reason] = (this.#since[reason] ?? 0) + n;
    this.#unlogged += n;
    const now = Date.now();
    if (now - this.#lastAt >= this.intervalMs) {
      this.#lastAt = now;
      this.flush();
    }
  }

  /** Logs the drops not logged yet (at close, so the last ones are never silent). */
  flush(): void {
    if (!this.#unlogged) return;
    this.log?.warn({ dropped: this.#since, records: this.#unlogged }, 'export client dropped records (decisions lost: see exporter_client_records_dropped_total)');
    this.#since = {};
    this.#unlogged = 0;
  }
}
