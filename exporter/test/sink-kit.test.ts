// The sink kit (exporter/src/sinks/kit/): the one chunker and the one bisector every sink uses.
import t from 'tap';
import { chunkRuns, runEnd, runIndexes } from '../src/sinks/kit/chunk.js';
import { bisectRefused, sendBisecting, type Bisection } from '../src/sinks/kit/bisect.js';

t.test('chunkRuns: by count, by bytes, an oversized item alone, nothing for nothing', async (t) => {
  const sizes = [10, 10, 10, 10, 10];
  t.same(chunkRuns(5, 2, 1000, (i) => sizes[i]!), [{ start: 0, end: 2 }, { start: 2, end: 4 }, { start: 4, end: 5 }], 'count');
  t.same(chunkRuns(5, 100, 25, (i) => sizes[i]!), [{ start: 0, end: 2 }, { start: 2, end: 4 }, { start: 4, end: 5 }], 'bytes');
  t.same(chunkRuns(5, 100, 30, (i) => sizes[i]!), [{ start: 0, end: 3 }, { start: 3, end: 5 }], 'exactly at the byte bound fits');
  const big = [5, 100, 5, 5];
  t.same(chunkRuns(4, 100, 20, (i) => big[i]!), [{ start: 0, end: 1 }, { start: 1, end: 2 }, { start: 2, end: 4 }], 'an item over maxBytes goes alone');
  t.same(chunkRuns(0, 10, 10, () => 1), []);
  t.equal(runEnd(3, 4, 10, 1000, () => 1), 4, 'never past the limit');
  t.same(runIndexes({ start: 3, end: 6 }), [3, 4, 5]);
});

/** A receiver refusing, as a group, any request holding one of `bad`; counts requests. */
function receiver(bad: Set<number>) {
  const requests: number[][] = [];
  const delivered: number[] = [];
  const refusedAlone: number[] = [];
  const b: Bisection<number> = {
    send: async (items) => {
      requests.push([...items]);
      if (items.some((i) => bad.has(i))) return new Map(items.map((i) => [i, 'bad']));
      delivered.push(...items);
      return new Map();
    },
    refusedAlone: (i, why) => {
      if (why !== 'bad') throw new Error(`why: ${String(why)}`);
      refusedAlone.push(i);
    },
  };
  return { b, requests, delivered, refusedAlone };
}

t.test('sendBisecting: the bad records end alone, the others delivered once, in order', async (t) => {
  const r = receiver(new Set([2, 5]));
  await sendBisecting(r.b, [0, 1, 2, 3, 4, 5, 6, 7]);
  t.same(r.delivered, [0, 1, 3, 4, 6, 7]);
  t.same(r.refusedAlone, [2, 5]);
  t.same(
    r.requests,
    [[0, 1, 2, 3, 4, 5, 6, 7], [0, 1, 2, 3], [0, 1], [2, 3], [2], [3], [4, 5, 6, 7], [4, 5], [4], [5], [6, 7]],
    'halves left to right: 11 requests',
  );
});

t.test('everything refused costs 2N-1 requests; nothing refused costs one', async (t) => {
  const all = receiver(new Set([0, 1, 2, 3, 4, 5, 6]));
  await sendBisecting(all.b, [0, 1, 2, 3, 4, 5, 6]);
  t.equal(all.requests.length, 13);
  t.same(all.refusedAlone, [0, 1, 2, 3, 4, 5, 6]);
  const none = receiver(new Set());
  await sendBisecting(none.b, [0, 1, 2]);
  t.equal(none.requests.length, 1);
  t.same(none.delivered, [0, 1, 2]);
});

t.test('partial outcomes (Kafka): only the refused subset is bisected; a lone refused record is tried once more', async (t) => {
  const sent: number[][] = [];
  const alone: number[] = [];
  const b: Bisection<number> = {
    // A broker that takes every record but 4 and 9 in a request, and refuses those two only.
    send: async (items) => {
      sent.push([...items]);
      return new Map(items.filter((i) => i === 4 || i === 9).map((i) => [i, 'MESSAGE_TOO_LARGE']));
    },
    refusedAlone: (i) => alone.push(i),
  };
  await bisectRefused(b, [4, 9]);
  t.same(sent, [[4], [9]], 'halved first: each alone, once');
  t.same(alone, [4, 9]);
});

t.test('an error that is not a refusal propagates, leaving what was sent before it settled', async (t) => {
  const delivered: number[] = [];
  let calls = 0;
  const b: Bisection<number> = {
    send: async (items) => {
      if (++calls === 1) return new Map(items.map((i) => [i, 'bad']));
      if (items.includes(3)) throw new Error('503');
      delivered.push(...items);
      return new Map();
    },
    refusedAlone: () => t.fail('nothing is refused alone'),
  };
  await t.rejects(sendBisecting(b, [0, 1, 2, 3]), /503/);
  t.same(delivered, [0, 1], 'the left half went through before the right one failed');
});
