// The Kafka message key of a record, chosen in the sink's config (`key`).

import type { OutgoingRecord } from '../sink.js';

/** Returns the key, or undefined for no key (the partitioner then spreads records). */
export type KeyFn = (rec: Record<string, unknown>, out: OutgoingRecord) => string | undefined;

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length ? v : typeof v === 'number' ? String(v) : undefined);

/**
 * "resource" (default): "<resourceNamespace>/<resourceName>", or "<resourceName>" for cluster-scoped resources, none for
 * records without a resource (audit_started...). "decisionId", "none", or a template with {field} placeholders naming
 * top-level fields (a missing field renders empty; an all-empty key means none).
 */
export function compileKey(spec: string, key: string): KeyFn {
  if (spec === 'resource') {
    return (rec) => {
      const name = str(rec['resourceName']);
      if (!name) return undefined;
      const ns = str(rec['resourceNamespace']);
      return ns ? `${ns}/${name}` : name;
    };
  }
  if (spec === 'decisionId') return (_rec, out) => out.decisionId;
  if (spec === 'none') return () => undefined;
  const parts = spec.split(/(\{[A-Za-z0-9_]+\})/).filter((p) => p !== '');
  if (!parts.some((p) => p.startsWith('{'))) {
    throw new Error(`${key}: expected "resource", "decisionId", "none" or a template with {field} placeholders, got ${JSON.stringify(spec)}`);
  }
  if (/[{}]/.test(parts.filter((p) => !/^\{[A-Za-z0-9_]+\}$/.test(p)).join(''))) {
    throw new Error(`${key}: unbalanced or invalid placeholder in ${JSON.stringify(spec)} (use {fieldName})`);
  }
  return (rec) => {
    let outStr = '';
    let any = false;
    for (const p of parts) {
      if (p.startsWith('{')) {
        const v = str(rec[p.slice(1, -1)]);
        if (v) any = true;
        outStr += v ?? '';
      } else outStr += p;
    }
    return any ? outStr : undefined;
  };
}

/** Whether the key reads the record's fields (else the sink need not parse the record for it). */
export function keyNeedsRecord(spec: string): boolean {
  return spec !== 'decisionId' && spec !== 'none';
}
