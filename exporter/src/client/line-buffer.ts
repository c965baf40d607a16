// The client's memory buffer: lines kept until the exporter acknowledges them, stored UTF-8 encoded (with their newline)
// in large slabs outside V8's heap. A line is encoded once, in send(), and its string dies young; writes are views of a
// slab (a run of consecutive lines), so nothing is concatenated, flattened or encoded again, resends included.
// Lines held as strings until their ack lived long enough to be promoted and collected in V8's old generation.
// Slabs are reused once every line in them is acknowledged: a fresh 1 MiB of external memory every ~1,700 records made
// V8 run full collections (bench/exporter-client.ts with --trace-gc: two while streaming, none with the reuse).

/** Bytes per slab; a longer line gets a slab of its own size (not reused). */
const SLAB_BYTES = 1024 * 1024;
/** Emptied slabs kept for reuse: the one being filled and one draining are the steady state. */
const MAX_SPARE_SLABS = 2;
const NEWLINE = 0x0a;

export class LineBuffer {
  // Line i (from #head) is #slabOf[i].subarray(#start[i], #end[i]), newline included.
  #slabOf: Buffer[] = [];
  #start: number[] = [];
  #end: number[] = [];
  #head = 0;
  #bytes = 0;
  #slab: Buffer = Buffer.allocUnsafeSlow(SLAB_BYTES);
  #used = 0;
  #spare: Buffer[] = [];
  /** Writes handed to the socket and not yet done, per slab: a slab is reused only when it has none. */
  #writing = new Map<ArrayBufferLike, number>();

  /** Lines held. */
  get length(): number {
    return this.#slabOf.length - this.#head;
  }
  /** Their bytes, newlines included. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Appends a line (without its newline) if, with its newline, it is at most maxLineBytes and keeps the buffer's bytes at
   * most maxBytes. Returns its size with the newline, negated when it was not stored.
   */
  push(line: string, maxLineBytes: number, maxBytes: number): number {
    // UTF-8 takes at most 3 bytes per UTF-16 unit: below that bound the string is encoded straight into the slab.
    let room = this.#slab.length - this.#used;
    if (line.length * 3 + 1 > room) {
      const size = Buffer.byteLength(line) + 1;
      if (size > maxLineBytes || this.#bytes + size > maxBytes) return -size;
      if (size > room) {
        this.#slab = (size <= SLAB_BYTES && this.#spare.pop()) || Buffer.allocUnsafeSlow(Math.max(SLAB_BYTES, size));
        this.#used = 0;
        room = this.#slab.length;
      }
    }
    const start = this.#used;
    const size = this.#slab.write(line, start) + 1;
    if (size > maxLineBytes || this.#bytes + size > maxBytes) return -size; // its slab space goes to the next line
    this.#slab[start + size - 1] = NEWLINE;
    this.#used = start + size;
    this.#slabOf.push(this.#slab);
    this.#start.push(start);
    this.#end.push(this.#used);
    this.#bytes += size;
    return size;
  }

  /**
   * The next write from line `from` (0: the oldest held): consecutive lines of one slab, at least one, up to maxBytes.
   * Returns the view and its line count. The view shares the slab's memory, which stays as it is until its lines are
   * shifted out and the write is done: the caller calls writeDone(data) once the socket is done with it.
   */
  chunk(from: number, maxBytes: number): { data: Buffer; lines: number } {
    const first = this.#head + from;
    const slab = this.#slabOf[first]!;
    const start = this.#start[first]!;
    let last = first;
    while (last + 1 < this.#slabOf.length && this.#slabOf[last + 1] === slab && this.#end[last + 1]! - start <= maxBytes) last++;
    this.#writing.set(slab.buffer, (this.#writing.get(slab.buffer) ?? 0) + 1);
    return { data: slab.subarray(start, this.#end[last]!), lines: last - first + 1 };
  }

  /** A write of chunk()'s data is done (written, failed, or dropped with its socket). */
  writeDone(data: Buffer): void {
    const n = this.#writing.get(data.buffer) ?? 0;
    if (n > 1) this.#writing.set(data.buffer, n - 1);
    else this.#writing.delete(data.buffer);
  }

  /**
   * Lets go of the n oldest lines (acknowledged); returns their bytes. Their slab is reused once it holds no line and
   * no write is in flight from it (an exporter acknowledging lines it was not sent must not get other lines' bytes).
   */
  shift(n: number): number {
    let freed = 0;
    const end = this.#head + n;
    for (let i = this.#head; i < end; i++) {
      freed += this.#end[i]! - this.#start[i]!;
      const slab = this.#slabOf[i]!;
      // The last line held in a slab that is no longer filled: the slab is empty now.
      if (slab !== this.#slab && this.#slabOf[i + 1] !== slab && this.#reusable(slab)) this.#spare.push(slab);
    }
    this.#head = end;
    this.#bytes -= freed;
    if (this.length === 0 && !this.#writing.has(this.#slab.buffer)) this.#used = 0; // the slab being filled is empty too: start it again
    if (this.#head > 4096 && this.#head * 2 > this.#slabOf.length) {
      this.#slabOf = this.#slabOf.slice(this.#head);
      this.#start = this.#start.slice(this.#head);
      this.#end = this.#end.slice(this.#head);
      this.#head = 0;
    }
    return freed;
  }

  #reusable(slab: Buffer): boolean {
    return slab.length === SLAB_BYTES && this.#spare.length < MAX_SPARE_SLABS && !this.#writing.has(slab.buffer);
  }

  /** Every line held, as text with its newline, oldest first; the buffer is emptied. */
  takeAll(): string[] {
    const out: string[] = [];
    for (let i = this.#head; i < this.#slabOf.length; i++) out.push(this.#slabOf[i]!.toString('utf8', this.#start[i], this.#end[i]));
    this.#slabOf = [];
    this.#start = [];
    this.#end = [];
    this.#head = this.#bytes = 0;
    return out;
  }
}
