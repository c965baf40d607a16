// An ingest batch on its way to the append thread: the records' strings concatenated into one string with their lengths
// beside it, so posting a batch copies one flat string instead of cloning thousands of objects on the main thread.
import type { MessagePort } from 'node:worker_threads';
import type { NewRecord } from './record-log.js';
import type { NewDeadLetter } from './dead-letters.js';
import type { Appended } from './append.js';

export interface AppendJob {
  id: number;
  /** Each record's decisionId, eventType and json, one after the other. */
  text: string;
  /** The lengths of those strings, three per record. */
  lengths: Int32Array;
  rejects: readonly NewDeadLetter[];
  onlySink: string | null;
  bytesBefore: number;
}

export type AppendReply = { id: number; ok: true; appended: Appended } | { id: number; ok: false; message: string; code?: string };

/** What the append thread is started with; `state` and `control` are how the main thread waits for it synchronously. */
export interface AppendThreadData {
  file: string;
  synchronous: 'normal' | 'full';
  walAutocheckpointPages: number;
  onFull: 'block' | 'drop-oldest';
  maxBytes: number;
  deadLetterMaxRawBytes: number;
  deadLetterMaxRecords: number;
  /** [0]: 0 starting, 1 ready, 2 failed to open, 3 closed. */
  state: Int32Array;
  /** Where the thread puts why it could not open the queue (read synchronously with receiveMessageOnPort). */
  errors: MessagePort;
}

export const THREAD_STARTING = 0;
export const THREAD_READY = 1;
export const THREAD_FAILED = 2;
export const THREAD_CLOSED = 3;

export function packRecords(records: readonly NewRecord[]): { text: string; lengths: Int32Array } {
  const lengths = new Int32Array(records.length * 3);
  let text = '';
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    lengths[3 * i] = r.decisionId.length;
    lengths[3 * i + 1] = r.eventType.length;
    lengths[3 * i + 2] = r.json.length;
    text += r.decisionId + r.eventType + r.json;
  }
  return { text, lengths };
}

export function unpackRecords(text: string, lengths: Int32Array): NewRecord[] {
  const out: NewRecord[] = new Array(lengths.length / 3);
  let at = 0;
  for (let i = 0; i < out.length; i++) {
    const d = at + lengths[3 * i]!;
    const e = d + lengths[3 * i + 1]!;
    const j = e + lengths[3 * i + 2]!;
    out[i] = { decisionId: text.slice(at, d), eventType: text.slice(d, e), json: text.slice(e, j) };
    at = j;
  }
  return out;
}
