// File sink: appends records as ndjson to a file, rotated by size (in the spirit of Gatekeeper's disk driver), and
// fsyncs before send() resolves, so the queue only lets go of what the file durably holds.
// Wire contract: proto-docs/sinks/file.md.
import { mkdir, open, readdir, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { SinkError, type OutgoingRecord, type SendResult, type Sink, type SinkHealth } from '../sink.js';
import { configSchema, type FileSinkConfig } from './config.js';

export { configSchema, type FileSinkConfig };

export interface FileSinkContext {
  logger?: Logger;
}

export function createSink(cfg: FileSinkConfig, ctx: FileSinkContext = {}): FileSink {
  return new FileSink(cfg, ctx);
}

/** decisions.ndjson -> decisions.20261124T105800123Z.ndjson (UTC, millisecond precision; sorts by time). */
export function rotatedName(active: string, at: Date, attempt = 0): string {
  const ext = path.extname(active);
  const base = active.slice(0, active.length - ext.length);
  const stamp = at.toISOString().replace(/[-:.]/g, '');
  return `${base}.${stamp}${attempt ? `-${attempt}` : ''}${ext}`;
}

export class FileSink implements Sink {
  readonly name: string;
  readonly type = 'file';
  readonly #path: string;
  readonly #dir: string;
  readonly #maxBytes: number;
  readonly #maxFiles: number;
  readonly #fsync: boolean;
  readonly #mode: number;
  readonly #log: Logger | undefined;
  readonly #rotatedPattern: RegExp;
  #fh: FileHandle | undefined;
  #size = 0;
  #health: SinkHealth = { ready: false, detail: 'not started' };

  constructor(cfg: FileSinkConfig, ctx: FileSinkContext = {}) {
    this.name = cfg.name;
    this.#path = path.resolve(cfg.path);
    this.#dir = path.dirname(this.#path);
    this.#maxBytes = cfg.maxBytes;
    this.#maxFiles = cfg.maxFiles;
    this.#fsync = cfg.fsync;
    this.#mode = parseMode(cfg.mode, `sinks[${cfg.name}].mode`);
    this.#log = ctx.logger?.child({ sink: cfg.name });
    const ext = path.extname(this.#path);
    const base = path.basename(this.#path, ext);
    this.#rotatedPattern = new RegExp(`^${escapeRe(base)}\\.\\d{8}T\\d{9}Z(-\\d+)?${escapeRe(ext)}$`);
  }

  async start(): Promise<void> {
    try {
      await this.#open();
      this.#health = { ready: true };
    } catch (e) {
      // An unwritable path is reported, not thrown: send() will try again.
      this.#health = { ready: false, detail: (e as Error).message };
    }
  }

  health(): SinkHealth {
    return this.#health;
  }

  async close(): Promise<void> {
    const fh = this.#fh;
    this.#fh = undefined;
    if (fh) {
      if (this.#fsync) await fh.sync().catch(() => undefined);
      await fh.close();
    }
  }

  async send(batch: readonly OutgoingRecord[]): Promise<SendResult> {
    try {
      if (!this.#fh) await this.#open();
      let i = 0;
      while (i < batch.length) {
        // Fill the active file up to maxBytes; a record larger than maxBytes gets a file to itself.
        let text = '';
        let bytes = 0;
        while (i < batch.length) {
          const line = batch[i]!.json + '\n';
          const n = Buffer.byteLength(line);
          if (this.#size + bytes + n > this.#maxBytes && this.#size + bytes > 0) break;
          text += line;
          bytes += n;
          i++;
        }
        if (bytes === 0) {
          await this.#rotate();
          continue;
        }
        await this.#write(text);
        this.#size += bytes;
      }
      if (this.#fsync) await this.#fh!.sync();
      this.#health = { ready: true };
      return {};
    } catch (e) {
      this.#health = { ready: false, detail: (e as Error).message };
      // Drop the handle: the next attempt reopens (the directory may have come back, the disk freed up).
      await this.#fh?.close().catch(() => undefined);
      this.#fh = undefined;
      throw new SinkError(`file ${this.#path}: ${(e as Error).message}`, { retryable: true, cause: e });
    }
  }

  async #write(text: string): Promise<void> {
    const buf = Buffer.from(text, 'utf8');
    let off = 0;
    while (off < buf.length) {
      const { bytesWritten } = await this.#fh!.write(buf, off, buf.length - off);
      off += bytesWritten;
    }
  }

  async #open(): Promise<void> {
    await mkdir(this.#dir, { recursive: true });
    const fh = await open(this.#path, 'a+', this.#mode);
    try {
      this.#size = await dropTornTail(fh, this.#log);
    } catch (e) {
      await fh.close();
      throw e;
    }
    this.#fh = fh;
  }

  async #rotate(): Promise<void> {
    if (this.#fsync) await this.#fh!.sync();
    await this.#fh!.close();
    this.#fh = undefined;
    const now = new Date();
    let target = rotatedName(this.#path, now);
    for (let n = 1; await exists(target); n++) target = rotatedName(this.#path, now, n);
    await rename(this.#path, target);
    await this.#open();
    if (this.#fsync) await syncDir(this.#dir);
    this.#log?.info({ rotated: target }, 'file sink rotated');
    await this.#prune();
  }

  async #prune(): Promise<void> {
    const rotated = (await readdir(this.#dir)).filter((f) => this.#rotatedPattern.test(f)).sort(byStampThenAttempt);
    for (const f of rotated.slice(0, Math.max(0, rotated.length - this.#maxFiles))) {
      await unlink(path.join(this.#dir, f)).catch((e) => this.#log?.warn({ file: f, err: e }, 'cannot delete a rotated file'));
    }
  }
}

/**
 * A crash in the middle of an append can leave a partial last line. It was never acknowledged (send() had not
 * resolved), so the queue will send it again: cut it off rather than leave a corrupt line in the file.
 */
async function dropTornTail(fh: FileHandle, log: Logger | undefined): Promise<number> {
  const { size } = await fh.stat();
  if (size === 0) return 0;
  const last = Buffer.alloc(1);
  await fh.read(last, 0, 1, size - 1);
  if (last[0] === 0x0a) return size;
  const chunk = Buffer.alloc(64 * 1024);
  let end = size;
  while (end > 0) {
    const start = Math.max(0, end - chunk.length);
    const { bytesRead } = await fh.read(chunk, 0, end - start, start);
    const nl = chunk.subarray(0, bytesRead).lastIndexOf(0x0a);
    if (nl >= 0) {
      await fh.truncate(start + nl + 1);
      log?.warn({ dropped: size - (start + nl + 1) }, 'file sink: dropped a partial last line left by a crash');
      return start + nl + 1;
    }
    end = start;
  }
  await fh.truncate(0);
  return 0;
}

/** Rotated files oldest first: a second rotation within the same millisecond (name-1) comes after the first. */
export function byStampThenAttempt(a: string, b: string): number {
  const key = (f: string) => f.replace(/(\d{8}T\d{9}Z)(?:-(\d+))?/, (_m, s: string, n?: string) => `${s}-${(n ?? '0').padStart(6, '0')}`);
  return key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

async function syncDir(dir: string): Promise<void> {
  const dh = await open(dir, 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}

function parseMode(v: number | string, key: string): number {
  const n = typeof v === 'number' ? v : /^(0o?)?[0-7]{3,4}$/.test(v) ? parseInt(v.replace(/^0o/, ''), 8) : NaN;
  if (!Number.isInteger(n) || n < 0 || n > 0o777) throw new Error(`${key}: expected a file mode like 0640, got ${JSON.stringify(v)}`);
  return n;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
