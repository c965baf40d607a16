// Non-native regex builtins with Go (RE2) semantics through re2-wasm.
import { RE2 } from 're2-wasm';
import { BuiltinError, type BuiltinTable } from './types.js';
import { str } from './strings.js';

const cache = new Map<string, RE2>();
const CACHE_LIMIT = 500;

/** A compiled RE2 (global, unicode) for a Go regexp pattern; cached because templates reuse a few patterns. */
export function re2(name: string, pattern: string): RE2 {
  let re = cache.get(pattern);
  if (!re) {
    try {
      re = new RE2(pattern, 'gu');
    } catch (e) {
      throw new BuiltinError(name, `error parsing regexp: ${(e as Error).message}`);
    }
    if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value!);
    cache.set(pattern, re);
  }
  re.lastIndex = 0;
  return re;
}

/** Go's Regexp.Expand template syntax ($1, ${1}, $name, $$) turned into a replacement function. */
function expander(template: string): (m: RegExpExecArray | string[], groups?: Record<string, string>) => string {
  return (m, groups) =>
    template.replace(/\$(\$|\{(\w+)\}|(\w+))/g, (_all, whole: string, braced?: string, bare?: string) => {
      if (whole === '$') return '$';
      const key = braced ?? bare!;
      if (/^\d+$/.test(key)) return m[Number(key)] ?? '';
      return groups?.[key] ?? '';
    });
}

export const regexBuiltins: BuiltinTable = {
  'regex.replace': (s, pattern, value) => {
    const input = str('regex.replace', 1, s);
    const re = re2('regex.replace', str('regex.replace', 2, pattern));
    const expand = expander(str('regex.replace', 3, value));
    let out = '';
    let last = 0;
    for (let m = re.exec(input); m; m = re.exec(input)) {
      out += input.slice(last, m.index) + expand(m as unknown as string[], m.groups);
      last = m.index + m[0]!.length;
      if (m[0] === '') re.lastIndex++;
    }
    return out + input.slice(last);
  },
  'regex.split': (pattern, s) => {
    const input = str('regex.split', 2, s);
    const re = re2('regex.split', str('regex.split', 1, pattern));
    const out: string[] = [];
    let last = 0;
    for (let m = re.exec(input); m; m = re.exec(input)) {
      if (m[0] === '') {
        re.lastIndex++;
        if (m.index === 0 || m.index >= input.length) continue;
      }
      out.push(input.slice(last, m.index));
      last = m.index + m[0]!.length;
    }
    out.push(input.slice(last));
    return out;
  },
  'regex.find_n': (pattern, s, n) => {
    const input = str('regex.find_n', 2, s);
    const re = re2('regex.find_n', str('regex.find_n', 1, pattern));
    const limit = Number(n);
    const out: string[] = [];
    for (let m = re.exec(input); m && (limit < 0 || out.length < limit); m = re.exec(input)) {
      out.push(m[0]!);
      if (m[0] === '') re.lastIndex++;
    }
    return out;
  },
  'regex.find_all_string_submatch_n': (pattern, s, n) => {
    const input = str('regex.find_all_string_submatch_n', 2, s);
    const re = re2('regex.find_all_string_submatch_n', str('regex.find_all_string_submatch_n', 1, pattern));
    const limit = Number(n);
    const out: string[][] = [];
    for (let m = re.exec(input); m && (limit < 0 || out.length < limit); m = re.exec(input)) {
      out.push([...m].map((g) => g ?? ''));
      if (m[0] === '') re.lastIndex++;
    }
    return out;
  },
};

export function isRegexError(e: unknown): boolean {
  return e instanceof BuiltinError;
}
