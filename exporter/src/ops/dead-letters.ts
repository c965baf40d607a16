// `exporter dead-letters list|retry|purge`: inspect dead letters, put a sink's back in its stream, or delete them.
import { INGEST_LABEL } from '../metrics/metrics.js';
import type { DeadLetter, DeadLetterFilter } from '../queue/queue.js';
import { openQueueForOps } from './status.js';

export interface DeadLetterQuery {
  sink?: string;
  reason?: string;
  limit?: number;
}

function toFilter(q: DeadLetterQuery): DeadLetterFilter {
  const f: DeadLetterFilter = {};
  if (q.sink !== undefined) f.sink = q.sink === INGEST_LABEL ? null : q.sink;
  if (q.reason !== undefined) f.reason = q.reason;
  return f;
}

export function listDeadLetters(file: string, q: DeadLetterQuery): DeadLetter[] {
  const queue = openQueueForOps(file, true);
  try {
    return queue.deadLetters.list({ ...toFilter(q), limit: q.limit ?? 100 });
  } finally {
    queue.close();
  }
}

const CHUNK = 1000;

/** Walks matching dead letters in chunks so huge tables neither load into memory nor hold the write lock long. */
function eachChunk(
  file: string,
  q: DeadLetterQuery,
  act: (queue: ReturnType<typeof openQueueForOps>, ids: number[]) => { done: number; skipped: number },
  progress: (done: number, total: number) => void,
): { done: number; skipped: number } {
  const queue = openQueueForOps(file, false);
  try {
    const f = toFilter(q);
    const total = Math.min(queue.deadLetters.count(f), q.limit ?? Infinity);
    let done = 0;
    let skipped = 0;
    let afterId = 0;
    while (done + skipped < total) {
      const batch = queue.deadLetters.list({ ...f, afterId, limit: Math.min(CHUNK, total - done - skipped) });
      if (!batch.length) break;
      afterId = batch[batch.length - 1]!.id;
      const r = act(
        queue,
        batch.map((d) => d.id),
      );
      done += r.done;
      skipped += r.skipped;
      progress(done + skipped, total);
    }
    return { done, skipped };
  } finally {
    queue.close();
  }
}

export function retryDeadLetters(file: string, q: DeadLetterQuery, progress: (done: number, total: number) => void = () => {}) {
  const r = eachChunk(
    file,
    q,
    (queue, ids) => {
      const x = queue.retryDeadLetters(ids);
      return { done: x.retried, skipped: x.skipped };
    },
    progress,
  );
  return { retried: r.done, skipped: r.skipped };
}

export function purgeDeadLetters(file: string, q: DeadLetterQuery, progress: (done: number, total: number) => void = () => {}) {
  const r = eachChunk(file, q, (queue, ids) => ({ done: queue.deadLetters.purge(ids), skipped: 0 }), progress);
  return { purged: r.done };
}
