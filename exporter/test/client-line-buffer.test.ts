// The export client's buffer of unacknowledged lines (exporter/src/client/line-buffer.ts): lines encoded once into
// slabs, written as views of them. What is written must be exactly the lines, newline-terminated, whatever their
// characters and sizes, and a view already handed to a socket must not change while more lines come.
import t from 'tap';
import { LineBuffer } from '../src/client/line-buffer.js';

const MiB = 1024 * 1024;
const NO_LIMIT = Number.MAX_SAFE_INTEGER;

/** A chunk, its write done at once (what a socket that takes every write immediately does). */
function peek(b: LineBuffer, from: number, maxWrite = NO_LIMIT): { data: Buffer; lines: number } {
  const c = b.chunk(from, maxWrite);
  b.writeDone(c.data);
  return c;
}

/** Every line from `from` on, as the client writes them (chunk after chunk, each write done); checks each chunk's line count. */
function written(b: LineBuffer, from: number, maxWrite: number): { bytes: Buffer; writes: number; largestOfSeveralLines: number } {
  const parts: Buffer[] = [];
  let largestOfSeveralLines = 0;
  let lines = from;
  while (lines < b.length) {
    const c = peek(b, lines, maxWrite);
    if (c.lines < 1) throw new Error('a chunk without a line');
    if (c.data.toString('utf8').split('\n').length - 1 !== c.lines) throw new Error(`chunk says ${c.lines} lines, holds others`);
    parts.push(Buffer.from(c.data));
    if (c.lines > 1) largestOfSeveralLines = Math.max(largestOfSeveralLines, c.data.length);
    lines += c.lines;
  }
  return { bytes: Buffer.concat(parts), writes: parts.length, largestOfSeveralLines };
}

t.test('lines come out as written with their newline: ASCII, accents, CJK, surrogate pairs, empty', async (t) => {
  const lines = ['{"a":1}', '{"é":"ü"}', '{"n":"日本語"}', '{"e":"🙂👍"}', '', '{"z":[1,2,3]}'];
  const b = new LineBuffer();
  for (const l of lines) t.equal(b.push(l, NO_LIMIT, NO_LIMIT), Buffer.byteLength(l) + 1, `size of ${JSON.stringify(l)}`);
  t.equal(b.length, lines.length);
  t.equal(b.bytes, Buffer.byteLength(lines.join('\n') + '\n'));
  t.equal(written(b, 0, NO_LIMIT).bytes.toString('utf8'), lines.join('\n') + '\n');
  t.equal(written(b, 0, NO_LIMIT).writes, 1, 'one slab: one write');
  t.equal(written(b, 2, NO_LIMIT).bytes.toString('utf8'), lines.slice(2).join('\n') + '\n', 'from a later line');
});

t.test('a line over maxLineBytes or over the buffer bytes is refused with its size, and nothing of it is kept', async (t) => {
  const b = new LineBuffer();
  t.equal(b.push('x'.repeat(9), 10, NO_LIMIT), 10, '9 characters and the newline fit 10 bytes');
  t.equal(b.push('x'.repeat(10), 10, NO_LIMIT), -11, 'one byte over');
  t.equal(b.push('é'.repeat(5), 10, NO_LIMIT), -11, 'counted in UTF-8 bytes, not characters');
  t.equal(b.push('abc', NO_LIMIT, 13), -4, 'the buffer holds 10 bytes: 4 more would make 14 > 13');
  t.equal(b.push('ab', NO_LIMIT, 13), 3, '3 more make 13');
  t.equal(b.length, 2);
  t.equal(b.bytes, 13);
  t.equal(written(b, 0, NO_LIMIT).bytes.toString('utf8'), 'xxxxxxxxx\nab\n', 'the refused lines left nothing behind');
  // The same on the slow path (a line too long to bound by 3 bytes per character in what is left of the slab).
  const big = 'y'.repeat(MiB);
  t.equal(b.push(big, MiB, NO_LIMIT), -(MiB + 1), 'a 1 MiB line and its newline are over a 1 MiB limit');
  t.equal(b.length, 2);
});

t.test('a line larger than a slab gets its own; writes never span slabs, and together they are every line', async (t) => {
  const b = new LineBuffer();
  const lines: string[] = [];
  for (let i = 0; i < 3000; i++) lines.push(`{"i":${i},"pad":"${'p'.repeat(500)}","u":"ü€🙂"}`);
  lines.splice(1000, 0, `{"huge":"${'h'.repeat(MiB + 5)}"}`); // over a slab
  lines.splice(2000, 0, `{"big":"${'日'.repeat(300_000)}"}`); // 900 kB: does not fit what is left of a slab
  t.equal(lines.filter((l) => b.push(l, 4 * MiB, NO_LIMIT) < 0).length, 0, 'every line stored');
  const all = written(b, 0, NO_LIMIT);
  t.ok(all.bytes.equals(Buffer.from(lines.join('\n') + '\n')), 'byte for byte');
  t.ok(all.writes >= 4, `${all.writes} writes: one per slab at least`);
  const small = written(b, 0, 64 * 1024);
  t.ok(small.bytes.equals(all.bytes), 'in writes of at most 64 KiB (or one line): the same bytes');
  t.ok(small.writes > all.writes, `${small.writes} writes`);
  t.ok(small.largestOfSeveralLines > 60_000 && small.largestOfSeveralLines <= 64 * 1024, `writes of several lines up to ${small.largestOfSeveralLines} bytes`);
});

t.test('chunk: at most maxBytes, but always at least one line', async (t) => {
  const b = new LineBuffer();
  for (const l of ['aaaa', 'bbbb', 'cccc']) b.push(l, NO_LIMIT, NO_LIMIT);
  t.same(summary(peek(b, 0, 10)), { text: 'aaaa\nbbbb\n', lines: 2 });
  t.same(summary(peek(b, 0, 9)), { text: 'aaaa\n', lines: 1 });
  t.same(summary(peek(b, 1, 1)), { text: 'bbbb\n', lines: 1 }, 'one line over the limit still goes');
  t.same(summary(peek(b, 2, NO_LIMIT)), { text: 'cccc\n', lines: 1 });
});

t.test('a view handed out stays the same while lines are added and others acknowledged', async (t) => {
  const b = new LineBuffer();
  for (let i = 0; i < 100; i++) b.push(`{"first":${i}}`, NO_LIMIT, NO_LIMIT);
  const inFlight = b.chunk(50, NO_LIMIT).data; // lines 50..99 written, 0..49 acknowledged below
  const copy = Buffer.from(inFlight);
  b.shift(50);
  for (let i = 0; i < 50_000; i++) b.push(`{"later":${i},"pad":"${'q'.repeat(100)}"}`, NO_LIMIT, NO_LIMIT); // several slabs
  t.ok(inFlight.equals(copy), 'the bytes of the write are untouched');
  t.equal(b.length, 50_050);
  t.equal(written(b, 0, NO_LIMIT).bytes.toString('utf8').split('\n')[0], '{"first":50}', 'the oldest held is the first not acknowledged');
});

t.test('slabs are reused once every line in them is acknowledged, and what is written from them is the new lines', async (t) => {
  const b = new LineBuffer();
  b.push('{"a":1}', NO_LIMIT, NO_LIMIT);
  const first = peek(b, 0).data;
  b.shift(1);
  b.push('{"b":2}', NO_LIMIT, NO_LIMIT);
  const again = peek(b, 0).data;
  t.ok(again.buffer === first.buffer && again.byteOffset === first.byteOffset, 'all acknowledged: the slab starts over');
  t.equal(again.toString('utf8'), '{"b":2}\n');

  // Fill the slab (A) and go on into a second (B); acknowledge A's lines; fill B: the third slab is A again.
  const line = `{"pad":"${'p'.repeat(1000)}"}`;
  const slabA = again.buffer;
  let inA = 1;
  while (peek(b, b.length - 1).data.buffer === slabA) {
    b.push(line, NO_LIMIT, NO_LIMIT);
    inA++;
  }
  inA--; // the last push went to B
  const slabB = peek(b, b.length - 1).data.buffer;
  t.not(slabB, slabA);
  t.equal(written(b, 0, NO_LIMIT).bytes.toString('utf8'), '{"b":2}\n' + `${line}\n`.repeat(b.length - 1), 'both slabs read back whole');
  b.shift(inA);
  t.equal(written(b, 0, NO_LIMIT).bytes.toString('utf8'), line + '\n', 'only the line in B is left');
  while (peek(b, b.length - 1).data.buffer === slabB) b.push(line, NO_LIMIT, NO_LIMIT);
  t.equal(peek(b, b.length - 1).data.buffer, slabA, 'the emptied slab is filled again');
  const all = written(b, 0, NO_LIMIT).bytes.toString('utf8');
  t.equal(all, `${line}\n`.repeat(b.length), 'every line held reads back whole');

  // A line larger than a slab gets its own, which is not kept for reuse.
  const huge = 'h'.repeat(2 * MiB);
  b.shift(b.length);
  b.push(huge, 4 * MiB, NO_LIMIT);
  const hugeSlab = peek(b, 0).data.buffer;
  b.push('x', NO_LIMIT, NO_LIMIT);
  b.shift(2);
  b.push('y', NO_LIMIT, NO_LIMIT);
  t.not(peek(b, 0).data.buffer, hugeSlab);
  t.equal(written(b, 0, NO_LIMIT).bytes.toString('utf8'), 'y\n');
});

t.test('a slab with a write in flight is not reused, even when the exporter acknowledges its lines early', async (t) => {
  const b = new LineBuffer();
  b.push('{"a":1}', NO_LIMIT, NO_LIMIT);
  const inFlight = b.chunk(0, NO_LIMIT).data; // not done
  b.shift(1);
  b.push('{"b":2}', NO_LIMIT, NO_LIMIT);
  t.equal(inFlight.toString('utf8'), '{"a":1}\n', 'the write in flight still holds its own line');
  t.equal(written(b, 0, NO_LIMIT).bytes.toString('utf8'), '{"b":2}\n');
  b.writeDone(inFlight);
  b.shift(1);
  b.push('{"c":3}', NO_LIMIT, NO_LIMIT);
  t.equal(peek(b, 0).data.byteOffset, inFlight.byteOffset, 'once done and everything acknowledged, the slab starts over');
});

t.test('shift gives back the bytes acknowledged; takeAll hands back every line held as text and empties the buffer', async (t) => {
  const b = new LineBuffer();
  for (const l of ['one', 'dos', 'trois', 'четыре']) b.push(l, NO_LIMIT, NO_LIMIT);
  t.equal(b.shift(2), 8);
  t.equal(b.bytes, Buffer.byteLength('trois\nчетыре\n'));
  t.same(b.takeAll(), ['trois\n', 'четыре\n']);
  t.equal(b.length, 0);
  t.equal(b.bytes, 0);
  t.same(b.takeAll(), []);
  t.equal(b.push('after', NO_LIMIT, NO_LIMIT), 6, 'usable after takeAll');
  t.same(b.takeAll(), ['after\n']);
});

function summary(c: { data: Buffer; lines: number }): { text: string; lines: number } {
  return { text: c.data.toString('utf8'), lines: c.lines };
}
