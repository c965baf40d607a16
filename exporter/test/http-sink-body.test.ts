// The HTTP sink's request bodies cut from a batch encoded once (exporter/src/sinks/http/body.ts): the bytes the records
// would have been written as, whichever records a request carries.
import t from 'tap';
import { EncodedBatch } from '../src/sinks/http/body.js';

const records = [{ json: '{"a":1}' }, { json: '{"é":"ü","n":"日本"}' }, { json: '{}' }, { json: '{"z":[1,2,3]}' }];
const ndjsonOf = (idx: number[]) => idx.map((i) => records[i]!.json + '\n').join('');
const arrayOf = (idx: number[]) => `[${idx.map((i) => records[i]!.json).join(',')}]`;

t.test('ndjson: a run is the records one per line, non-ASCII included; so is a selection that is not a run', async (t) => {
  const b = new EncodedBatch(records);
  for (const idx of [[0, 1, 2, 3], [1, 2], [3], [0], [0, 2], [1, 3]]) {
    t.equal(b.ndjson(idx).toString('utf8'), ndjsonOf(idx), `records ${idx.join(',')}`);
  }
});

t.test('json-array: the records comma-separated in brackets, for any selection', async (t) => {
  const b = new EncodedBatch(records);
  for (const idx of [[0, 1, 2, 3], [1, 2], [3], [0, 3]]) {
    const body = b.jsonArray(idx).toString('utf8');
    t.equal(body, arrayOf(idx), `records ${idx.join(',')}`);
    t.same(JSON.parse(body), idx.map((i) => JSON.parse(records[i]!.json)), 'parses back to the records');
  }
});
