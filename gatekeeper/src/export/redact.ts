// Field policies applied to a record before it leaves the process: leave out, or replace with a marker.
export const REDACTED = '[REDACTED]';

export interface FieldPolicy {
  /** Dotted paths removed from every record (e.g. "object", "requestUserGroups", "details.image"). */
  omit: string[];
  /** Dotted paths whose value is replaced by "[REDACTED]" when present. */
  redact: string[];
}

export function parseFieldList(value: string | undefined, flag: string): string[] {
  if (!value) return [];
  const fields = value.split(',').map((s) => s.trim()).filter(Boolean);
  for (const f of fields) {
    if (!/^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$/.test(f)) throw new Error(`${flag}: ${JSON.stringify(f)} is not a dotted field path (e.g. object.spec or requestUserGroups)`);
  }
  return fields;
}

function apply(rec: Record<string, unknown>, path: string, mode: 'omit' | 'redact'): void {
  const parts = path.split('.');
  let cur: any = rec;
  for (let i = 0; i < parts.length - 1; i++) {
    cur = cur?.[parts[i]!];
    if (cur === null || typeof cur !== 'object') return;
  }
  const last = parts[parts.length - 1]!;
  if (!(last in cur)) return;
  if (mode === 'omit') delete cur[last];
  else cur[last] = REDACTED;
}

/** Applies the policy in place. A nested path copies its top-level value first: it may be shared with the request (the object). */
export function applyFieldPolicy(rec: Record<string, unknown>, policy: FieldPolicy): void {
  const copied = new Set<string>();
  const run = (p: string, mode: 'omit' | 'redact') => {
    const top = p.split('.')[0]!;
    if (p.includes('.') && !copied.has(top) && rec[top] && typeof rec[top] === 'object') {
      rec[top] = structuredClone(rec[top]);
      copied.add(top);
    }
    apply(rec, p, mode);
  };
  for (const p of policy.omit) run(p, 'omit');
  for (const p of policy.redact) run(p, 'redact');
}
