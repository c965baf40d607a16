// What both example consumers share: dropping duplicates by decisionId, and the summary view of what they read.

/**
 * The decisionIds seen recently. Delivery is at-least-once, so the same record can arrive twice (a resend after a lost
 * acknowledgement, a consumer restarted before committing); a duplicate arrives soon after the original, so remembering
 * the last `maxEntries` ids, each for at most `windowMs`, catches them in bounded memory.
 */
export class RecentIds {
  #seen = new Map(); // decisionId -> time first seen; insertion order is age order
  #maxEntries;
  #windowMs;
  #now;

  constructor({ maxEntries = 100_000, windowMs = 3_600_000, now = Date.now } = {}) {
    this.#maxEntries = maxEntries;
    this.#windowMs = windowMs;
    this.#now = now;
  }

  /** True the first time an id is offered (within the bounds), false for a duplicate. */
  add(id) {
    const now = this.#now();
    for (const [oldId, at] of this.#seen) {
      if (now - at <= this.#windowMs) break;
      this.#seen.delete(oldId);
    }
    if (this.#seen.has(id)) return false;
    if (this.#seen.size >= this.#maxEntries) this.#seen.delete(this.#seen.keys().next().value);
    this.#seen.set(id, now);
    return true;
  }

  get size() {
    return this.#seen.size;
  }
}

const increment = (counts, key) => (counts[key] = (counts[key] ?? 0) + 1);

/**
 * The (constraint, resource) pair of a violation_opened / violation_resolved record: its violationKey
 * ("<constraintKind>/<constraintName>:<group>/<kind>/<namespace>/<name>", the same in every audit run), else the
 * constraint and resource fields.
 */
export function lifecyclePair(record) {
  if (typeof record.violationKey === 'string' && record.violationKey.includes(':')) {
    return { pair: record.violationKey, constraint: record.violationKey.slice(0, record.violationKey.indexOf(':')) };
  }
  const constraint = `${record.kind}/${record.name}`;
  return { pair: `${constraint}:${record.resourceGroup ?? ''}/${record.resourceKind}/${record.resourceNamespace ?? ''}/${record.resourceName}`, constraint };
}

/**
 * A Kafka tombstone of the lifecycle topic (the kafka sink's violationLifecycle.tombstones): no value, the pair as its
 * key and the resolved record's decisionId and eventType as headers; read as that violation_resolved record.
 */
export function tombstoneRecord(key, headers, timestampMs) {
  if (headers.eventType !== 'violation_resolved' || !key) return undefined;
  return { decisionId: headers.decisionId, eventType: 'violation_resolved', violationKey: key, timestamp: new Date(timestampMs).toISOString() };
}

/**
 * Counts by eventType and verdict, violations by constraint, and the lifecycle view: violations open now per constraint
 * (the latest of violation_opened / violation_resolved per constraint and resource); duplicates dropped before counting.
 */
export class Summary {
  #ids;
  unique = 0;
  duplicates = 0;
  byEventType = {};
  byVerdict = {};
  violationsByConstraint = {};
  // violationKey -> { constraint, open, at }. Resolved pairs are kept (up to maxEntries) so that an
  // older violation_opened arriving after its violation_resolved (pub/sub and partitions do not keep order) is ignored.
  #lifecycle = new Map();
  #maxLifecycleTombstones;

  constructor(dedup = {}) {
    this.#ids = new RecentIds(dedup);
    this.#maxLifecycleTombstones = dedup.maxEntries ?? 100_000;
  }

  /** Takes one record; returns false when it was a duplicate (and ignored). */
  add(record) {
    if (typeof record.decisionId === 'string' && !this.#ids.add(record.decisionId)) {
      this.duplicates++;
      return false;
    }
    this.unique++;
    increment(this.byEventType, record.eventType);
    if (record.eventType === 'admission_decision') increment(this.byVerdict, record.allowed ? 'allowed' : 'denied');
    if (record.eventType === 'violation_admission' || record.eventType === 'violation_audited') {
      increment(this.violationsByConstraint, `${record.kind}/${record.name} (${record.enforcementAction})`);
    }
    if (record.eventType === 'violation_opened' || record.eventType === 'violation_resolved') {
      const { pair, constraint } = lifecyclePair(record);
      this.#lifecycleEvent(pair, constraint, record.eventType === 'violation_opened', record);
    }
    return true;
  }

  #lifecycleEvent(pair, constraint, open, record) {
    // RFC 3339 UTC timestamps sort as strings; the engine's decisionIds (UUIDv7) break ties in creation order.
    const at = `${record.timestamp}\u0000${record.decisionId}`;
    const known = this.#lifecycle.get(pair);
    if (known && known.at > at) return;
    this.#lifecycle.delete(pair);
    this.#lifecycle.set(pair, { constraint, open, at });
    if (this.#lifecycle.size <= this.#maxLifecycleTombstones) return;
    for (const [oldPair, state] of this.#lifecycle) {
      if (!state.open) {
        this.#lifecycle.delete(oldPair);
        return;
      }
    }
  }

  get openViolationsByConstraint() {
    const open = {};
    for (const { constraint, open: isOpen } of this.#lifecycle.values()) if (isOpen) increment(open, constraint);
    return open;
  }

  toJSON() {
    const { unique, duplicates, byEventType, byVerdict, violationsByConstraint, openViolationsByConstraint } = this;
    return { unique, duplicates, byEventType, byVerdict, violationsByConstraint, openViolationsByConstraint };
  }
}

/** Reads the consumers' settings from the environment, with defaults for a local try. */
export function dedupSettings(env = process.env) {
  return {
    maxEntries: Number(env.DEDUP_MAX_ENTRIES ?? 100_000),
    windowMs: Number(env.DEDUP_WINDOW_SECONDS ?? 3600) * 1000,
  };
}

/** Prints the summary as one JSON line whenever it changed, every `everyMs`; returns a function printing it now. */
export function printEvery(summary, everyMs = Number(process.env.SUMMARY_EVERY_MS ?? 5000)) {
  let last = '';
  const print = () => {
    const line = JSON.stringify({ summary });
    if (line !== last) process.stdout.write(line + '\n');
    last = line;
  };
  setInterval(print, everyMs).unref();
  return print;
}

/** Adds a record to the summary; with PRINT_RECORDS=1 prints each new one (decisionId, eventType) as a JSON line. */
export function take(summary, record, env = process.env) {
  const isNew = summary.add(record);
  if (isNew && env.PRINT_RECORDS === '1') process.stdout.write(JSON.stringify({ record: { decisionId: record.decisionId, eventType: record.eventType } }) + '\n');
  return isNew;
}
