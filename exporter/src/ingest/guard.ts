// Ingest's defences against local clients that would take the exporter's memory or its connections (issue 10, item 5;
// proto-docs/limits.md "Hostile clients"):
// - the unterminated lines of all connections share one budget (ingest.maxPartialBytes): past it the connection holding
//   the largest one is cut, until the total is back under;
// - a connection silent for ingest.idleTimeout with nothing waiting for its commit is closed;
// - at ingest.maxConnections a new client gets in by evicting the idlest connection with nothing waiting for its
//   commit (so the engine's client always gets in, whatever idle clients hold); only when none can go is it refused.
// Every cut and refusal is counted by reason (exporter_ingest_connections_closed_total) and logged, rate-limited.
import type { Logger } from 'pino';
import type { ExporterMetrics } from '../metrics/metrics.js';
import type { Connection } from './connection.js';

export type CloseReason = 'partial_budget' | 'idle_timeout' | 'evicted_idle' | 'refused_full';

export interface GuardLimits {
  maxPartialBytes: number;
  /** 0: connections never time out. */
  idleTimeoutMs: number;
  maxConnections: number;
}

/** At most one log line per reason per interval; the lines in between are counted in the next one. */
const LOG_INTERVAL_MS = 10_000;

export class ConnectionGuard {
  /** Bytes of unterminated lines across all connections. */
  private partialTotal = 0;
  private readonly lastLogAt = new Map<CloseReason, number>();
  private readonly unlogged = new Map<CloseReason, number>();

  constructor(
    private readonly limits: GuardLimits,
    /** The server's open connections: a cut one leaves the set at once (its socket's 'close' comes a tick later). */
    private readonly conns: Set<Connection>,
    private readonly metrics: ExporterMetrics,
    private readonly log: Logger,
  ) {}

  get partialBytes(): number {
    return this.partialTotal;
  }

  /** After conn's splitter took a chunk: accounts for the change of its unterminated line; cuts while over the budget. */
  partialChanged(delta: number): void {
    if (delta === 0) return;
    this.partialTotal += delta;
    while (this.partialTotal > this.limits.maxPartialBytes) {
      let largest: Connection | undefined;
      for (const c of this.conns) if ( (!largest || c.splitter.bufferedBytes > largest.splitter.bufferedBytes)) largest = c;
      if (!largest || largest.splitter.bufferedBytes === 0) break;
      this.cut(largest, 'partial_budget', { partialBytes: largest.splitter.bufferedBytes, budget: this.limits.maxPartialBytes });
    }
    this.metrics.partialBytes.set(this.partialTotal);
  }

  /** A connection's unterminated line was let go (end of input): its bytes leave the budget. */
  released(bytes: number): void {
    if (bytes === 0) return;
    this.partialTotal -= bytes;
    this.metrics.partialBytes.set(this.partialTotal);
  }

  /**
   * A client knocks: true when it may come in (evicting the idlest connection with
   * nothing uncommitted when the house is full), false when it must be refused (counted and logged here).
   */
  admit(): boolean {
    if (this.conns.size < this.limits.maxConnections) return true;
    let idlest: Connection | undefined;
    for (const c of this.conns) {
      if (c.uncommitted > 0 || c.ackOwed) continue;
      if (!idlest || c.lastDataAt < idlest.lastDataAt) idlest = c;
    }
    if (idlest) {
      this.cut(idlest, 'evicted_idle', { idleMs: Math.round(performance.now() - idlest.lastDataAt), maxConnections: this.limits.maxConnections });
      return true;
    }
    this.count('refused_full', { maxConnections: this.limits.maxConnections });
    return false;
  }

  /** Closes connections silent for idleTimeout that have nothing uncommitted (not called while ingest is paused). */
  sweepIdle(now: number): void {
    const limit = this.limits.idleTimeoutMs;
    if (limit <= 0) return;
    for (const c of this.conns) {
      if (c.inputEnded || c.uncommitted > 0 || now - c.lastDataAt < limit) continue;
      this.cut(c, 'idle_timeout', { idleMs: Math.round(now - c.lastDataAt) });
    }
  }

  /** Every sweepIdle interval: a quarter of the timeout, between 50 ms and 5 s (0 when there is no timeout). */
  get sweepEveryMs(): number {
    const t = this.limits.idleTimeoutMs;
    return t <= 0 ? 0 : Math.min(5000, Math.max(50, Math.floor(t / 4)));
  }

  private cut(c: Connection, reason: CloseReason, detail: Record<string, unknown>): void {
    c.cut = true;
    this.conns.delete(c);
    this.released(c.splitter.bufferedBytes);
    c.splitter.discard();
    c.socket.destroy();
    this.count(reason, { conn: c.id, ...detail });
  }

  private count(reason: CloseReason, detail: Record<string, unknown>): void {
    this.metrics.connectionsClosed.inc({ reason });
    const now = Date.now();
    const last = this.lastLogAt.get(reason);
    if (last !== undefined && now - last < LOG_INTERVAL_MS) {
      this.unlogged.set(reason, (this.unlogged.get(reason) ?? 0) + 1);
      return;
    }
    const suppressed = this.unlogged.get(reason) ?? 0;
    this.lastLogAt.set(reason, now);
    this.unlogged.set(reason, 0);
    this.log.warn({ reason, ...detail, ...(suppressed ? { sinceLastLine: suppressed } : {}) }, MESSAGES[reason]);
  }
}

const MESSAGES: Record<CloseReason, string> = {
  partial_budget: 'client connection cut: unterminated lines over ingest.maxPartialBytes (the largest one goes)',
  idle_timeout: 'client connection closed: idle for ingest.idleTimeout',
  evicted_idle: 'client connection closed: the idlest one, to let a new client in at ingest.maxConnections',
  refused_full: 'client connection refused: ingest.maxConnections reached and none idle to close',
};
