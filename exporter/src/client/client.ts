// ExportClient: the engine's side of the socket protocol (proto-docs/transport.md, proto-docs/acks.md).
// send() is synchronous and never blocks or throws: the record goes into a bounded in-memory buffer (or the spill file)
// and a tick later, with everything else sent in that tick, onto the socket. Lines stay in the buffer (encoded, outside
// V8's heap: line-buffer.ts) until the exporter acknowledges them; after a reconnect every unacknowledged line is sent
// again (at-least-once).
import net from 'node:net';
import ndjson from 'ndjson';
import type { Logger } from 'pino';
import { LineBuffer } from './line-buffer.js';
import { SpillFile } from './spill.js';
import { DropLog } from './drop-log.js';
import { registerClientMetrics } from './metrics.js';
import { DROP_REASONS, type CloseOptions, type DropReason, type ExportClientOptions, type ExportClientStats, type ExportSender, type OnFullPolicy } from './types.js';

export type { CloseOptions, DropReason, ExportClientOptions, ExportClientStats, ExportSender, OnFullPolicy } from './types.js';

const KiB = 1024;
const MiB = 1024 * KiB;
/**
 * Each read costs the exporter a wake-up with cold caches (~150 µs at webhook rates, bench/exporter-paced.ts), far more
 * than a record: at 250 reviews/s a write per review cost the exporter a median 154 µs of CPU per record, 123 with this
 * hold (bench/exporter-client.ts, paced).
 */
export const DEFAULT_WRITE_HOLD_MS = 10;
/**
 * Only after a small write: when every tick has this many lines to write, records come fast enough to fill writes
 * without waiting, and holding them longer would only keep them alive into V8's old generation (a send() p99.9 of
 * 12 ms against 44-51 µs at full rate, bench/exporter-client.ts).
 */
const HOLD_BELOW_LINES = 32;

export class ExportClient implements ExportSender {
  readonly enabled = true;
  readonly #socketPath: string;
  readonly #maxRecords: number;
  readonly #maxBytes: number;
  readonly #maxLineBytes: number;
  readonly #maxWriteBytes: number;
  readonly #writeHoldMs: number;
  readonly #onFull: OnFullPolicy;
  readonly #spill: SpillFile | undefined;
  readonly #backoff: { initialMs: number; maxMs: number; multiplier: number; jitter: number };
  readonly #log: Logger | undefined;
  readonly #dropLog: DropLog;

  // The buffer, oldest first. The first #written of its lines were written on the current connection (and not yet
  // acknowledged on it).
  #lines = new LineBuffer();
  #written = 0;
  /** The last ack of the current connection (cumulative line count). */
  #connAcked = 0;

  #socket: net.Socket | undefined;
  #connected = false;
  #blocked = false;
  #flushScheduled = false;
  /** performance.now() of the last write, and its lines. */
  #lastWriteAt = -Infinity;
  #lastWriteLines = 0;
  #closed = false;
  #everConnected = false;
  #attempt = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  #lastConnectError = '';
  #waiters: (() => void)[] = [];
  /** The read back from the spill file in progress, if any (close() waits for it). */
  #refilling: Promise<void> = Promise.resolve();
  /** Lines written on the last connection and not acknowledged when it dropped: the next connection resends them. */
  #unackedAtDisconnect = 0;

  #stats = {
    accepted: 0,
    sent: 0,
    resent: 0,
    acked: 0,
    reconnects: 0,
    rejected: {} as Record<string, number>,
    dropped: Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<DropReason, number>,
  };

  constructor(opts: ExportClientOptions) {
    if (!opts || typeof opts.socketPath !== 'string' || !opts.socketPath) throw new Error('export client: socketPath is required');
    this.#socketPath = opts.socketPath;
    this.#maxRecords = numberOption(opts.buffer?.maxRecords, 10_000, 'buffer.maxRecords');
    this.#maxBytes = numberOption(opts.buffer?.maxBytes, 16 * MiB, 'buffer.maxBytes');
    this.#maxLineBytes = numberOption(opts.maxLineBytes, MiB, 'maxLineBytes');
    this.#maxWriteBytes = numberOption(opts.maxWriteBytes, 256 * KiB, 'maxWriteBytes');
    this.#writeHoldMs = numberOption(opts.writeHoldMs, DEFAULT_WRITE_HOLD_MS, 'writeHoldMs', { orZero: true });
    this.#onFull = opts.onFull ?? (opts.spill?.path ? 'spill' : 'drop-newest');
    if (this.#onFull !== 'drop-newest' && this.#onFull !== 'spill') {
      throw new Error(`export client: onFull must be drop-newest or spill, got ${JSON.stringify(opts.onFull)}`);
    }
    if (this.#onFull === 'spill') {
      if (!opts.spill?.path) throw new Error('export client: onFull: spill needs spill.path');
      this.#spill = new SpillFile(opts.spill.path, numberOption(opts.spill.maxBytes, 256 * MiB, 'spill.maxBytes'), () => this.#refill());
    }
    const r = opts.reconnect ?? {};
    this.#backoff = {
      initialMs: numberOption(r.initialMs, 100, 'reconnect.initialMs'),
      maxMs: numberOption(r.maxMs, 5000, 'reconnect.maxMs'),
      multiplier: r.multiplier ?? 2,
      jitter: Math.min(1, Math.max(0, r.jitter ?? 0.2)),
    };
    this.#log = opts.logger;
    this.#dropLog = new DropLog(opts.logger, numberOption(opts.dropLogIntervalMs, 10_000, 'dropLogIntervalMs'));
    if (opts.registry) registerClientMetrics(opts.registry, opts.metricPrefix ?? 'exporter_client_', () => this.stats());
    this.#connect();
  }

  send(record: object | string): void {
    if (this.#closed) return this.#drop('closed');
    // Once records are in the spill file, newer ones go there too, so the exporter gets them in order.
    const spilling = this.#spill !== undefined && !this.#spill.empty;
    const roomInBuffer = !spilling && this.#lines.length < this.#maxRecords;
    if (!roomInBuffer && !this.#spill) return this.#drop('buffer_full'); // decided before paying for JSON.stringify
    let line: string;
    try {
      line = typeof record === 'string' ? record : JSON.stringify(record);
      if (typeof line !== 'string') throw new Error('not serialisable');
    } catch {
      return this.#drop('unserializable');
    }
    let bytes: number; // with its newline
    if (roomInBuffer) {
      const pushed = this.#lines.push(line, this.#maxLineBytes, this.#maxBytes);
      if (pushed > 0) {
        this.#stats.accepted++;
        this.#scheduleFlush();
        return;
      }
      bytes = -pushed;
    } else bytes = Buffer.byteLength(line) + 1;
    if (bytes > this.#maxLineBytes) return this.#drop('too_large');
    if (!this.#spill) return this.#drop('buffer_full');
    if (!this.#spill.fits(bytes)) return this.#drop('spill_full');
    this.#spill.append(line + '\n', bytes);
    this.#stats.accepted++;
  }

  #drop(reason: DropReason): void {
    this.#stats.dropped[reason]++;
    this.#dropLog.note(reason);
  }

  /** Resolves once the spill file (if any) is open; rejects with a clear error when it cannot be (e.g. in use). */
  async opened(): Promise<void> {
    await this.#spill?.opened();
  }

  stats(): ExportClientStats {
    const s = this.#stats;
    return {
      accepted: s.accepted,
      sent: s.sent,
      resent: s.resent,
      acked: s.acked,
      rejected: { ...s.rejected },
      dropped: { ...s.dropped },
      buffered: this.#lines.length,
      bufferedBytes: this.#lines.bytes,
      bufferCapacity: this.#maxRecords,
      spilled: this.#spill?.lines ?? 0,
      spillBytes: this.#spill?.bytes ?? 0,
      reconnects: s.reconnects,
      connected: this.#connected,
    };
  }

  async flush(timeoutMs: number): Promise<boolean> {
    if (this.#drained()) return true;
    return new Promise<boolean>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== done);
        resolve(this.#drained());
      }, timeoutMs);
      this.#waiters.push(done);
    });
  }

  async close(opts: CloseOptions = {}): Promise<boolean> {
    if (this.#closed) return this.#drained();
    const drained = opts.flushTimeoutMs ? await this.flush(opts.flushTimeoutMs) : this.#drained();
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    await this.#refilling;
    // Not acknowledged yet: kept in front of the spill file for the next process, or dropped (counted) without one.
    const unacked = this.#lines.takeAll();
    if (unacked.length && !this.#spill) {
      this.#stats.dropped.shutdown += unacked.length;
      this.#dropLog.note('shutdown', unacked.length);
    }
    this.#written = 0;
    const sock = this.#socket;
    this.#socket = undefined;
    this.#connected = false;
    if (sock) {
      await new Promise<void>((resolve) => {
        sock.once('close', () => resolve());
        sock.end();
        setTimeout(() => sock.destroy(), 1000).unref();
      });
    }
    await this.#spill?.close(unacked);
    this.#dropLog.flush();
    const s = this.stats();
    if (!drained) this.#log?.warn({ unacked: unacked.length, spilled: s.spillBytes, spillFile: this.#spill?.path }, 'export client closed before the exporter acknowledged everything');
    this.#log?.info({ accepted: s.accepted, acked: s.acked, dropped: s.dropped, resent: s.resent, reconnects: s.reconnects }, 'export client closed');
    for (const w of this.#waiters.splice(0)) w();
    return drained;
  }

  #drained(): boolean {
    return this.#lines.length === 0 && (this.#spill?.drained ?? true);
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled || !this.#connected || this.#blocked) return;
    this.#flushScheduled = true;
    const wait = this.#lastWriteLines < HOLD_BELOW_LINES ? this.#lastWriteAt + this.#writeHoldMs - performance.now() : 0;
    if (wait >= 1) setTimeout(this.#scheduledWrite, wait);
    else setImmediate(this.#scheduledWrite);
  }

  readonly #scheduledWrite = (): void => {
    this.#flushScheduled = false;
    this.#writeOut();
  };

  /** Writes what the current connection has not had yet, until the socket says stop (back-pressure). */
  #writeOut(): void {
    const sock = this.#socket;
    if (!sock || !this.#connected) return;
    while (!this.#blocked && this.#written < this.#lines.length) {
      const { data, lines } = this.#lines.chunk(this.#written, this.#maxWriteBytes);
      this.#written += lines;
      this.#stats.sent += lines;
      this.#lastWriteAt = performance.now();
      this.#lastWriteLines = lines;
      if (!sock.write(data, () => this.#lines.writeDone(data))) this.#blocked = true;
    }
  }

  #connect(): void {
    if (this.#closed) return;
    const sock = net.createConnection(this.#socketPath);
    this.#socket = sock;
    sock.on('connect', () => {
      if (this.#socket !== sock) return;
      this.#connected = true;
      this.#blocked = false;
      this.#connAcked = 0;
      this.#written = 0;
      if (this.#everConnected) this.#stats.reconnects++;
      this.#everConnected = true;
      this.#attempt = 0;
      this.#lastConnectError = '';
      const resending = this.#unackedAtDisconnect;
      this.#unackedAtDisconnect = 0;
      this.#stats.resent += resending;
      this.#log?.info({ socket: this.#socketPath, resending, buffered: this.#lines.length }, 'export client connected');
      this.#writeOut();
      this.#refill();
    });
    sock.on('drain', () => {
      this.#blocked = false;
      this.#writeOut();
    });
    // Replies of a connection that was since replaced must not release lines of the new one.
    sock.pipe(ndjson.parse({ strict: false })).on('data', (msg: unknown) => {
      if (this.#socket === sock) this.#onReply(msg);
    });
    sock.on('error', (e: NodeJS.ErrnoException) => {
      const what = e.code ?? e.message;
      if (what !== this.#lastConnectError) this.#log?.warn({ socket: this.#socketPath, err: e.message }, 'export client: socket error');
      this.#lastConnectError = what;
    });
    sock.on('close', () => {
      if (this.#socket !== sock) return;
      if (this.#connected) this.#log?.warn({ socket: this.#socketPath, unacked: this.#lines.length }, 'export client disconnected');
      this.#socket = undefined;
      this.#connected = false;
      this.#unackedAtDisconnect = Math.max(this.#unackedAtDisconnect, this.#written);
      this.#written = 0;
      if (this.#closed) return;
      const base = Math.min(this.#backoff.maxMs, this.#backoff.initialMs * this.#backoff.multiplier ** this.#attempt++);
      const delay = base * (1 - this.#backoff.jitter + 2 * this.#backoff.jitter * Math.random());
      this.#retryTimer = setTimeout(() => this.#connect(), delay);
      this.#retryTimer.unref?.();
    });
  }

  #onReply(msg: unknown): void {
    if (!msg || typeof msg !== 'object') return;
    const m = msg as { ack?: unknown; error?: unknown; reason?: unknown; line?: unknown };
    if (typeof m.ack === 'number') {
      // #written counts lines written on this connection and not yet acknowledged; acks count from the connection's start.
      const writtenOnConn = this.#connAcked + this.#written;
      const n = Math.min(m.ack, writtenOnConn);
      if (m.ack > writtenOnConn) this.#log?.error({ ack: m.ack, written: writtenOnConn }, 'export client: ack beyond what was sent; ignoring the excess');
      if (n <= this.#connAcked) return;
      const k = n - this.#connAcked;
      this.#connAcked = n;
      this.#lines.shift(k);
      this.#written -= k;
      this.#stats.acked += k;
      this.#refill();
      if (this.#drained()) for (const w of this.#waiters.splice(0)) w();
    } else if (typeof m.error === 'string') {
      const reason = typeof m.reason === 'string' ? m.reason : 'error';
      this.#stats.rejected[reason] = (this.#stats.rejected[reason] ?? 0) + 1;
      this.#log?.warn({ line: m.line, reason, error: m.error }, 'export client: the exporter rejected a record');
    }
  }

  /** Moves spilled records back into the buffer while there is room. */
  #refill(): void {
    const spill = this.#spill;
    if (!spill || spill.empty || this.#closed) return;
    const roomRecords = this.#maxRecords - this.#lines.length;
    const roomBytes = this.#maxBytes - this.#lines.bytes;
    if (roomRecords <= 0 || roomBytes <= 0) return;
    this.#refilling = spill.take(roomRecords, roomBytes).then((lines) => {
      // Read back, so no longer in the file: into the buffer even when closing (close() keeps the buffer).
      for (const line of lines) this.#lines.push(line.slice(0, -1), Infinity, Infinity);
      if (this.#closed) return;
      if (lines.length) {
        this.#scheduleFlush();
        this.#refill();
      } else if (this.#drained()) for (const w of this.#waiters.splice(0)) w();
    });
  }
}

/** The option's number, or its default when unset: positive, or with orZero also 0. */
function numberOption(v: number | undefined, dflt: number, key: string, { orZero = false } = {}): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (v === 0 && !orZero)) {
    throw new Error(`export client: ${key} must be a ${orZero ? 'non-negative' : 'positive'} number, got ${JSON.stringify(v)}`);
  }
  return v;
}
