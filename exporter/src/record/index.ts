// The decision record: the unit the engine sends, the queue stores and every sink forwards.
// Contract: proto-docs/record.md and proto-docs/schema/decision-record.v1.schema.json (generated from ./schema.ts).
export { normalizeLine, type NormalizedRecord, type NormalizeResult } from './normalize.js';
export { EVENT_TYPES, type EventType, type DecisionRecord } from './types.js';
export { SCHEMA_VERSION, decisionRecordSchema } from './schema.js';
