// Head-room on the queue's volume, so that on a full disk sinks can still advance and the delivered records be deleted
// (each needs room in the WAL). Held as a file when the volume has room for one, released when the disk fills; when the
// file cannot be (re)created, the same amount of free space is simply left unused: ingest is held back while the
// volume's free space plus the database's own free pages fall below it. So recovery follows free space and never
// depends on the file.
import fs from 'node:fs';
import path from 'node:path';
import { PRIVATE_FILE_MODE } from './db.js';

/** At most this share of the volume is set aside, so a small volume keeps most of its space for records. */
const MAX_SHARE_OF_VOLUME = 1 / 8;
const WRITE_CHUNK = 64 * 1024;

export interface Room {
  /** Bytes free on the volume. */
  volumeFree: number;
  /** Free pages inside the database file. */
  internalFree: number;
}

export class DiskReserve {
  readonly file: string;
  /** The head-room in bytes: queue.diskReserveBytes, capped to a share of the volume. 0: off. */
  readonly bytes: number;
  private held = false;
  /** Set when a write found the disk full; cleared once there is twice the head-room again. */
  private fullNow = false;

  constructor(queueFile: string, configuredBytes: number) {
    this.file = `${queueFile}.reserve`;
    const dir = path.dirname(queueFile);
    const st = fs.statfsSync(dir);
    const volume = st.blocks * st.bsize;
    this.bytes = configuredBytes ? Math.max(WRITE_CHUNK, Math.min(configuredBytes, Math.floor(volume * MAX_SHARE_OF_VOLUME))) : 0;
  }

  get enabled(): boolean {
    return this.bytes > 0;
  }
  /** The disk filled and the head-room is not yet back: ingest waits, pruning works in small steps. */
  get diskFull(): boolean {
    return this.fullNow;
  }
  get isHeld(): boolean {
    return this.held;
  }

  volumeFree(): number {
    const st = fs.statfsSync(path.dirname(this.file));
    return st.bavail * st.bsize;
  }

  /** A write failed for lack of space: give the file's space to the deletes that follow. */
  release(): void {
    if (!this.enabled) return;
    this.fullNow = true;
    this.held = false;
    fs.rmSync(this.file, { force: true });
  }

  /**
   * Whether ingest may write: with the file held, always (a full disk shows as a failed write); without it, while the
   * room left stays above the head-room (twice it after the disk filled, so ingest does not stop and start at the edge).
   * Recreates the file when the volume has room for it beside the head-room the WAL needs.
   */
  mayWrite(room: () => Room): boolean {
    if (!this.enabled || this.held) return true;
    const r = room();
    if (r.volumeFree >= 2 * this.bytes) this.hold();
    const need = this.fullNow ? 2 * this.bytes : this.bytes;
    const ok = this.held || r.volumeFree + r.internalFree >= need;
    if (ok) this.fullNow = false;
    return ok;
  }

  /** Creates the file if missing (or short); false when the volume refused. */
  hold(): boolean {
    if (!this.enabled) return true;
    try {
      const st = fs.statSync(this.file, { throwIfNoEntry: false });
      if (!st || st.size < this.bytes) writeZeros(this.file, this.bytes);
      this.held = true;
      return true;
    } catch {
      fs.rmSync(this.file, { force: true });
      this.held = false;
      return false;
    }
  }

  close(): void {
    if (this.enabled) fs.rmSync(this.file, { force: true });
  }
}

function writeZeros(file: string, bytes: number): void {
  const fd = fs.openSync(file, 'w', PRIVATE_FILE_MODE);
  try {
    // In chunks: one zeroed buffer of the whole reserve (8 MiB) stayed in the process's RSS.
    const zeros = Buffer.alloc(WRITE_CHUNK);
    for (let left = bytes; left > 0; left -= zeros.length) fs.writeSync(fd, zeros, 0, Math.min(zeros.length, left));
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
