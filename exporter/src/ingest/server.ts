// Ingest: accepts ndjson over the Unix socket from many connections, commits the lines of all connections in one
// transaction per tick, then acknowledges on each connection: `{"ack": N}` (cumulative count of its non-blank lines durably
// handled) after any `{"error": "...", "reason": "...", "line": n}` for its rejected lines.
import net from 'node:net';
import { isUtf8 } from 'node:buffer';
import type { Logger } from 'pino';
import { fullValidator, normalizeLine, type NormalizeOptions } from '../record/index.js';
import { factsFor, factsNeeded, type RoutingConfig } from '../routing/index.js';
import type { ExporterConfig } from '../config/config.js';
import { Queue, QueueFullError, type NewDeadLetter } from '../queue/queue.js';
import type { ExporterMetrics } from '../metrics/metrics.js';
import { LineSplitter, type LineEvent } from './splitter.js';
import { listenUnix } from './listen.js';
import { Connection } from './connection.js';
import { PendingLine, PendingLines } from './pending.js';
import { ConnectionGuard } from './guard.js';
import { sleep } from '../delivery/backoff.js';

const RETRY_FULL_MS = 500;

export class IngestServer {
  private readonly server: net.Server;
  private readonly conns = new Set<Connection>();
  private readonly pending: PendingLines;
  /** Reused per commit: the batch's records, and the connections it acknowledges. */
  private readonly batchRecords: PendingLine[] = [];
  private readonly batchRejects: NewDeadLetter[] = [];
  private readonly touched: Connection[] = [];
  private commitScheduled = false;
  /** While a batch is being committed (on the queue's writer thread): the next one waits for it. */
  private committing = false;
  /** While a commit waits for ingest.batchLingerMs to pass since the previous one. */
  private commitTimer: NodeJS.Timeout | undefined;
  /** performance.now() when the last commit started. */
  private lastCommitAt = -Infinity;
  private paused = false;
  private fullSince = 0;
  private diskFull = false;
  private listening = false;
  private stopping = false;
  private nextConnId = 1;
  private retryTimer: NodeJS.Timeout | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private readonly unsubscribeFree: () => void;
  private readonly guard: ConnectionGuard;
  private readonly normalize: NormalizeOptions;
  private readonly stringsToThread: boolean;

  constructor(
    private readonly cfg: ExporterConfig,
    private readonly queue: Queue,
    private readonly metrics: ExporterMetrics,
    private readonly log: Logger,
  ) {
    // No server.maxConnections: Node would close a client over it silently; the guard admits, evicts or refuses it.
    this.server = net.createServer({ allowHalfOpen: true, pauseOnConnect: false }, (s) => this.accept(s));
    this.guard = new ConnectionGuard(cfg.ingest, this.conns, metrics, log);
    this.pending = new PendingLines(cfg.ingest);
    // The facts the sinks' filters read, computed once per record here (none when no filter reads more than eventType).
    const sinks = cfg.sinks as RoutingConfig[];
    this.normalize = { validate: cfg.ingest.validate, facts: factsFor(sinks) };
    const needs = factsNeeded(sinks);
    if (needs) log.info({ criteria: needs.criteria, namespaceLabels: needs.labels }, "ingest stores with each record what the sinks' filters read (routing facts)");
    this.stringsToThread = cfg.queue.writerThread;
    // Compiled now: a first record must not wait for ajv, nor a broken schema surface only then.
    if (cfg.ingest.validate === 'full') fullValidator();
    this.unsubscribeFree = queue.onFree(() => {
      if (this.fullSince) this.scheduleCommit();
    });
  }

  get connectionCount(): number {
    return this.conns.size;
  }
  get isListening(): boolean {
    return this.listening;
  }
  /** True while lines wait because the queue is at capacity or the disk is full. */
  get isFull(): boolean {
    return this.fullSince !== 0;
  }
  /** Why reading is held back (for `exporter status`), or null while ingest flows. */
  get holdReason(): 'disk full' | 'queue full' | 'pending limit' | null {
    if (this.fullSince) return this.diskFull ? 'disk full' : 'queue full';
    return this.paused && !this.stopping ? 'pending limit' : null;
  }

  async start(): Promise<void> {
    await listenUnix(this.server, this.cfg.socket, this.cfg.socketMode);
    this.listening = true;
    const every = this.guard.sweepEveryMs;
    if (every) {
      this.sweepTimer = setInterval(() => {
        if (!this.paused) this.guard.sweepIdle(performance.now());
      }, every);
      this.sweepTimer.unref();
    }
    this.log.info({ socket: this.cfg.socket, mode: this.cfg.socketMode.toString(8) }, 'listening');
  }

  private accept(socket: net.Socket): void {
    if (this.stopping || !this.guard.admit()) {
      socket.destroy();
      return;
    }
    const conn = new Connection(
      this.nextConnId++,
      socket,
      new LineSplitter(this.cfg.ingest.maxLineBytes, this.cfg.queue.deadLetterMaxRawBytes),
    );
    this.conns.add(conn);
    if (this.paused) socket.pause();
    socket.on('data', (chunk: Buffer) => this.onData(conn, chunk));
    socket.on('end', () => this.onInputEnd(conn));
    socket.on('drain', () => {
      if (conn.ackOwed) conn.writeAck(this.cfg.ingest.ackBufferBytes);
    });
    socket.on('error', (e) => this.log.debug({ conn: conn.id, err: e.message }, 'connection error'));
    socket.on('close', () => {
      this.onInputEnd(conn);
      conn.closed = true;
      this.conns.delete(conn);
    });
  }

  private onData(conn: Connection, chunk: Buffer): void {
    const readAt = performance.now();
    const receivedAt = Date.now();
    const held = conn.splitter.bufferedBytes;
    conn.lastDataAt = readAt;
    conn.splitter.push(chunk, (e) => this.onLine(conn, e, readAt, receivedAt));
    this.guard.partialChanged(conn.splitter.bufferedBytes - held);
    if (this.pending.overLimit()) this.pauseAll();
    this.scheduleCommit();
  }

  private onLine(conn: Connection, e: LineEvent, readAt: number, receivedAt: number): void {
    if (e.kind === 'oversized') {
      this.addReject(conn, readAt, 'oversized', `line of ${e.length} bytes exceeds ingest.maxLineBytes (${this.cfg.ingest.maxLineBytes})`, e.head);
      return;
    }
    const bytes = e.bytes;
    if (isBlank(bytes)) return;
    if (!isUtf8(bytes)) {
      this.addReject(conn, readAt, 'invalid_utf8', 'line is not valid UTF-8', bytes);
      return;
    }
    const r = normalizeLine(bytes.toString('utf8'), receivedAt, this.normalize);
    if (!r.ok) {
      this.addReject(conn, readAt, r.reason, r.error, bytes);
      return;
    }
    const rec = r.record;
    // The bytes as received when they are the record's text: SQLite stores them without re-encoding the string. A view
    // of the chunk read: it pins the chunk until the commit, as the lines' strings were held, and the socket has no
    // `onread` buffer that a later read would overwrite. Not for the writer thread: a batch goes to it as one string.
    const json = rec.asReceived && !this.stringsToThread ? bytes : rec.json;
    const size = Queue.recordSize(json, rec.facts);
    if (size > this.cfg.queue.maxBytes) {
      this.addReject(conn, readAt, 'too_large_for_queue', `record larger than queue.maxBytes (${this.cfg.queue.maxBytes})`, bytes);
      return;
    }
    conn.uncommitted++;
    this.pending.push(new PendingLine(conn, ++conn.lineNo, readAt, rec.decisionId, rec.eventType, json, size, null, rec.facts));
  }

  private addReject(conn: Connection, readAt: number, reason: string, error: string, raw: Buffer): void {
    // Only what the dead letter keeps, copied: a view would pin the whole chunk it was read in until the commit.
    const kept = Buffer.from(raw.subarray(0, this.cfg.queue.deadLetterMaxRawBytes));
    const size = kept.length + error.length;
    conn.uncommitted++;
    this.pending.push(new PendingLine(conn, ++conn.lineNo, readAt, '', '', '', size, { sink: null, reason, error, raw: kept }));
  }

  private onInputEnd(conn: Connection): void {
    if (conn.inputEnded) return;
    conn.inputEnded = true;
    const held = conn.splitter.bufferedBytes;
    const rest = conn.splitter.finish();
    this.guard.released(held);
    if (rest) {
      this.addReject(conn, performance.now(), 'truncated', `connection ended in the middle of a line (${rest.length} bytes without a newline)`, rest.head);
      this.scheduleCommit();
    } else if (conn.uncommitted === 0 && !conn.closed && !conn.cut) {
      conn.socket.end();
    }
  }

  /**
   * Group commit: each commit costs a transaction and an fsync whatever its size, so while lines trickle in (a webhook
   * sends a few per review) a commit waits until ingest.batchLingerMs after the previous one started, gathering more.
   * A line after a quiet spell, or a full batch, is committed on the next tick.
   */
  private scheduleCommit(): void {
    // The batch being committed schedules the next one when it is done.
    if (this.committing) return;
    const batchFull = this.pending.count >= this.cfg.ingest.batchMaxRecords || this.pending.overLimit();
    if (this.commitScheduled) {
      if (!this.commitTimer || !batchFull) return;
      clearTimeout(this.commitTimer);
      this.commitTimer = undefined;
      setImmediate(this.runScheduledCommit);
      return;
    }
    this.commitScheduled = true;
    const wait = batchFull ? 0 : this.lastCommitAt + this.cfg.ingest.batchLingerMs - performance.now();
    if (wait >= 1) this.commitTimer = setTimeout(this.runScheduledCommit, wait);
    else setImmediate(this.runScheduledCommit);
  }

  private readonly runScheduledCommit = () => {
    this.commitScheduled = false;
    this.commitTimer = undefined;
    this.commit().catch((e: unknown) => {
      // As when the commit ran on this thread: an unexpected storage error ends the process, nothing is acked.
      setImmediate(() => {
        throw e;
      });
    });
  };

  /**
   * Commits up to one batch of pending lines; acks after the commit. Resolves to how many lines were handled (0 while
   * the previous batch is still being committed: this one follows it).
   */
  async commit(): Promise<number> {
    if (this.committing) return 0;
    this.lastCommitAt = performance.now();
    const pending = this.pending;
    const head = pending.head;
    let n = Math.min(pending.count, this.cfg.ingest.batchMaxRecords);
    if (n === 0) return 0;
    if (this.cfg.queue.onFull === 'block') {
      // Only what fits: the rest waits (unread sockets, no acks) until sinks free space.
      let free = this.queue.freeBytes();
      for (let i = 0; i < n; i++) {
        const line = pending.at(head + i);
        if (line.reject) continue;
        free -= line.size;
        if (free < 0) {
          n = i;
          break;
        }
      }
      if (n === 0) {
        this.markFull(false);
        return 0;
      }
    }
    const end = head + n;
    const records = this.batchRecords;
    const rejects = this.batchRejects;
    let bytes = 0;
    for (let i = head; i < end; i++) {
      const line = pending.at(i);
      if (line.reject) rejects.push(line.reject);
      else records.push(line);
      bytes += line.size;
    }
    const t0 = performance.now();
    this.committing = true;
    pending.sent(n, bytes);
    try {
      await this.queue.appendBatchAsync(records, rejects);
    } catch (e) {
      pending.sent(0, 0);
      if (e instanceof QueueFullError) {
        this.markFull(true, e);
        return 0;
      }
      throw e;
    } finally {
      this.committing = false;
      records.length = 0;
      rejects.length = 0;
    }
    const t1 = performance.now();
    if (this.fullSince) {
      this.log.info({ heldMs: Math.round(Date.now() - this.fullSince) }, 'queue has room again: ingest resumes');
      this.fullSince = 0;
      this.diskFull = false;
    }
    this.metrics.ingestCommitSeconds.observe((t1 - t0) / 1000);
    this.metrics.ingestBatchRecords.observe(n);
    this.metrics.received.inc(n);

    const touched = this.touched;
    for (let i = head; i < end; i++) {
      const line = pending.at(i);
      const c = line.conn;
      c.uncommitted--;
      c.acked = line.lineNo;
      if (c.batchReadAt < 0) {
        c.batchReadAt = line.readAt;
        touched.push(c);
      }
      if (line.reject) {
        this.metrics.rejected.inc({ reason: line.reject.reason });
        c.errorsOut.push(JSON.stringify({ error: line.reject.error, reason: line.reject.reason, line: line.lineNo }));
      }
    }
    pending.dropCommitted(end, bytes);
    const now = performance.now();
    for (const c of touched) {
      c.writeAck(this.cfg.ingest.ackBufferBytes);
      this.metrics.ackLatencySeconds.observe((now - c.batchReadAt) / 1000);
      c.batchReadAt = -1;
      if (c.inputEnded && c.uncommitted === 0 && !c.closed && !c.cut) c.socket.end();
    }
    touched.length = 0;
    if (this.pending.count) this.scheduleCommit();
    if (this.paused && !this.stopping && this.pending.underHalf()) this.resumeAll();
    return n;
  }

  private markFull(diskFull: boolean, err?: unknown): void {
    if (!this.fullSince) {
      this.fullSince = Date.now();
      this.diskFull = diskFull;
      this.log.warn(
        { bytes: this.queue.bytes, maxBytes: this.cfg.queue.maxBytes, diskFull, err: err ? (err as Error).message : undefined },
        diskFull ? 'disk full: holding ingest back until space frees' : 'queue full: holding ingest back until sinks free space',
      );
    }
    this.pauseAll();
    // Space frees when sinks advance (onFree); a full disk may free for other reasons, so also retry on a timer.
    if (!this.retryTimer) {
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        this.scheduleCommit();
      }, RETRY_FULL_MS);
    }
  }

  private pauseAll(): void {
    if (this.paused) return;
    this.paused = true;
    for (const c of this.conns) c.socket.pause();
  }

  private resumeAll(): void {
    if (!this.paused || this.fullSince) return;
    this.paused = false;
    // A pause is the exporter's doing: the idle clock restarts for everyone.
    const now = performance.now();
    for (const c of this.conns) {
      c.lastDataAt = now;
      c.socket.resume();
    }
  }

  /** Stops accepting and reading, commits what was read (bounded by deadline), acks, closes connections. */
  async stop(deadline: number): Promise<void> {
    this.stopping = true;
    this.listening = false;
    this.pauseAll();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    // A batch being committed is waited for whatever the deadline: it is on disk soon, and its lines acked.
    while (this.pending.count && (Date.now() < deadline || this.committing)) {
      if ((await this.commit()) === 0) await sleep(this.committing ? 1 : 50);
    }
    if (this.pending.count) this.log.warn({ lines: this.pending.count }, 'shutdown: lines read but not committed (not acknowledged, the client resends them)');
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    if (this.commitTimer) clearTimeout(this.commitTimer);
    this.unsubscribeFree();
    for (const c of this.conns) c.socket.end();
    const flushUntil = Math.min(deadline, Date.now() + 1000);
    while (this.conns.size && Date.now() < flushUntil) await sleep(20);
    for (const c of this.conns) c.socket.destroy();
    await closed;
  }
}

function isBlank(b: Buffer): boolean {
  for (let i = 0; i < b.length; i++) {
    const c = b[i];
    if (c !== 32 && c !== 9 && c !== 13) return false;
  }
  return true;
}
