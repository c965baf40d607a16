// Moves a Rego module or query under a data root of its own (`package test` becomes `package <root>.test`, `data.x`
// becomes `data.<root>.x`), so the modules of many OPA test cases compile side by side into one wasm module.
// A small lexer: comments, strings, raw strings and template strings are copied as they are, except the expressions
// inside a template string's braces, which are Rego and rewritten too.

const identStart = /[A-Za-z_]/;
const identPart = /\w/;

export function reroot(src: string, root: string): string {
  return scan(src, 0, root, false).out;
}

/** Rewrites from `start`; with `inBraces`, stops before the `}` closing a template string's expression. */
function scan(src: string, start: number, root: string, inBraces: boolean): { out: string; end: number } {
  let out = '';
  let depth = 0;
  let i = start;
  while (i < src.length) {
    const ch = src[i]!;
    if (ch === '#') {
      const eol = src.indexOf('\n', i);
      const end = eol < 0 ? src.length : eol;
      out += src.slice(i, end);
      i = end;
    } else if (ch === '"' || ch === '`') {
      const end = stringEnd(src, i);
      out += src.slice(i, end);
      i = end;
    } else if (ch === '$' && (src[i + 1] === '"' || src[i + 1] === '`')) {
      const t = template(src, i, root);
      out += t.out;
      i = t.end;
    } else if (identStart.test(ch) && (i === 0 || !identPart.test(src[i - 1]!))) {
      let end = i;
      while (end < src.length && identPart.test(src[end]!)) end++;
      const word = src.slice(i, end);
      const field = src[i - 1] === '.';
      if (word === 'data' && !field) out += `data.${root}`;
      else if (word === 'package' && !field) out += `package ${root}.`;
      else out += word;
      i = end;
      if (word === 'package' && !field) while (src[i] === ' ' || src[i] === '\t') i++;
    } else {
      if (inBraces && ch === '{') depth++;
      if (inBraces && ch === '}' && depth-- === 0) return { out, end: i };
      out += ch;
      i++;
    }
  }
  return { out, end: i };
}

/** Index just past the string starting at i ("…" with escapes, or `…` raw). */
function stringEnd(src: string, i: number): number {
  const quote = src[i]!;
  let j = i + 1;
  while (j < src.length && src[j] !== quote) j += quote === '"' && src[j] === '\\' ? 2 : 1;
  return j + 1;
}

/** A template string $"…{expr}…" starting at i: literal text copied, each {expr} rewritten. */
function template(src: string, i: number, root: string): { out: string; end: number } {
  const quote = src[i + 1]!;
  let out = `$${quote}`;
  let j = i + 2;
  while (j < src.length && src[j] !== quote) {
    if (quote === '"' && src[j] === '\\') {
      out += src.slice(j, j + 2);
      j += 2;
    } else if (src[j] === '{') {
      const inner = scan(src, j + 1, root, true);
      out += `{${inner.out}}`;
      j = inner.end + 1;
    } else {
      out += src[j];
      j++;
    }
  }
  return { out: out + quote, end: j + 1 };
}
