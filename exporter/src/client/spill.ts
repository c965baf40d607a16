// The client's overflow file: lines that did not fit in the memory buffer are appended here and read back, in order,
// when the buffer has room again. Bounded by size; truncated once fully read back. Never fsynced: writes reach the
// page cache, which outlives the engine's and the exporter's processes (a crash or a restart of either loses nothing);
// only a node crash can lose the last lines. Lines left by a previous process with the same path are replayed at start;
// a lock file (<path>.lock, holding the pid) keeps two live processes off one file.
import { mkdir, open, readFile, rename, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { processAlive } from '../os/pid.js';

export class SpillFile {
  readonly path: string;
  readonly maxBytes: number;
  #fh: FileHandle | undefined;
  #ready: Promise<void>;
  #failed: Error | undefined;
  /** Bytes handed to append() so far (file offsets: the file only grows until it is truncated). */
  #queuedBytes = 0;
  /** Bytes the OS has (write completed); reads never go past this. */
  #writtenBytes = 0;
  #readOffset = 0;
  #pending: string[] = [];
  #writing = false;
  #lines = 0;
  #reading = false;
  #opened = false;
  #onWritten: () => void;
  /** Every file operation runs in this chain, so a truncate never races a write. */
  #chain: Promise<unknown> = Promise.resolve();

  constructor(file: string, maxBytes: number, onWritten: () => void) {
    this.path = path.resolve(file);
    this.maxBytes = maxBytes;
    this.#onWritten = onWritten;
    this.#ready = this.#open()
      .catch((e) => {
        this.#failed = e as Error;
      })
      .then(() => {
        this.#opened = true;
        // Lines left by a previous process can be read back now.
        if (!this.empty) this.#onWritten();
      });
    this.#chain = this.#ready;
  }

  #locked<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.#chain.then(fn);
    this.#chain = p.catch(() => undefined);
    return p;
  }

  /** Lines spilled and not yet read back (an estimate for lines left by a previous process: counted as read). */
  get lines(): number {
    return this.#lines;
  }
  /** Bytes in the file not yet read back. */
  get bytes(): number {
    return this.#queuedBytes - this.#readOffset;
  }
  /** Nothing left to read back (false while a read is in progress: its lines are not in the buffer yet). */
  get empty(): boolean {
    return !this.#reading && this.#queuedBytes === this.#readOffset;
  }
  /** Empty, and known to be: the file is open (so lines a previous process left in it are counted). */
  get drained(): boolean {
    return (this.#opened || this.#failed !== undefined) && this.empty;
  }
  get error(): Error | undefined {
    return this.#failed;
  }

  /** Resolves once the file is open (lines of a previous process counted); rejects with why it could not be. */
  async opened(): Promise<void> {
    await this.#ready;
    if (this.#failed) throw this.#failed;
  }

  get #lockPath(): string {
    return `${this.path}.lock`;
  }

  async #lock(): Promise<void> {
    if (heldHere.has(this.path)) throw new Error(`spill file ${this.path} is in use by another client of this process: give each client its own spill path`);
    heldHere.add(this.path);
    for (;;) {
      try {
        await writeFile(this.#lockPath, String(process.pid), { flag: 'wx', mode: 0o600 });
        return;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const holder = Number((await readFile(this.#lockPath, 'utf8').catch(() => '')).trim());
      // Our own pid in the file: a previous incarnation of this container (pid 1 again), not a live writer.
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && processAlive(holder)) {
        heldHere.delete(this.path);
        throw new Error(`spill file ${this.path} is in use by process ${holder} (${this.#lockPath}): give each process its own spill path`);
      }
      await unlink(this.#lockPath).catch(() => undefined);
    }
  }

  async #open(): Promise<void> {
    await mkdir(path.dirname(this.path), { recursive: true, mode: 0o700 });
    await this.#lock();
    this.#fh = await open(this.path, 'a+', 0o600);
    const { size } = await this.#fh.stat();
    if (size > 0) {
      // Left by a previous process: replay it, minus a torn last line.
      const tail = Buffer.alloc(Math.min(size, 1024 * 1024));
      const { bytesRead } = await this.#fh.read(tail, 0, tail.length, size - tail.length);
      const nl = tail.subarray(0, bytesRead).lastIndexOf(0x0a);
      const keep = nl < 0 ? 0 : size - tail.length + nl + 1;
      if (keep !== size) await this.#fh.truncate(keep);
      this.#queuedBytes = this.#writtenBytes = keep;
    }
  }

  /** Whether a line of `bytes` still fits under maxBytes. */
  fits(bytes: number): boolean {
    return !this.#failed && this.#queuedBytes + bytes <= this.maxBytes;
  }

  /** Appends one line (with its newline). Writes are serialised, so lines land in call order. */
  append(line: string, bytes: number): void {
    this.#queuedBytes += bytes;
    this.#lines++;
    this.#pending.push(line);
    if (!this.#writing) void this.#drainWrites();
  }

  async #drainWrites(): Promise<void> {
    this.#writing = true;
    try {
      await this.#ready;
      while (this.#pending.length && !this.#failed) {
        const buf = Buffer.from(this.#pending.join(''), 'utf8');
        this.#pending = [];
        await this.#locked(async () => {
          let off = 0;
          while (off < buf.length) off += (await this.#fh!.write(buf, off, buf.length - off)).bytesWritten;
          this.#writtenBytes += buf.length;
        });
      }
    } catch (e) {
      this.#failed = e as Error;
    } finally {
      this.#writing = false;
    }
    this.#onWritten();
  }

  /**
   * Reads back up to `maxLines` whole lines (each with its newline) and up to `maxBytes`; resolves with what it read.
   * One read at a time: a second call while one runs resolves with [].
   */
  async take(maxLines: number, maxBytes: number): Promise<string[]> {
    if (this.#reading || maxLines <= 0) return [];
    this.#reading = true;
    try {
      await this.#ready;
      if (this.#failed) return [];
      return await this.#locked(() => this.#read(maxLines, maxBytes));
    } catch (e) {
      this.#failed = e as Error;
      return [];
    } finally {
      this.#reading = false;
    }
  }

  async #read(maxLines: number, maxBytes: number): Promise<string[]> {
    const available = this.#writtenBytes - this.#readOffset;
    if (available <= 0) return [];
    const buf = Buffer.alloc(Math.min(available, Math.max(maxBytes, 64 * 1024)));
    const { bytesRead } = await this.#fh!.read(buf, 0, buf.length, this.#readOffset);
    const out: string[] = [];
    let start = 0;
    let used = 0;
    while (out.length < maxLines) {
      const nl = buf.indexOf(0x0a, start);
      if (nl < 0 || nl >= bytesRead) break;
      if (used + (nl + 1 - start) > maxBytes && out.length > 0) break;
      out.push(buf.toString('utf8', start, nl + 1));
      used += nl + 1 - start;
      start = nl + 1;
    }
    // A single line longer than the read size (never spilled by the client; a foreign file): skip it rather than stall.
    if (out.length === 0 && bytesRead === buf.length && buf.indexOf(0x0a) < 0) start = bytesRead;
    this.#readOffset += start;
    this.#lines = Math.max(0, this.#lines - out.length);
    if (this.#readOffset === this.#writtenBytes) {
      // Everything written was read back: start the file over. Lines appended meanwhile are still in #pending
      // (writes wait for this lock), and O_APPEND puts them at the new end.
      const cut = this.#readOffset;
      await this.#fh!.truncate(0);
      this.#writtenBytes -= cut;
      this.#queuedBytes -= cut;
      this.#readOffset = 0;
      if (this.#queuedBytes === 0) this.#lines = 0;
    }
    return out;
  }

  /**
   * Closes the file. `keep` (older than anything spilled: the unacknowledged memory buffer) is put in front of the lines
   * not read back yet, so the next process replays all of them, oldest first.
   */
  async close(keep: string[] = []): Promise<void> {
    await this.#ready;
    while (this.#writing) await new Promise((r) => setTimeout(r, 5));
    await this.#chain;
    const fh = this.#fh;
    this.#fh = undefined;
    if (!fh) return;
    try {
      if (keep.length && !this.#failed) await this.#rewriteWith(fh, keep);
    } finally {
      await fh.close();
      await unlink(this.#lockPath).catch(() => undefined);
      heldHere.delete(this.path);
    }
  }

  /** Writes keep + the unread tail to a new file, copied in chunks, and renames it over the spill file. */
  async #rewriteWith(fh: FileHandle, keep: string[]): Promise<void> {
    const tmp = `${this.path}.tmp`;
    const out = await open(tmp, 'w', 0o600);
    try {
      await out.write(keep.join(''));
      const chunk = Buffer.alloc(1024 * 1024);
      for (let pos = this.#readOffset; pos < this.#writtenBytes; ) {
        const { bytesRead } = await fh.read(chunk, 0, Math.min(chunk.length, this.#writtenBytes - pos), pos);
        if (!bytesRead) break;
        await out.write(chunk, 0, bytesRead);
        pos += bytesRead;
      }
      await out.sync();
    } finally {
      await out.close();
    }
    await rename(tmp, this.path);
  }
}

/** Spill files locked by this process (the pid in a lock file cannot tell two clients of one process apart). */
const heldHere = new Set<string>();
