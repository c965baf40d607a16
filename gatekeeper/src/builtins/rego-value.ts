// Rego values as OPA's wasm runtime prints them with opa_value_dump (JSON plus sets: `{1, 2}`, `set()`), parsed into a
// tree that keeps what JSON loses (sets, number literals), and printed back the way OPA's Go `ast.Value.String()` does:
// sprintf's %v of a composite value is that string in Gatekeeper.

export type RegoTerm =
  | { k: 'null' }
  | { k: 'bool'; v: boolean }
  | { k: 'num'; lit: string }
  | { k: 'str'; v: string }
  | { k: 'arr'; items: RegoTerm[] }
  | { k: 'obj'; entries: Array<[RegoTerm, RegoTerm]> }
  | { k: 'set'; items: RegoTerm[] };

export function parseRegoValue(text: string): RegoTerm {
  const p = new Parser(text);
  const t = p.value();
  p.ws();
  if (p.i !== text.length) throw new Error(`unexpected text at ${p.i} in rego value`);
  return t;
}

class Parser {
  i = 0;
  constructor(private readonly s: string) {}

  ws(): void {
    while (this.i < this.s.length && /\s/.test(this.s[this.i]!)) this.i++;
  }

  value(): RegoTerm {
    this.ws();
    const c = this.s[this.i];
    if (c === '"') return { k: 'str', v: this.string() };
    if (c === '[') {
      this.i++;
      return { k: 'arr', items: this.list(']') };
    }
    if (c === '{') {
      this.i++;
      this.ws();
      if (this.s[this.i] === '}') {
        this.i++;
        return { k: 'obj', entries: [] };
      }
      const first = this.value();
      this.ws();
      if (this.s[this.i] === ':') {
        this.i++;
        const entries: Array<[RegoTerm, RegoTerm]> = [[first, this.value()]];
        for (;;) {
          this.ws();
          const d = this.s[this.i++];
          if (d === '}') return { k: 'obj', entries };
          if (d !== ',') throw new Error(`expected , or } at ${this.i - 1} in rego value`);
          const key = this.value();
          this.ws();
          if (this.s[this.i++] !== ':') throw new Error(`expected : at ${this.i - 1} in rego value`);
          entries.push([key, this.value()]);
        }
      }
      const items = [first];
      this.ws();
      if (this.s[this.i] === ',') {
        this.i++;
        items.push(...this.list('}'));
      } else if (this.s[this.i++] !== '}') throw new Error(`expected , or } at ${this.i - 1} in rego value`);
      return { k: 'set', items };
    }
    if (this.s.startsWith('set()', this.i)) {
      this.i += 5;
      return { k: 'set', items: [] };
    }
    if (this.s.startsWith('null', this.i)) {
      this.i += 4;
      return { k: 'null' };
    }
    if (this.s.startsWith('true', this.i)) {
      this.i += 4;
      return { k: 'bool', v: true };
    }
    if (this.s.startsWith('false', this.i)) {
      this.i += 5;
      return { k: 'bool', v: false };
    }
    const m = /^-?\.?[0-9][0-9.eE+-]*/.exec(this.s.slice(this.i, this.i + 400));
    if (m) {
      this.i += m[0].length;
      return { k: 'num', lit: m[0] };
    }
    throw new Error(`unexpected character ${JSON.stringify(c ?? 'end')} at ${this.i} in rego value`);
  }

  list(close: string): RegoTerm[] {
    const items: RegoTerm[] = [];
    this.ws();
    if (this.s[this.i] === close) {
      this.i++;
      return items;
    }
    for (;;) {
      items.push(this.value());
      this.ws();
      const d = this.s[this.i++];
      if (d === close) return items;
      if (d !== ',') throw new Error(`expected , or ${close} at ${this.i - 1} in rego value`);
    }
  }

  string(): string {
    const start = this.i;
    this.i++;
    while (this.i < this.s.length && this.s[this.i] !== '"') this.i += this.s[this.i] === '\\' ? 2 : 1;
    this.i++;
    return JSON.parse(this.s.slice(start, this.i)) as string;
  }
}

const typeRank: Record<RegoTerm['k'], number> = { null: 0, bool: 1, num: 2, str: 3, arr: 4, obj: 5, set: 6 };

/** OPA's ast.Compare order: null < booleans < numbers < strings < arrays < objects < sets. */
export function compareRego(a: RegoTerm, b: RegoTerm): number {
  if (a.k !== b.k) return typeRank[a.k] - typeRank[b.k];
  switch (a.k) {
    case 'null':
      return 0;
    case 'bool':
      return Number(a.v) - Number((b as typeof a).v);
    case 'num': {
      const x = Number(a.lit);
      const y = Number((b as typeof a).lit);
      return x < y ? -1 : x > y ? 1 : 0;
    }
    case 'str': {
      const y = (b as typeof a).v;
      return a.v < y ? -1 : a.v > y ? 1 : 0;
    }
    case 'arr':
      return compareLists(a.items, (b as typeof a).items);
    case 'set':
      return compareLists(sorted(a.items), sorted((b as typeof a).items));
    case 'obj': {
      const ea = sortedEntries(a.entries);
      const eb = sortedEntries((b as typeof a).entries);
      for (let i = 0; i < Math.min(ea.length, eb.length); i++) {
        const c = compareRego(ea[i]![0], eb[i]![0]) || compareRego(ea[i]![1], eb[i]![1]);
        if (c) return c;
      }
      return ea.length - eb.length;
    }
  }
}

function compareLists(a: RegoTerm[], b: RegoTerm[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const c = compareRego(a[i]!, b[i]!);
    if (c) return c;
  }
  return a.length - b.length;
}

const sorted = (items: RegoTerm[]) => [...items].sort(compareRego);
const sortedEntries = (e: Array<[RegoTerm, RegoTerm]>) => [...e].sort((x, y) => compareRego(x[0], y[0]));

/** How a term is written out: regoString and regoLiteral differ only in these. */
interface TermStyle {
  quote: (s: string) => string;
  /** Between elements. */
  comma: string;
  /** Between an object key and its value. */
  colon: string;
  /** Sets and object keys in OPA's order (else as they are held). */
  sort: boolean;
}

function formatTerm(t: RegoTerm, style: TermStyle): string {
  const f = (x: RegoTerm) => formatTerm(x, style);
  switch (t.k) {
    case 'null':
      return 'null';
    case 'bool':
      return String(t.v);
    case 'num':
      return t.lit;
    case 'str':
      return style.quote(t.v);
    case 'arr':
      return `[${t.items.map(f).join(style.comma)}]`;
    case 'set':
      return t.items.length ? `{${(style.sort ? sorted(t.items) : t.items).map(f).join(style.comma)}}` : 'set()';
    case 'obj':
      return `{${(style.sort ? sortedEntries(t.entries) : t.entries).map(([k, v]) => `${f(k)}${style.colon}${f(v)}`).join(style.comma)}}`;
  }
}

const GO_STRING: TermStyle = { quote: (s) => goQuote(s), comma: ', ', colon: ': ', sort: true };
const LITERAL: TermStyle = { quote: (s) => JSON.stringify(s), comma: ',', colon: ':', sort: false };

/** The text OPA's Go `Term.String()` gives: sorted sets and object keys, `", "` separators, strings quoted like Go. */
export function regoString(t: RegoTerm): string {
  return formatTerm(t, GO_STRING);
}

/** Go's strconv.Quote: printable runes as they are, the usual C escapes, \x / \u / \U for the rest. */
export function goQuote(s: string, ascii = false): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += '\\' + ch;
    else if (isGoPrint(cp) && (!ascii || cp < 0x80)) out += ch;
    else out += goEscape(cp);
  }
  return out + '"';
}

export function goEscape(cp: number): string {
  switch (cp) {
    case 0x07:
      return '\\a';
    case 0x08:
      return '\\b';
    case 0x0c:
      return '\\f';
    case 0x0a:
      return '\\n';
    case 0x0d:
      return '\\r';
    case 0x09:
      return '\\t';
    case 0x0b:
      return '\\v';
  }
  if (cp < 0x20 || cp === 0x7f) return '\\x' + cp.toString(16).padStart(2, '0');
  if (cp >= 0xd800 && cp <= 0xdfff) return '\\ufffd';
  if (cp < 0x10000) return '\\u' + cp.toString(16).padStart(4, '0');
  return '\\U' + cp.toString(16).padStart(8, '0');
}

// Approximates unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space.
const printable = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;
function isGoPrint(cp: number): boolean {
  if (cp >= 0x20 && cp < 0x7f) return true;
  if (cp < 0xa1) return false;
  return printable.test(String.fromCodePoint(cp));
}

/** A Rego value as plain JS, sets as arrays; integers beyond 2^53 as bigint so nanosecond times stay exact. */
export function termToJs(t: RegoTerm): unknown {
  switch (t.k) {
    case 'null':
      return null;
    case 'bool':
    case 'str':
      return t.v;
    case 'num': {
      const n = Number(t.lit);
      return /^-?\d+$/.test(t.lit) && !Number.isSafeInteger(n) ? BigInt(t.lit) : n;
    }
    case 'arr':
    case 'set':
      return t.items.map(termToJs);
    case 'obj':
      return Object.fromEntries(t.entries.map(([k, v]) => [k.k === 'str' ? k.v : regoString(k), termToJs(v)]));
  }
}

/** A Rego value as text opa_value_parse reads back (JSON plus sets and non-string keys), for builtins returning terms. */
export function regoLiteral(t: RegoTerm): string {
  return formatTerm(t, LITERAL);
}

/** Plain JS (what JSON gives) as a Rego value. */
export function jsToTerm(v: unknown): RegoTerm {
  if (v === null || v === undefined) return { k: 'null' };
  if (typeof v === 'boolean') return { k: 'bool', v };
  if (typeof v === 'number' || typeof v === 'bigint') return { k: 'num', lit: String(v) };
  if (typeof v === 'string') return { k: 'str', v };
  if (Array.isArray(v)) return { k: 'arr', items: v.map(jsToTerm) };
  return { k: 'obj', entries: Object.entries(v as Record<string, unknown>).map(([k, x]) => [{ k: 'str', v: k }, jsToTerm(x)]) };
}

export const regoEqual = (a: RegoTerm, b: RegoTerm): boolean => compareRego(a, b) === 0;

/** The value at key in an object term. */
export function objectGet(o: Extract<RegoTerm, { k: 'obj' }>, key: RegoTerm): RegoTerm | undefined {
  return o.entries.find(([k]) => regoEqual(k, key))?.[1];
}

export const regoTypeName = (t: RegoTerm): string =>
  ({ null: 'null', bool: 'boolean', num: 'number', str: 'string', arr: 'array', obj: 'object', set: 'set' })[t.k];
