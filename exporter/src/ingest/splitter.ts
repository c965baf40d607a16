// Splits a byte stream into lines on '\n' with a byte limit per line, keeping raw bytes.
// Hand-written rather than ndjson/split2: split2 decodes to strings first (so invalid UTF-8 is silently replaced and
// "binary garbage" can't be detected), counts its maxLength in UTF-16 units, and on overflow either destroys the stream
// or skips silently without telling which line it was — the protocol needs an error line per oversized line and the
// connection going on.

export type LineEvent =
  | { kind: 'line'; bytes: Buffer }
  /** A line longer than the limit; `head` holds its first bytes (up to keepBytes), `length` its full size. */
  | { kind: 'oversized'; head: Buffer; length: number };

export class LineSplitter {
  private parts: Buffer[] = [];
  private partLength = 0;
  private discarding = false;
  private discardHead: Buffer = Buffer.alloc(0);
  private discardLength = 0;

  constructor(
    private readonly maxLineBytes: number,
    private readonly keepBytes: number,
  ) {}

  /** Feeds a chunk; calls emit for each complete line (without '\n' or a trailing '\r'). */
  push(chunk: Buffer, emit: (e: LineEvent) => void): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(10, start);
      if (nl === -1) {
        if (start < chunk.length) this.keepPartial(start === 0 ? chunk : chunk.subarray(start), start === 0);
        return;
      }
      const piece = chunk.subarray(start, nl);
      start = nl + 1;
      if (this.discarding) {
        const length = this.discardLength + piece.length;
        const head = this.discardHead;
        this.discarding = false;
        this.discardHead = Buffer.alloc(0);
        this.discardLength = 0;
        emit({ kind: 'oversized', head, length });
        continue;
      }
      let line = piece;
      if (this.partLength) {
        this.parts.push(piece);
        line = Buffer.concat(this.parts, this.partLength + piece.length);
        this.parts = [];
        this.partLength = 0;
      }
      let end = line.length;
      if (end && line[end - 1] === 13) end--;
      if (end > this.maxLineBytes) emit({ kind: 'oversized', head: Buffer.from(line.subarray(0, this.keepBytes)), length: end });
      else emit({ kind: 'line', bytes: end === line.length ? line : line.subarray(0, end) });
    }
  }

  private keepPartial(rest: Buffer, whole: boolean): void {
    if (this.discarding) {
      this.discardLength += rest.length;
      return;
    }
    if (this.partLength + rest.length > this.maxLineBytes + 1) {
      // Past the limit: keep only a head for the dead letter and skip the rest up to the next newline.
      const all = Buffer.concat([...this.parts, rest], this.partLength + rest.length);
      this.discardHead = Buffer.from(all.subarray(0, this.keepBytes));
      this.discardLength = all.length;
      this.discarding = true;
      this.parts = [];
      this.partLength = 0;
      return;
    }
    // A whole chunk is kept as it is; a piece is copied, as a subarray would pin the whole chunk (and the lines before).
    this.parts.push(whole ? rest : Buffer.from(rest));
    this.partLength += rest.length;
  }

  /** Bytes held for the line not yet ended (its head only, once it is past the limit). */
  get bufferedBytes(): number {
    return this.discarding ? this.discardHead.length : this.partLength;
  }

  /** Forgets the line not yet ended (the connection was cut). */
  discard(): void {
    this.parts = [];
    this.partLength = 0;
    this.discarding = false;
    this.discardHead = Buffer.alloc(0);
    this.discardLength = 0;
  }

  /** What is left at end of stream: a line that never got its newline (null if none). */
  finish(): { head: Buffer; length: number } | null {
    if (this.discarding) {
      const r = { head: this.discardHead, length: this.discardLength };
      this.discarding = false;
      return r;
    }
    if (!this.partLength) return null;
    const all = Buffer.concat(this.parts, this.partLength);
    this.parts = [];
    this.partLength = 0;
    if (all.toString('latin1').trim() === '') return null;
    return { head: Buffer.from(all.subarray(0, this.keepBytes)), length: all.length };
  }
}
