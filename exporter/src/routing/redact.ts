// Redaction of fields before a record leaves for a sink, in the spirit of OPA's decision-log masking:
// JSON pointers (RFC 6901, plus "*" for any key or index) removed or replaced; the record lists what it lost
// in `erased` (removed) and `masked` (replaced), like OPA's decision log events.
import { compileMatch, RecordView, type Matcher, type MatchSpec, type MatchView } from './match.js';

export interface RedactRule {
  /** JSON pointer, e.g. "/object/data", "/requestUsername", "/object/spec/containers/*\/env". */
  path: string;
  /** remove (default) or replace. */
  action?: 'remove' | 'replace';
  /** The replacement for action: replace. Default "[redacted]". */
  value?: unknown;
  /** Only for records matching these criteria. */
  when?: MatchSpec;
}

interface CompiledRule {
  path: string;
  tokens: string[];
  replace: boolean;
  value: unknown;
  when: Matcher | undefined;
}

export function parsePointer(p: string, key: string): string[] {
  if (!p.startsWith('/')) throw new Error(`${key}: a JSON pointer starts with "/", got ${JSON.stringify(p)}`);
  if (p === '/') throw new Error(`${key}: redacting the whole record is not allowed; filter it out instead`);
  const tokens = p.slice(1).split('/').map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (/~[^01]|~$/.test(p)) throw new Error(`${key}: invalid escape in ${JSON.stringify(p)} (use ~0 for "~" and ~1 for "/")`);
  return tokens;
}

export interface Redaction {
  /** Applies the rules to rec in place; true when something changed. */
  apply(rec: Record<string, unknown>): boolean;
  /** No rule applies to a record seen this way: every rule has a `when` it does not match. */
  skips(view: MatchView): boolean;
}

export function compileRedaction(rules: RedactRule[], key: string): Redaction {
  const compiled: CompiledRule[] = rules.map((r, i) => ({
    path: r.path,
    tokens: parsePointer(r.path, `${key}[${i}].path`),
    replace: r.action === 'replace',
    value: r.value === undefined ? '[redacted]' : r.value,
    when: compileMatch(r.when),
  }));
  // A rule that does not apply changes nothing, so the next rule's `when` sees the record as it was: when none applies
  // to the record as stored, none applies at all.
  const skips = (view: MatchView) => compiled.every((r) => r.when && !r.when(view));
  const redactRecord = (rec: Record<string, unknown>) => {
    const erased: string[] = [];
    const masked: string[] = [];
    const view = new RecordView(rec);
    for (const r of compiled) {
      if (r.when && !r.when(view)) continue;
      apply(rec, r.tokens, 0, '', r, erased, masked);
    }
    if (!erased.length && !masked.length) return false;
    if (erased.length) rec['erased'] = [...(Array.isArray(rec['erased']) ? (rec['erased'] as unknown[]) : []), ...erased];
    if (masked.length) rec['masked'] = [...(Array.isArray(rec['masked']) ? (rec['masked'] as unknown[]) : []), ...masked];
    return true;
  };
  return { apply: redactRecord, skips };
}

const esc = (t: string) => t.replace(/~/g, '~0').replace(/\//g, '~1');

function apply(node: unknown, tokens: string[], depth: number, at: string, r: CompiledRule, erased: string[], masked: string[]): void {
  if (node === null || typeof node !== 'object') return;
  const tok = tokens[depth]!;
  const last = depth === tokens.length - 1;
  const keys = tok === '*' ? (Array.isArray(node) ? node.map((_, i) => String(i)) : Object.keys(node)) : [tok];
  // Remove array items from the end so earlier indexes stay valid.
  const ordered = Array.isArray(node) && last && !r.replace ? [...keys].reverse() : keys;
  for (const k of ordered) {
    const here = `${at}/${esc(k)}`;
    if (Array.isArray(node)) {
      const i = Number(k);
      if (!Number.isInteger(i) || i < 0 || i >= node.length) continue;
      if (!last) apply(node[i], tokens, depth + 1, here, r, erased, masked);
      else if (r.replace) {
        node[i] = r.value;
        masked.push(here);
      } else {
        node.splice(i, 1);
        erased.push(here);
      }
      continue;
    }
    const obj = node as Record<string, unknown>;
    if (!Object.hasOwn(obj, k)) continue;
    if (!last) apply(obj[k], tokens, depth + 1, here, r, erased, masked);
    else if (r.replace) {
      obj[k] = r.value;
      masked.push(here);
    } else {
      delete obj[k];
      erased.push(here);
    }
  }
}
