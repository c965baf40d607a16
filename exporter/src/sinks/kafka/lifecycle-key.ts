// The violation lifecycle on a compacted topic: violation_opened and violation_resolved records keyed by their
// (constraint, resource) pair, so compaction keeps the latest record of each pair; with tombstones, a resolved pair
// is sent as a tombstone (no value, same key and headers) and compaction deletes it: the topic then holds exactly the
// open violations.

export const LIFECYCLE_EVENT_TYPES: ReadonlySet<string> = new Set(['violation_opened', 'violation_resolved']);

export interface LifecycleKeying {
  /** pair (default): the record's violationKey; sink: the sink's `key` like any record. */
  key?: 'pair' | 'sink';
  /** violation_resolved as a tombstone (default false). */
  tombstones?: boolean;
}

export interface LifecycleMessage {
  /** undefined: the sink's own key applies. */
  key: string | undefined;
  tombstone: boolean;
}

/** How a lifecycle record goes out; undefined for every other record (the sink's usual key and value). */
export function lifecycleMessage(eventType: string, rec: Record<string, unknown>, o: LifecycleKeying = {}): LifecycleMessage | undefined {
  if (!LIFECYCLE_EVENT_TYPES.has(eventType)) return undefined;
  const pair = typeof rec['violationKey'] === 'string' && rec['violationKey'] ? rec['violationKey'] : undefined;
  const key = (o.key ?? 'pair') === 'pair' ? pair : undefined;
  // A tombstone without a key would delete nothing and carry nothing: only a keyed resolved record becomes one.
  return { key, tombstone: o.tombstones === true && eventType === 'violation_resolved' && key !== undefined };
}
