// Non-native regex builtins with Go (RE2) semantics through re2-wasm.
import { RE2 } from 're2-wasm';
import { BuiltinError, type BuiltinTable } from './types.js';
import { str } from './strings.js';
import { GlobError, globsIntersect } from './glob-intersection.js';

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

/**
 * Go's FindAll iteration: successive non-overlapping matches, an empty match right after the previous match ignored,
 * at most n (n < 0: all).
 */
export function findAll(re: RE2, input: string, n: number): RegExpExecArray[] {
  const out: RegExpExecArray[] = [];
  let prevEnd = -1;
  for (let pos = 0; (n < 0 || out.length < n) && pos <= input.length; ) {
    re.lastIndex = pos;
    const m = re.exec(input) as RegExpExecArray | null;
    if (!m) break;
    const end = m.index + m[0]!.length;
    let accept = true;
    if (end === m.index) {
      if (m.index === prevEnd) accept = false;
      const cp = input.codePointAt(m.index);
      pos = m.index + (cp !== undefined && cp > 0xffff ? 2 : 1);
    } else pos = end;
    prevEnd = end;
    if (accept) out.push(m);
  }
  return out;
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

const quoteMeta = (s: string) => s.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');

/** OPA's generateRegexTemplate: literal text quoted, each delimited part a capture group, anchored. */
function templatePattern(template: string, start: string, end: string): string {
  const bad = () => new BuiltinError('regex.template_match', `unbalanced braces in ${JSON.stringify(template)}`);
  const idxs: number[] = [];
  let level = 0;
  let idx = 0;
  for (let i = 0; i < template.length; i++) {
    if (template[i] === start) {
      if (++level === 1) idx = i;
    } else if (template[i] === end) {
      if (--level === 0) idxs.push(idx, i + 1);
      else if (level < 0) throw bad();
    }
  }
  if (level !== 0) throw bad();
  let pattern = '^';
  let last = 0;
  for (let i = 0; i < idxs.length; i += 2) {
    const part = template.slice(idxs[i]! + 1, idxs[i + 1]! - 1);
    re2('regex.template_match', `^${part}$`);
    pattern += `${quoteMeta(template.slice(last, idxs[i]))}(${part})`;
    last = idxs[i + 1]!;
  }
  return pattern + quoteMeta(template.slice(last)) + '$';
}

export const regexBuiltins: BuiltinTable = {
  'regex.globs_match': (glob1, glob2) => {
    try {
      return globsIntersect(str('regex.globs_match', 1, glob1), str('regex.globs_match', 2, glob2));
    } catch (e) {
      if (e instanceof GlobError) throw new BuiltinError('regex.globs_match', e.message);
      throw e;
    }
  },
  'regex.template_match': (template, value, delimStart, delimEnd) => {
    const tpl = str('regex.template_match', 1, template);
    const v = str('regex.template_match', 2, value);
    const start = str('regex.template_match', 3, delimStart);
    const end = str('regex.template_match', 4, delimEnd);
    const bytes = (s: string) => Buffer.byteLength(s, 'utf8');
    // OPA reports the start delimiter's length for both
    if (bytes(start) !== 1) throw new BuiltinError('regex.template_match', `start delimiter has to be exactly one character long but is ${bytes(start)} long`);
    if (bytes(end) !== 1) throw new BuiltinError('regex.template_match', `end delimiter has to be exactly one character long but is ${bytes(start)} long`);
    return re2('regex.template_match', templatePattern(tpl, start, end)).test(v);
  },
  'regex.replace': (s, pattern, value) => {
    const input = str('regex.replace', 1, s);
    const re = re2('regex.replace', str('regex.replace', 2, pattern));
    const expand = expander(str('regex.replace', 3, value));
    let out = '';
    let last = 0;
    for (const m of findAll(re, input, -1)) {
      out += input.slice(last, m.index) + expand(m, m.groups);
      last = m.index + m[0]!.length;
    }
    return out + input.slice(last);
  },
  'regex.split': (pattern, s) => {
    const input = str('regex.split', 2, s);
    const re = re2('regex.split', str('regex.split', 1, pattern));
    if (input === '') return [''];
    const out: string[] = [];
    let beg = 0;
    let end = 0;
    for (const m of findAll(re, input, -1)) {
      end = m.index;
      if (m.index + m[0]!.length !== 0) out.push(input.slice(beg, end));
      beg = m.index + m[0]!.length;
    }
    if (end !== input.length) out.push(input.slice(beg));
    return out;
  },
  'regex.find_n': (pattern, s, n) => {
    const input = str('regex.find_n', 2, s);
    const re = re2('regex.find_n', str('regex.find_n', 1, pattern));
    return findAll(re, input, Number(n)).map((m) => m[0]!);
  },
  'regex.find_all_string_submatch_n': (pattern, s, n) => {
    const input = str('regex.find_all_string_submatch_n', 2, s);
    const re = re2('regex.find_all_string_submatch_n', str('regex.find_all_string_submatch_n', 1, pattern));
    return findAll(re, input, Number(n)).map((m) => [...m].map((g) => g ?? ''));
  },
};
