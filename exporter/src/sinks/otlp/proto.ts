// ExportLogsServiceRequest / ExportLogsServiceResponse (opentelemetry-proto, collector/logs/v1 and logs/v1) on the
// protobuf wire, with @bufbuild/protobuf's BinaryWriter/BinaryReader. The field numbers below are the .proto's.
import { BinaryReader, BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { SCOPE_NAME, type Attributes, type Json, type LogRecordModel, type PartialSuccess } from './logs.js';

const F = {
  request: { resourceLogs: 1 },
  resourceLogs: { resource: 1, scopeLogs: 2 },
  resource: { attributes: 1 },
  scopeLogs: { scope: 1, logRecords: 2 },
  scope: { name: 1 },
  logRecord: { timeUnixNano: 1, severityNumber: 2, severityText: 3, body: 5, attributes: 6, observedTimeUnixNano: 11, eventName: 12 },
  keyValue: { key: 1, value: 2 },
  anyValue: { string: 1, bool: 2, int: 3, double: 4, array: 5, kvlist: 6 },
  /** ArrayValue.values and KeyValueList.values */
  values: 1,
  response: { partialSuccess: 1 },
  partialSuccess: { rejectedLogRecords: 1, errorMessage: 2 },
} as const;

const LEN = WireType.LengthDelimited;

function anyValue(w: BinaryWriter, v: Json): void {
  const A = F.anyValue;
  if (typeof v === 'string') w.tag(A.string, LEN).string(v);
  else if (typeof v === 'boolean') w.tag(A.bool, WireType.Varint).bool(v);
  else if (typeof v === 'number') {
    if (Number.isSafeInteger(v)) w.tag(A.int, WireType.Varint).int64(v);
    else w.tag(A.double, WireType.Bit64).double(v);
  } else if (Array.isArray(v)) {
    w.tag(A.array, LEN).fork();
    for (const x of v) anyValue(w.tag(F.values, LEN).fork(), x), w.join();
    w.join();
  } else if (v !== null) {
    w.tag(A.kvlist, LEN).fork();
    for (const [k, x] of Object.entries(v)) keyValue(w.tag(F.values, LEN).fork(), k, x), w.join();
    w.join();
  }
}

function keyValue(w: BinaryWriter, key: string, v: Json): void {
  w.tag(F.keyValue.key, LEN).string(key);
  anyValue(w.tag(F.keyValue.value, LEN).fork(), v);
  w.join();
}

function attributes(w: BinaryWriter, field: number, attrs: Attributes): void {
  for (const [k, v] of attrs) keyValue(w.tag(field, LEN).fork(), k, v), w.join();
}

/** One LogRecord message's bytes (without its field tag and length). */
export function logRecordProto(l: LogRecordModel): Uint8Array {
  const L = F.logRecord;
  const w = new BinaryWriter();
  w.tag(L.timeUnixNano, WireType.Bit64).fixed64(l.timeUnixNano);
  w.tag(L.severityNumber, WireType.Varint).int32(l.severityNumber);
  w.tag(L.severityText, LEN).string(l.severityText);
  anyValue(w.tag(L.body, LEN).fork(), l.body);
  w.join();
  attributes(w, L.attributes, l.attributes);
  w.tag(L.observedTimeUnixNano, WireType.Bit64).fixed64(l.observedTimeUnixNano);
  if (l.eventName) w.tag(L.eventName, LEN).string(l.eventName);
  return w.finish();
}

/** The request around log records encoded by logRecordProto. */
export function requestProto(resource: Attributes, logRecords: readonly Uint8Array[]): Uint8Array {
  const w = new BinaryWriter();
  w.tag(F.request.resourceLogs, LEN).fork();
  attributes(w.tag(F.resourceLogs.resource, LEN).fork(), F.resource.attributes, resource);
  w.join();
  w.tag(F.resourceLogs.scopeLogs, LEN).fork();
  w.tag(F.scopeLogs.scope, LEN).fork().tag(F.scope.name, LEN).string(SCOPE_NAME).join();
  for (const l of logRecords) w.tag(F.scopeLogs.logRecords, LEN).bytes(l);
  w.join(); // scopeLogs
  w.join(); // resourceLogs
  return w.finish();
}

/** ExportLogsServiceResponse: its partial_success, unknown fields skipped; an empty body is a full success. */
export function responseProto(body: Uint8Array): PartialSuccess {
  let rejected = 0;
  let message = '';
  const r = new BinaryReader(body);
  while (r.pos < r.len) {
    const [field, type] = r.tag();
    if (field !== F.response.partialSuccess || type !== LEN) {
      r.skip(type);
      continue;
    }
    const p = new BinaryReader(r.bytes());
    while (p.pos < p.len) {
      const [pf, pt] = p.tag();
      if (pf === F.partialSuccess.rejectedLogRecords && pt === WireType.Varint) rejected = Number(p.int64());
      else if (pf === F.partialSuccess.errorMessage && pt === LEN) message = p.string();
      else p.skip(pt);
    }
  }
  return { rejected, message };
}
