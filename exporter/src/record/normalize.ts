import { randomUUID } from 'node:crypto';

export interface NormalizedRecord {
  decisionId: string;
  eventType: string;
  /** The JSON text to store: the line as received, with decisionId / timestamp spliced in when the sender left them out. */
  json: string;
  assignedId: boolean;
}

export type NormalizeResult = { ok: true; record: NormalizedRecord } | { ok: false; reason: string; error: string };

/** Parse and check one ndjson line (without its newline). Never throws. */
export function normalizeLine(line: string, receivedAt: Date): NormalizeResult {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (e) {
    return { ok: false, reason: 'malformed_json', error: `malformed JSON: ${(e as Error).message}` };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, reason: 'not_an_object', error: 'a record must be a JSON object' };
  }
  const rec = value as Record<string, unknown>;
  const eventType = rec['eventType'];
  if (typeof eventType !== 'string' || eventType.length === 0) {
    return { ok: false, reason: 'schema', error: 'eventType: required, a non-empty string' };
  }
  let json = line.trim();
  let decisionId = rec['decisionId'];
  let assignedId = false;
  if (decisionId === undefined) {
    decisionId = randomUUID();
    assignedId = true;
    json = `{"decisionId":"${decisionId}",${json.slice(1)}`;
  } else if (typeof decisionId !== 'string' || decisionId.length === 0) {
    return { ok: false, reason: 'schema', error: 'decisionId: must be a non-empty string when present' };
  }
  if (rec['timestamp'] === undefined) {
    json = `{"timestamp":"${receivedAt.toISOString()}",${json.slice(1)}`;
  }
  return { ok: true, record: { decisionId: decisionId as string, eventType, json, assignedId } };
}
