// WAL pages (64 KiB frames) the queue writes per transaction at webhook-like rates: commits of 100 records, one sink
// cursor advance per 5 commits that empties the log. Deterministic (frames counted from the WAL's size, checkpointed
// after each transaction), so builds compare exactly whatever the machine's load.
// env: WAL_COMMITS (200), and BASE_EXPORTER_BIN / EXPORTER_BIN (bench/_exporter-process.ts).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { builds, type Build } from './_exporter-process.js';

const COMMITS = Number(process.env['WAL_COMMITS'] ?? 200);
const PER_COMMIT = 100;
const COMMITS_PER_ADVANCE = 5;
const FRAME_BYTES = 65536 + 24;

interface QueueLike {
  db: { pragma(s: string): unknown; close(): void };
  lastSeq: number;
  registerSinks(s: { name: string; type: string }[]): unknown;
  appendBatch(records: { decisionId: string; eventType: string; json: string }[], rejects: never[]): unknown;
  advanceSink(sink: string, cursor: number, delivered: number, dead: never[]): void;
  close(): void;
}

async function measure(build: Build): Promise<string> {
  const dist = path.dirname(path.dirname(build.bin));
  const { Queue } = (await import(pathToFileURL(path.join(dist, 'queue/queue.js')).href)) as { Queue: new (file: string, opts: object) => QueueLike };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-wal-'));
  const q = new Queue(path.join(dir, 'queue.db'), { maxBytes: 1e9, onFull: 'block', synchronous: 'full', maxAgeMs: 0, deadLetterMaxRawBytes: 65536, deadLetterMaxRecords: 1000 });
  try {
    q.registerSinks([{ name: 'a', type: 'file' }]);
    q.db.pragma('wal_autocheckpoint = 0');
    const frames = () => {
      const size = fs.statSync(path.join(dir, 'queue.db-wal')).size;
      q.db.pragma('wal_checkpoint(TRUNCATE)');
      return Math.max(0, Math.round((size - 32) / FRAME_BYTES));
    };
    frames();
    let n = 0;
    let ingest = 0;
    let advance = 0;
    const pad = 'x'.repeat(450);
    for (let c = 0; c < COMMITS; c++) {
      q.appendBatch(Array.from({ length: PER_COMMIT }, () => ({ decisionId: `d${n}`, eventType: 'violation_admission', json: JSON.stringify({ eventType: 'violation_admission', decisionId: `d${n++}`, pad }) })), []);
      ingest += frames();
      if (c % COMMITS_PER_ADVANCE === COMMITS_PER_ADVANCE - 1) {
        q.advanceSink('a', q.lastSeq, PER_COMMIT * COMMITS_PER_ADVANCE, []);
        advance += frames();
      }
    }
    const advances = Math.floor(COMMITS / COMMITS_PER_ADVANCE);
    return (
      `${build.label}WAL frames: ${(ingest / COMMITS).toFixed(2)} per ${PER_COMMIT}-record commit, ${(advance / advances).toFixed(2)} per cursor advance; ` +
      `${(((ingest + advance) * FRAME_BYTES) / n).toFixed(0)} WAL bytes per ~500-byte record`
    );
  } finally {
    q.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

console.log(`exporter-wal: ${COMMITS} commits of ${PER_COMMIT} records, a cursor advance every ${COMMITS_PER_ADVANCE}`);
for (const b of builds()) console.log(await measure(b));
process.exit(0);
