// Request bodies cut from a batch encoded once (exporter/src/sinks/kit/encoded-records.ts): the bytes the records would
// have been written as, whichever records a request carries; text and bytes alike.
import t from 'tap';
import { EncodedRecords } from '../src/sinks/kit/encoded-records.js';

const jsons = ['{"a":1}', '{"é":"ü","n":"日本"}', '{}', '{"z":[1,2,3]}'];
const ndjsonOf = (idx: number[]) => idx.map((i) => jsons[i]! + '\n').join('');
const arrayOf = (idx: number[]) => `[${idx.map((i) => jsons[i]!).join(',')}]`;

t.test('ndjson: a run is the records one per line, non-ASCII included; so is a selection that is not a run', async (t) => {
  const b = new EncodedRecords(jsons, { newline: true });
  for (const idx of [[0, 1, 2, 3], [1, 2], [3], [0], [0, 2], [1, 3]]) {
    t.equal(b.ndjson(idx).toString('utf8'), ndjsonOf(idx), `records ${idx.join(',')}`);
  }
});

t.test('joined as a JSON array: the records comma-separated in brackets, for any selection', async (t) => {
  const b = new EncodedRecords(jsons, { newline: true });
  for (const idx of [[0, 1, 2, 3], [1, 2], [3], [0, 3]]) {
    const body = b.joined(idx, '[', ',', ']').toString('utf8');
    t.equal(body, arrayOf(idx), `records ${idx.join(',')}`);
    t.same(JSON.parse(body), idx.map((i) => JSON.parse(jsons[i]!)), 'parses back to the records');
  }
});

t.test('without newlines: each record its own bytes, from text or bytes; joined with a non-ASCII opening', async (t) => {
  const parts = [Uint8Array.of(0, 1, 2), '日本', Uint8Array.of(), Buffer.from('{"x":true}')];
  const b = new EncodedRecords(parts, { newline: false });
  t.equal(b.count, 4);
  t.same([...b.record(0)], [0, 1, 2]);
  t.equal(b.record(1).toString('utf8'), '日本');
  t.equal(b.record(2).length, 0);
  t.equal(b.record(3).toString('utf8'), '{"x":true}');
  t.equal(b.joined([1, 3], '{"é":[', ',', ']}').toString('utf8'), '{"é":[日本,{"x":true}]}');
  t.throws(() => b.ndjson([0]), /needs records encoded with newlines/);
});

t.test('with newlines, a record alone is its bytes without the newline', async (t) => {
  const b = new EncodedRecords(jsons, { newline: true });
  t.same(jsons.map((_, i) => b.record(i).toString('utf8')), jsons);
});
