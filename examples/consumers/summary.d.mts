// Types of summary.mjs, for consumers written in TypeScript.
export interface DedupSettings {
  /** Ids remembered at most (default 100000). */
  maxEntries?: number;
  /** How long an id is remembered, in milliseconds (default one hour). */
  windowMs?: number;
  now?: () => number;
}

export class RecentIds {
  constructor(settings?: DedupSettings);
  add(id: string): boolean;
  readonly size: number;
}

export type DecisionRecord = Record<string, unknown> & { decisionId?: string; eventType?: string };

export class Summary {
  constructor(dedup?: DedupSettings);
  unique: number;
  duplicates: number;
  byEventType: Record<string, number>;
  byVerdict: Record<string, number>;
  violationsByConstraint: Record<string, number>;
  readonly openViolationsByConstraint: Record<string, number>;
  add(record: DecisionRecord): boolean;
  toJSON(): object;
}

export function dedupSettings(env?: NodeJS.ProcessEnv): Required<Omit<DedupSettings, 'now'>>;
export function printEvery(summary: Summary, everyMs?: number): () => void;
export function take(summary: Summary, record: DecisionRecord, env?: NodeJS.ProcessEnv): boolean;

export function lifecyclePair(record: DecisionRecord): { pair: string; constraint: string };
export function tombstoneRecord(key: string | undefined, headers: Record<string, string>, timestampMs: number): DecisionRecord | undefined;
