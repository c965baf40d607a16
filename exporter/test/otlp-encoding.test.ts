// The OTLP sink's requests framed around log records encoded once (sinks/otlp/logs.ts, proto.ts): the same request
// whichever records of the batch a request carries, in OTLP/JSON and on the protobuf wire. The real collector reads
// them in otlp-sink.test.ts; here every byte of the framing is checked, non-ASCII resource attributes included.
import t from 'tap';
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';
import { EncodedRecords } from '../src/sinks/kit/encoded-records.js';
import { logRecordJson, requestJsonAround, toLogRecord, type Attributes } from '../src/sinks/otlp/logs.js';
import { logRecordProto, requestProto } from '../src/sinks/otlp/proto.js';

const resource: Attributes = [
  ['service.name', 'gk-exporter'],
  ['k8s.cluster.name', 'prod-été'],
];
const records = ['a', 'b', 'c'].map((id) =>
  JSON.stringify({ decisionId: id, eventType: 'admission_decision', timestamp: '2026-11-24T10:00:00Z', allowed: false, resourceName: `pod-${id}`, note: 'ü' }),
);
const observed = 1_795_000_000_000_000_000n;
const logs = records.map((r) => toLogRecord(r, observed));

t.test('OTLP/JSON: the envelope around any selection of the records is one request with those log records', async (t) => {
  const encoded = new EncodedRecords(logs.map(logRecordJson), { newline: false });
  const { open, close } = requestJsonAround(resource);
  for (const idx of [[0, 1, 2], [1], [0, 2]]) {
    const body = JSON.parse(encoded.joined(idx, open, ',', close).toString('utf8')) as {
      resourceLogs: { resource: { attributes: { key: string; value: { stringValue: string } }[] }; scopeLogs: { scope: { name: string }; logRecords: unknown[] }[] }[];
    };
    t.equal(body.resourceLogs.length, 1);
    const [rl] = body.resourceLogs;
    t.same(rl!.resource.attributes.map((a) => [a.key, a.value.stringValue]), resource, 'the resource, non-ASCII included');
    t.equal(rl!.scopeLogs[0]!.scope.name, 'gk-exporter');
    t.same(rl!.scopeLogs[0]!.logRecords, idx.map((i) => JSON.parse(logRecordJson(logs[i]!))), `log records ${idx.join(',')}`);
  }
});

/** The length-delimited fields of one message, by field number. */
function fields(bytes: Uint8Array): Map<number, Uint8Array[]> {
  const out = new Map<number, Uint8Array[]>();
  const r = new BinaryReader(bytes);
  while (r.pos < r.len) {
    const [field, type] = r.tag();
    if (type !== WireType.LengthDelimited) {
      r.skip(type);
      continue;
    }
    out.set(field, [...(out.get(field) ?? []), r.bytes()]);
  }
  return out;
}

t.test('protobuf: resource logs, one scope, and the log records given, each byte for byte as encoded once', async (t) => {
  const encoded = new EncodedRecords(logs.map(logRecordProto), { newline: false });
  for (const idx of [[0, 1, 2], [2], [0, 2]]) {
    const request = fields(requestProto(resource, idx.map((i) => encoded.record(i))));
    t.equal(request.get(1)?.length, 1, 'one ResourceLogs');
    const resourceLogs = fields(request.get(1)![0]!);
    const attributes = fields(resourceLogs.get(1)![0]!).get(1)!;
    const text = (b: Uint8Array) => Buffer.from(b).toString('utf8');
    const keyValue = (kv: Uint8Array) => [text(fields(kv).get(1)![0]!), text(fields(fields(kv).get(2)![0]!).get(1)![0]!)];
    t.same(attributes.map(keyValue), resource, 'the resource, non-ASCII included');
    const scopeLogs = fields(resourceLogs.get(2)![0]!);
    t.equal(text(fields(scopeLogs.get(1)![0]!).get(1)![0]!), 'gk-exporter', 'the scope');
    t.same(scopeLogs.get(2)!.map((b) => Buffer.from(b).toString('hex')), idx.map((i) => Buffer.from(logRecordProto(logs[i]!)).toString('hex')), `log records ${idx.join(',')}`);
  }
});
