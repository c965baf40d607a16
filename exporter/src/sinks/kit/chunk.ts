// The one chunker of the sinks: a batch is cut into requests by a count and a byte bound (HTTP requests, Dapr bulk
// requests, Kafka produce requests).

/** Items [start, end) of a batch. */
export interface Run {
  readonly start: number;
  readonly end: number;
}

/**
 * The end of the run that starts at `start`: at most maxCount items and maxBytes bytes (sizeOf(i) each), never past
 * `limit`. An item larger than maxBytes goes alone, so every run holds at least one item.
 */
export function runEnd(start: number, limit: number, maxCount: number, maxBytes: number, sizeOf: (i: number) => number): number {
  let bytes = 0;
  let i = start;
  for (; i < limit && i - start < maxCount; i++) {
    const size = sizeOf(i);
    if (i > start && bytes + size > maxBytes) break;
    bytes += size;
  }
  return i;
}

/** Items [0, count) cut into runs, in order (see runEnd). */
export function chunkRuns(count: number, maxCount: number, maxBytes: number, sizeOf: (i: number) => number): Run[] {
  const runs: Run[] = [];
  for (let start = 0; start < count; ) {
    const end = runEnd(start, count, maxCount, maxBytes, sizeOf);
    runs.push({ start, end });
    start = end;
  }
  return runs;
}

/** The indexes of a run, in order (what the bisector works on). */
export function runIndexes(run: Run): number[] {
  return Array.from({ length: run.end - run.start }, (_, k) => run.start + k);
}
