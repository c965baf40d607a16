// Delivers a batch the way the delivery worker does: what fails retryably is sent again after a pause, what fails for
// good is collected. For sink tests that talk to a real broker without a queue.
import { SinkError, type OutgoingRecord, type Sink } from '../../exporter/src/sinks/sink.js';

export async function deliverLikeTheWorker(
  sink: Pick<Sink, 'send'>,
  batch: readonly OutgoingRecord[],
  signal: AbortSignal,
  o: { maxAttempts?: number; pauseMs?: number } = {},
): Promise<{ refused: OutgoingRecord[]; attempts: number }> {
  const maxAttempts = o.maxAttempts ?? 200;
  let pending = [...batch];
  const refused: OutgoingRecord[] = [];
  let attempts = 0;
  while (pending.length) {
    attempts++;
    if (attempts > maxAttempts) throw new Error(`gave up after ${maxAttempts} attempts`);
    try {
      const res = await sink.send(pending, signal);
      const retry: OutgoingRecord[] = [];
      for (const f of res.failures ?? []) (f.retryable ? retry : refused).push(pending[f.index]!);
      pending = retry;
    } catch (e) {
      if (e instanceof SinkError && !e.retryable) throw e;
    }
    if (pending.length) await new Promise((r) => setTimeout(r, o.pauseMs ?? 250));
  }
  return { refused, attempts };
}
