// Field policies applied to a record before it leaves the process: leave a field out, or replace it with "[redacted]".
// (Paths inside the reviewed object are redacted with the exporter's redactObject, which records redactedPaths.)
import { REDACTED } from '@gk-exporter/exporter/record';

export { REDACTED };

export interface FieldPolicy {
  /** Dotted record paths removed from every record (e.g. "requestUserGroups", "details.image"). */
  omit: string[];
  /** Dotted record paths whose value is replaced by "[redacted]" when present. */
  redact: string[];
}

export function parseFieldList(value: string | undefined, flag: string, opts: { wildcard?: boolean } = {}): string[] {
  if (!value) return [];
  const fields = value.split(',').map((s) => s.trim()).filter(Boolean);
  const segment = opts.wildcard ? '([A-Za-z0-9_$/-]+|\\*)' : '[A-Za-z0-9_$/-]+';
  const re = new RegExp(`^${segment}(\\.${segment})*$`);
  for (const f of fields) {
    if (!re.test(f)) throw new Error(`${flag}: ${JSON.stringify(f)} is not a dotted field path (e.g. requestUserGroups or details.image${opts.wildcard ? ', or spec.containers.*.env' : ''})`);
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

/** Applies the policy in place. A nested path copies its top-level value first: it may be shared with the request. */
export function applyFieldPolicy(rec: Record<string, unknown>, policy: FieldPolicy): void {
  if (!policy.omit.length && !policy.redact.length) return;
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
