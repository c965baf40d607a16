// A batch's records encoded once into one buffer, so that an endpoint sink holds bytes (outside V8's heap) rather than
// records through its requests: records held through a request outlived V8's young generation and were promoted, most
// of the end-to-end peak RSS (README, Benchmarks). Request bodies are cut from it: a run of ndjson lines as a view, any
// selection joined with an opening, a separator and a closing, or one record's bytes for a sink to frame itself.

export interface EncodedRecordsOptions {
  /** Each record followed by a newline: the ndjson body of a run of records is then a view of the buffer. */
  newline: boolean;
}

export class EncodedRecords {
  private readonly data: Buffer;
  /** ends[i]: the offset after record i (and its newline). */
  private readonly ends: Uint32Array;
  private readonly newline: number;

  /** parts: each record's encoding, text (written as UTF-8) or bytes. */
  constructor(parts: readonly (string | Uint8Array)[], o: EncodedRecordsOptions) {
    this.newline = o.newline ? 1 : 0;
    let size = parts.length * this.newline;
    for (const p of parts) size += typeof p === 'string' ? Buffer.byteLength(p, 'utf8') : p.length;
    // One buffer of the exact size: joining the records into a string first made a string of the whole body, which V8
    // puts in its large-object space, freed only by a full GC.
    this.data = Buffer.allocUnsafeSlow(size);
    this.ends = new Uint32Array(parts.length);
    let at = 0;
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (typeof p === 'string') at += this.data.write(p, at, 'utf8');
      else at += (this.data.set(p, at), p.length);
      if (this.newline) this.data[at++] = 0x0a;
      this.ends[i] = at;
    }
    if (at !== size) throw new Error(`encoded records: wrote ${at} bytes, expected ${size}`);
  }

  get count(): number {
    return this.ends.length;
  }

  private start(i: number): number {
    return i === 0 ? 0 : this.ends[i - 1]!;
  }

  /** Record i's bytes, without its newline (a view). */
  record(i: number): Buffer {
    return this.data.subarray(this.start(i), this.ends[i]! - this.newline);
  }

  /** The records at these indexes (ascending), one per line, each ended by a newline. */
  ndjson(indexes: readonly number[]): Buffer {
    if (!this.newline) throw new Error('encoded records: ndjson needs records encoded with newlines');
    const first = indexes[0]!;
    const last = indexes[indexes.length - 1]!;
    // A run (what a request carries, and each half of a refused one): a view, no copy.
    if (last - first + 1 === indexes.length) return this.data.subarray(this.start(first), this.ends[last]);
    return this.joined(indexes, '', '\n', '\n');
  }

  /** The records at these indexes between open and close, separated by separator (all three written as UTF-8). */
  joined(indexes: readonly number[], open: string, separator: string, close: string): Buffer {
    const sep = Buffer.from(separator, 'utf8');
    let size = Buffer.byteLength(open, 'utf8') + Buffer.byteLength(close, 'utf8') + Math.max(0, indexes.length - 1) * sep.length;
    for (const i of indexes) size += this.ends[i]! - this.start(i) - this.newline;
    const out = Buffer.allocUnsafeSlow(size);
    let at = out.write(open, 0, 'utf8');
    indexes.forEach((i, k) => {
      if (k > 0) at += sep.copy(out, at);
      at += this.data.copy(out, at, this.start(i), this.ends[i]! - this.newline);
    });
    at += out.write(close, at, 'utf8');
    if (at !== size) throw new Error(`encoded records: joined ${at} bytes, expected ${size}`);
    return out;
  }
}
