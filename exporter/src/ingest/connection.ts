// One client connection on the socket: its line splitter and where its acks stand.
import type net from 'node:net';
import type { LineSplitter } from './splitter.js';

export class Connection {
  lineNo = 0;
  /** While a commit builds its acks: when its oldest line in the batch was read (-1 when not in the batch). */
  batchReadAt = -1;
  acked = 0;
  uncommitted = 0;
  ackOwed = false;
  inputEnded = false;
  closed = false;
  /** Set when the guard cut the connection (guard.ts): its unterminated line was discarded. */
  cut = false;
  errorsOut: string[] = [];
  /** performance.now() of the last bytes received (or of the accept, or of the end of an ingest pause). */
  lastDataAt = performance.now();
  constructor(
    readonly id: number,
    readonly socket: net.Socket,
    readonly splitter: LineSplitter,
  ) {}

  /**
   * Writes the error lines owed and the cumulative ack. A client that never reads acks: nothing is written once the
   * socket's buffer is over ackBufferBytes; acks being cumulative, the latest one goes out on 'drain'. Error lines beyond
   * the bound are dropped (they are in dead letters).
   */
  writeAck(ackBufferBytes: number): void {
    if (this.closed || this.socket.destroyed || !this.socket.writable) {
      this.errorsOut = [];
      return;
    }
    if (this.socket.writableLength > ackBufferBytes) {
      this.ackOwed = true;
      this.errorsOut = [];
      return;
    }
    let out = '';
    for (const line of this.errorsOut) out += line + '\n';
    this.errorsOut = [];
    out += `{"ack":${this.acked}}\n`;
    this.ackOwed = false;
    this.socket.write(out);
  }
}
