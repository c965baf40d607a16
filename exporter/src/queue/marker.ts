// A small file beside the queue (queue.db.id) saying a queue exists there, with the id the database also stores. It
// is what lets the exporter tell a new queue from one that was lost: a database file that is missing, empty (truncated
// to 0 bytes) or another one while the marker names a queue is refused, instead of silently starting empty.
import crypto from 'node:crypto';
import fs from 'node:fs';
import type Database from 'better-sqlite3';
import { PRIVATE_FILE_MODE } from './db.js';

export interface Marker {
  id: string;
  createdAt: string;
}

export class QueueLostError extends Error {}

export const markerFile = (queueFile: string) => `${queueFile}.id`;

export function readMarker(queueFile: string): Marker | null {
  let text: string;
  try {
    text = fs.readFileSync(markerFile(queueFile), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  try {
    const m = JSON.parse(text) as Marker;
    if (typeof m.id === 'string' && m.id) return m;
  } catch {
    // unreadable marker: reported below
  }
  throw new QueueLostError(`${markerFile(queueFile)}: not a queue marker (expected {"id":...}); remove it only if ${queueFile} is the queue you expect`);
}

function writeMarker(queueFile: string, m: Marker): void {
  const tmp = `${markerFile(queueFile)}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(m) + '\n', { mode: PRIVATE_FILE_MODE });
  fs.renameSync(tmp, markerFile(queueFile));
}

export const recoveryHint = (queueFile: string) =>
  `restore it from a backup, or run \`exporter queue recover --queue ${queueFile}\` (salvages what SQLite can still read into a new file) ` +
  `or \`exporter queue recover --queue ${queueFile} --fresh\` (moves what is left aside and starts an empty queue)`;

/** Before opening: refuses a queue file that is missing or empty while the marker says a queue existed. */
export function checkBeforeOpen(queueFile: string): Marker | null {
  const m = readMarker(queueFile);
  if (!m) return null;
  const st = fs.statSync(queueFile, { throwIfNoEntry: false });
  if (!st) throw new QueueLostError(`the queue ${queueFile} is missing, but ${markerFile(queueFile)} says a queue (id ${m.id}) was there: records it held are gone; ${recoveryHint(queueFile)}`);
  if (st.size === 0) throw new QueueLostError(`the queue ${queueFile} is empty (0 bytes), but ${markerFile(queueFile)} says a queue (id ${m.id}) was there: it was truncated; ${recoveryHint(queueFile)}`);
  return m;
}

/** After opening (owner): the database's id must be the marker's; a queue without either gets a new id. */
export function bindMarker(queueFile: string, db: Database.Database, m: Marker | null): void {
  const row = db.prepare(`SELECT value FROM meta WHERE key = 'queue_id'`).get() as { value: string } | undefined;
  if (m && row && row.value !== m.id) {
    throw new QueueLostError(`the queue ${queueFile} is not the one ${markerFile(queueFile)} names (id ${row.value}, marker ${m.id}): it was replaced; ${recoveryHint(queueFile)}`);
  }
  if (m && !row) {
    throw new QueueLostError(`the queue ${queueFile} holds no queue (a new, empty database) while ${markerFile(queueFile)} says queue ${m.id} was there; ${recoveryHint(queueFile)}`);
  }
  const id = row?.value ?? crypto.randomUUID();
  if (!row) db.prepare(`INSERT INTO meta (key, value) VALUES ('queue_id', ?)`).run(id);
  if (!m) writeMarker(queueFile, { id, createdAt: new Date().toISOString() });
}

const DAMAGED = new Set(['SQLITE_CORRUPT', 'SQLITE_NOTADB', 'SQLITE_CORRUPT_VTAB', 'SQLITE_IOERR_SHORT_READ']);

/** A database SQLite cannot read: an error naming the file and the way out, instead of SQLite's bare message. */
export function explainOpenError(queueFile: string, e: unknown): unknown {
  const code = (e as { code?: string }).code ?? '';
  if (!DAMAGED.has(code)) return e;
  return new QueueLostError(
    `the queue ${queueFile} is damaged (${code}: ${(e as Error).message}); check it with \`exporter queue check --queue ${queueFile}\`, then ${recoveryHint(queueFile)}`,
    { cause: e },
  );
}
