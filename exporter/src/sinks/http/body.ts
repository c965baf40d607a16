// A batch's records encoded once, as the bytes of their ndjson lines in one buffer, so a send holds bytes (outside V8's
// heap) rather than the records: records held through a request outlived V8's young generation and were promoted, most
// of the end-to-end peak RSS (README, Benchmarks). Request bodies (ndjson or a JSON array) are cut from it.

export class EncodedBatch {
  /** The records' UTF-8, each followed by a newline. */
  private readonly data: Buffer;
  /** ends[i]: the offset after record i's newline. */
  private readonly ends: Uint32Array;

  constructor(jsons: readonly { readonly json: string }[]) {
    let size = jsons.length;
    for (const r of jsons) size += Buffer.byteLength(r.json, 'utf8');
    // One buffer of the exact size: joining the records into a string first made a string of the whole body, which V8
    // puts in its large-object space, freed only by a full GC.
    this.data = Buffer.allocUnsafeSlow(size);
    this.ends = new Uint32Array(jsons.length);
    let at = 0;
    for (let i = 0; i < jsons.length; i++) {
      at += this.data.write(jsons[i]!.json, at, 'utf8');
      this.data[at++] = 0x0a;
      this.ends[i] = at;
    }
    if (at !== size) throw new Error(`body: wrote ${at} bytes, expected ${size}`);
  }

  private start(i: number): number {
    return i === 0 ? 0 : this.ends[i - 1]!;
  }

  /** The records at these indexes (ascending), one per line, each ended by a newline. */
  ndjson(indexes: readonly number[]): Buffer {
    const first = indexes[0]!;
    const last = indexes[indexes.length - 1]!;
    // A run (what a request carries, and each half of a refused one): a view, no copy.
    if (last - first + 1 === indexes.length) return this.data.subarray(this.start(first), this.ends[last]);
    return this.copy(indexes, '', '', '');
  }

  /** The records at these indexes as a JSON array. */
  jsonArray(indexes: readonly number[]): Buffer {
    return this.copy(indexes, '[', ',', ']');
  }

  private copy(indexes: readonly number[], open: string, separator: string, close: string): Buffer {
    const keepNewline = separator === '';
    let size = open.length + close.length + Math.max(0, indexes.length - 1) * separator.length;
    for (const i of indexes) size += this.ends[i]! - this.start(i) - (keepNewline ? 0 : 1);
    const out = Buffer.allocUnsafeSlow(size);
    let at = out.write(open, 0, 'latin1');
    indexes.forEach((i, k) => {
      if (k > 0) at += out.write(separator, at, 'latin1');
      at += this.data.copy(out, at, this.start(i), this.ends[i]! - (keepNewline ? 0 : 1));
    });
    out.write(close, at, 'latin1');
    return out;
  }
}
