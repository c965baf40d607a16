// `exporter sinks list|drop`: the sinks a queue knows, and dropping the backlog of one removed from the configuration.
import { openQueueForOps } from './status.js';
import type { StartFrom } from '../queue/sink-cursors.js';

export interface SinkListing {
  sink: string;
  type: string;
  /** In the configuration the exporter last started with. */
  configured: boolean;
  startFrom: StartFrom | null;
  cursor: number;
  /** Records to deliver (a configured sink) or still held (a removed one). */
  pending: number;
}

export function listSinks(file: string): SinkListing[] {
  const q = openQueueForOps(file, true);
  try {
    return q.sinkStates().map((s) => ({
      sink: s.name,
      type: s.type,
      configured: s.active,
      startFrom: s.startFrom,
      cursor: s.cursor,
      pending: s.active ? q.exactDepth(s.name, s.cursor) : q.orphanedRecords(s),
    }));
  } finally {
    q.close();
  }
}

/** Forgets a removed sink; its records leave the disk at the exporter's next prune (or next start). */
export function dropSink(file: string, name: string): { sink: string; dropped: number } {
  const q = openQueueForOps(file, false);
  try {
    // Not pruned here: a running exporter counts the queue's bytes itself and prunes within a second.
    return { sink: name, dropped: q.dropOrphan(name) };
  } finally {
    q.close();
  }
}
