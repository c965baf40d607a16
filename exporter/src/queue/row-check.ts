// Whether a row of the record log holds what its seqs say: one line of JSON, one decisionId/eventType pair and (when the
// row has facts) one facts entry per record. SQLite's integrity check cannot see this; delivery stops on such a row
// rather than hand a sink records under the wrong seqs. `exporter queue check` lists them, `exporter queue recover`
// moves their text to the dead letters (ops/repair.ts).
import type Database from 'better-sqlite3';

/**
 * A row's problem, or undefined when it is sound: its lines, its keys' and its facts' entries counted (-1: not a JSON
 * array; facts undefined: the row has none).
 */
export function rowProblem(firstSeq: number, lastSeq: number, lines: number, keys: number, facts: number | undefined): string | undefined {
  if (lines === lastSeq - firstSeq + 1 && keys === 2 * lines && (facts === undefined || facts === lines)) return undefined;
  const keysText = keys < 0 ? 'unreadable keys' : `${keys / 2} keys`;
  const factsText = facts === undefined ? '' : facts < 0 ? ' and unreadable facts' : ` and ${facts} facts`;
  return `the queue's row of records ${firstSeq}-${lastSeq} holds ${lines} lines and ${keysText}${factsText}: damaged`;
}

/** What a damaged row's error says to do. */
export const DAMAGED_ROW_HINT = '`exporter queue check` lists such rows; `exporter queue recover` moves their records to the dead letters';

/** A JSON array's entries, or null when the text is not one. */
export function parseArray(text: string): unknown[] | null {
  try {
    const v: unknown = JSON.parse(text);
    return Array.isArray(v) ? v : null;
  } catch {
    return null;
  }
}

export interface DamagedRow {
  firstSeq: number;
  lastSeq: number;
  problem: string;
  /** The row's records as stored, one per line. */
  json: string;
}

const SCAN_ROWS = 500;

/** Every damaged row of the log, oldest first (a scan in chunks of rows). */
export function damagedRows(db: Database.Database): DamagedRow[] {
  const read = db.prepare('SELECT first_seq, last_seq, keys, json, facts FROM records WHERE last_seq > ? ORDER BY last_seq LIMIT ?').raw(true);
  const out: DamagedRow[] = [];
  for (let after = -1; ; ) {
    const rows = read.all(after, SCAN_ROWS) as [number, number, string, string, string | null][];
    for (const [firstSeq, lastSeq, keysText, json, factsText] of rows) {
      after = lastSeq;
      const problem = rowProblem(firstSeq, lastSeq, json.split('\n').length, lengthOf(keysText), factsText === null ? undefined : lengthOf(factsText));
      if (problem) out.push({ firstSeq, lastSeq, problem, json });
    }
    if (rows.length < SCAN_ROWS) return out;
  }
}

function lengthOf(text: string): number {
  return parseArray(text)?.length ?? -1;
}
