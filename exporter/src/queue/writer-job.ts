// What goes between the queue and its writer thread: jobs (an ingest batch, a sink's advance) and their replies. An
// ingest batch's record strings travel concatenated into one string with their lengths beside it, so posting a batch
// copies one flat string instead of cloning thousands of objects on the main thread.
import type { MessagePort } from 'node:worker_threads';
import { recordSize, type NewRecord } from './record-log.js';
import type { NewDeadLetter } from './dead-letters.js';
import type { Advanced, Appended } from './transactions.js';

export interface AppendJob {
  id: number;
  kind: 'append';
  /** Each record's decisionId, eventType, json and facts, one after the other. */
  text: string;
  /** Per record: the lengths of those strings (-1: no facts), then its size (NewRecord.size). */
  lengths: Int32Array;
  rejects: readonly NewDeadLetter[];
  onlySink: string | null;
  bytesBefore: number;
}

export interface AdvanceJob {
  id: number;
  kind: 'advance';
  sink: string;
  cursor: number;
  delivered: number;
  deadLetters: readonly NewDeadLetter[];
  andPrune: boolean;
}

export type WriterJob = AppendJob | AdvanceJob;

export type WriterReply = { id: number; ok: true; result: Appended | Advanced } | { id: number; ok: false; message: string; code?: string };

/** What the writer thread is started with; `state` and `errors` let the main thread wait for it synchronously. */
export interface WriterThreadData {
  file: string;
  synchronous: 'normal' | 'full';
  walAutocheckpointPages: number;
  onFull: 'block' | 'drop-oldest';
  maxBytes: number;
  deadLetterMaxRawBytes: number;
  deadLetterMaxRecords: number;
  /** [0]: THREAD_*. */
  state: Int32Array;
  /** Where the thread puts why it could not open the queue (read synchronously with receiveMessageOnPort). */
  errors: MessagePort;
}

export const THREAD_STARTING = 0;
export const THREAD_READY = 1;
export const THREAD_FAILED = 2;
export const THREAD_CLOSED = 3;

const PACKED = 5;

export function packRecords(records: readonly NewRecord[]): { text: string; lengths: Int32Array } {
  const lengths = new Int32Array(records.length * PACKED);
  let text = '';
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    const json = typeof r.json === 'string' ? r.json : r.json.toString();
    const o = PACKED * i;
    lengths[o] = r.decisionId.length;
    lengths[o + 1] = r.eventType.length;
    lengths[o + 2] = json.length;
    lengths[o + 3] = r.facts === undefined ? -1 : r.facts.length;
    // The size counted from the bytes when given bytes: the same on either side of the thread.
    lengths[o + 4] = r.size ?? recordSize(r.json, r.facts);
    text += r.decisionId + r.eventType + json + (r.facts ?? '');
  }
  return { text, lengths };
}

export function unpackRecords(text: string, lengths: Int32Array): NewRecord[] {
  const out: NewRecord[] = new Array(lengths.length / PACKED);
  let at = 0;
  for (let i = 0; i < out.length; i++) {
    const o = PACKED * i;
    const d = at + lengths[o]!;
    const e = d + lengths[o + 1]!;
    const j = e + lengths[o + 2]!;
    const factsLength = lengths[o + 3]!;
    const f = j + Math.max(0, factsLength);
    out[i] = { decisionId: text.slice(at, d), eventType: text.slice(d, e), json: text.slice(e, j), size: lengths[o + 4]! };
    if (factsLength >= 0) out[i]!.facts = text.slice(j, f);
    at = f;
  }
  return out;
}

/** A dead letter's raw bytes arrive as a Uint8Array (a Buffer is cloned as one): better-sqlite3 binds a Buffer as a BLOB. */
export function withBufferRaw(d: NewDeadLetter): NewDeadLetter {
  const raw = d.raw as string | Uint8Array;
  return typeof raw === 'string' || Buffer.isBuffer(raw) ? d : { ...d, raw: Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength) };
}
