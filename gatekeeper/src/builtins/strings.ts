// Non-native string builtins (OPA's wasm target calls out to the host for these).
import { BuiltinError, type BuiltinTable } from './types.js';

/** A string, or an array or set of strings (a set arrives as an array), with OPA's operand errors. */
function stringList(name: string, pos: number, v: unknown): string[] {
  if (typeof v === 'string') return [v];
  if (!Array.isArray(v)) throw new BuiltinError(name, `operand ${pos} must be one of {string, set, array} but got ${typeOf(v)}`);
  const bad = v.find((x) => typeof x !== 'string');
  if (bad !== undefined) throw new BuiltinError(name, `operand ${pos} must be array of strings but got array containing ${typeOf(bad)}`);
  return v as string[];
}

export function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v === 'object' ? 'object' : typeof v === 'boolean' ? 'boolean' : typeof v;
}

export function str(name: string, pos: number, v: unknown): string {
  if (typeof v !== 'string') throw new BuiltinError(name, `operand ${pos} must be string but got ${typeOf(v)}`);
  return v;
}

/** Go's strings.SplitN: at most n parts (n < 0: all), the last one the unsplit rest; "" splits into characters. */
function goSplitN(s: string, sep: string, n: number): string[] {
  if (n === 0) return [];
  const parts = sep === '' ? [...s] : s.split(sep);
  if (n < 0 || parts.length <= n) return parts;
  return [...parts.slice(0, n - 1), parts.slice(n - 1).join(sep)];
}

export const stringBuiltins: BuiltinTable = {
  'strings.split_n': (x, delimiter, count) => {
    const s = str('strings.split_n', 1, x);
    const d = str('strings.split_n', 2, delimiter);
    if (typeof count !== 'number') throw new BuiltinError('strings.split_n', `operand 3 must be number but got ${typeOf(count)}`);
    if (!Number.isInteger(count)) throw new BuiltinError('strings.split_n', 'operand 3 must be integer number but got floating-point number');
    // OPA: n >= 0 keeps the first n parts of a split into n+1; n < 0 the last -n parts of the full split
    if (count >= 0) return goSplitN(s, d, count + 1).slice(0, count);
    const parts = goSplitN(s, d, -1);
    return parts.slice(Math.max(parts.length + count, 0));
  },
  'strings.any_prefix_match': (search, base) => {
    const s = stringList('strings.any_prefix_match', 1, search);
    const b = stringList('strings.any_prefix_match', 2, base);
    return s.some((x) => b.some((p) => x.startsWith(p)));
  },
  'strings.any_suffix_match': (search, base) => {
    const s = stringList('strings.any_suffix_match', 1, search);
    const b = stringList('strings.any_suffix_match', 2, base);
    return s.some((x) => b.some((p) => x.endsWith(p)));
  },
  'strings.count': (search, sub) => {
    const s = str('strings.count', 1, search);
    const t = str('strings.count', 2, sub);
    // Go's strings.Count: an empty substring counts once per rune plus one.
    if (t === '') return [...s].length + 1;
    return s.split(t).length - 1;
  },
  indexof_n: (haystack, needle) => {
    const h = [...str('indexof_n', 1, haystack)];
    const n = [...str('indexof_n', 2, needle)];
    const out: number[] = [];
    for (let i = 0; i + n.length <= h.length; i++) {
      if (n.every((c, j) => h[i + j] === c)) out.push(i);
    }
    return out;
  },
  'glob.quote_meta': (pattern) => str('glob.quote_meta', 1, pattern).replace(/[*?\\[\]{}]/g, '\\$&'),
};
