// Rego's sprintf as OPA (and so Gatekeeper) runs it: each argument becomes a Go value — an integer number an int64
// (or *big.Int), another number a float64, a string a string, and any other value the string of its Rego term
// (`["a", "b"]`, `{"k": 1}`, `{1, 2}`, `null`, `true`) — and the format goes through Go's fmt.Sprintf. This file is
// that subset of Go's fmt: verbs, flags, width, precision, explicit argument indexes and Go's error notations
// (`%!d(string=x)`, `%!s(MISSING)`, `%!(EXTRA ...)`).
import { formatE, formatF, formatG } from './go-float.js';
import { goEscape, goQuote, regoString, type RegoTerm } from './rego-value.js';

/** A Go operand; a string may be of a named string type (json.Number), which Go's error notations name. */
export type GoValue = { t: 'int64'; v: bigint } | { t: 'bigint'; v: bigint } | { t: 'float64'; v: number } | { t: 'string'; v: string; type?: string } | { t: 'bool'; v: boolean };

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

export function toGoValue(term: RegoTerm): GoValue {
  if (term.k === 'str') return { t: 'string', v: term.v };
  if (term.k === 'num') {
    if (/^-?\d+$/.test(term.lit)) {
      const n = BigInt(term.lit);
      return n >= INT64_MIN && n <= INT64_MAX ? { t: 'int64', v: n } : { t: 'bigint', v: n };
    }
    // a number beyond float64 (2e308) reaches Go's Sprintf as its literal text
    const f = Number(term.lit);
    return Number.isFinite(f) ? { t: 'float64', v: f } : { t: 'string', v: term.lit };
  }
  return { t: 'string', v: regoString(term) };
}

export function regoSprintf(format: string, args: RegoTerm[]): string {
  return goSprintf(format, args.map(toGoValue));
}

interface Spec {
  plus: boolean;
  minus: boolean;
  sharp: boolean;
  space: boolean;
  zero: boolean;
  width?: number;
  prec?: number;
}

export function goSprintf(format: string, args: GoValue[]): string {
  let out = '';
  let argNum = 0;
  let reordered = false;
  let i = 0;
  const end = format.length;
  while (i < end) {
    const pct = format.indexOf('%', i);
    if (pct < 0) {
      out += format.slice(i);
      break;
    }
    out += format.slice(i, pct);
    i = pct + 1;
    const spec: Spec = { plus: false, minus: false, sharp: false, space: false, zero: false };
    flags: for (; i < end; i++) {
      switch (format[i]) {
        case '#':
          spec.sharp = true;
          break;
        case '0':
          spec.zero = !spec.minus;
          break;
        case '+':
          spec.plus = true;
          break;
        case '-':
          spec.minus = true;
          spec.zero = false;
          break;
        case ' ':
          spec.space = true;
          break;
        default:
          break flags;
      }
    }
    let goodArgNum = true;
    const argIndex = (): void => {
      if (format[i] !== '[') return;
      reordered = true;
      const close = format.indexOf(']', i);
      const n = close < 0 ? NaN : Number(format.slice(i + 1, close));
      if (close < 0 || !/^\d+$/.test(format.slice(i + 1, close)) || n < 1 || n > args.length) {
        goodArgNum = false;
        i = close < 0 ? end : close + 1;
        return;
      }
      argNum = n - 1;
      i = close + 1;
    };
    argIndex();
    let badWidth = false;
    let badPrec = false;
    if (format[i] === '*') {
      i++;
      const w = intArg(args, argNum);
      argNum++;
      if (w === undefined) badWidth = true;
      else {
        spec.width = Math.abs(w);
        if (w < 0) {
          spec.minus = true;
          spec.zero = false;
        }
      }
    } else {
      const m = /^\d+/.exec(format.slice(i));
      if (m) {
        spec.width = Number(m[0]);
        i += m[0].length;
      }
    }
    if (format[i] === '.') {
      i++;
      argIndex();
      if (format[i] === '*') {
        i++;
        const p = intArg(args, argNum);
        argNum++;
        if (p === undefined || p < 0) badPrec = true;
        else spec.prec = p;
      } else {
        const m = /^\d+/.exec(format.slice(i));
        spec.prec = m ? Number(m[0]) : 0;
        if (m) i += m[0].length;
      }
    }
    argIndex();
    if (badWidth) out += '%!(BADWIDTH)';
    if (badPrec) out += '%!(BADPREC)';
    if (i >= end) {
      out += '%!(NOVERB)';
      break;
    }
    const verb = String.fromCodePoint(format.codePointAt(i)!);
    i += verb.length;
    if (verb === '%') {
      out += '%';
      continue;
    }
    if (!goodArgNum) {
      out += `%!${verb}(BADINDEX)`;
      continue;
    }
    if (argNum >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    out += formatArg(args[argNum++]!, verb, spec);
  }
  if (!reordered && argNum < args.length) {
    out += '%!(EXTRA ' + args.slice(argNum).map((a) => `${typeName(a)}=${formatArg(a, 'v', blank())}`).join(', ') + ')';
  }
  return out;
}

const blank = (): Spec => ({ plus: false, minus: false, sharp: false, space: false, zero: false });

function intArg(args: GoValue[], n: number): number | undefined {
  const a = args[n];
  if (!a || a.t !== 'int64' || a.v > 1_000_000n || a.v < -1_000_000n) return undefined;
  return Number(a.v);
}

function typeName(a: GoValue): string {
  if (a.t === 'string') return a.type ?? 'string';
  return a.t === 'bigint' ? '*big.Int' : a.t;
}

/** Go prints the wrong-verb value with %v under the same flags, width and precision. */
function badVerb(a: GoValue, verb: string, spec: Spec): string {
  return `%!${verb}(${typeName(a)}=${formatArg(a, 'v', spec)})`;
}

function formatArg(a: GoValue, verb: string, spec: Spec): string {
  if (verb === 'T') return pad(typeName(a), spec);
  switch (a.t) {
    case 'int64':
    case 'bigint':
      return formatInteger(a, verb, spec);
    case 'float64':
      return formatFloat(a, verb, spec);
    case 'string':
      return formatString(a, verb, spec);
    case 'bool':
      return verb === 'v' || verb === 't' ? pad(String(a.v), spec, false) : badVerb(a, verb, spec);
  }
}

function pad(s: string, spec: Spec, zeroAllowed = true): string {
  const width = spec.width ?? 0;
  const len = [...s].length;
  if (len >= width) return s;
  const fill = (spec.zero && zeroAllowed ? '0' : ' ').repeat(width - len);
  return spec.minus ? s + ' '.repeat(width - len) : fill + s;
}

/** Pads a signed number, zeros going after the sign. */
function padNumber(sign: string, body: string, spec: Spec): string {
  const width = spec.width ?? 0;
  if (spec.zero && !spec.minus && width > sign.length + body.length) {
    return sign + '0'.repeat(width - sign.length - body.length) + body;
  }
  return pad(sign + body, { ...spec, zero: false });
}

function formatString(a: { t: 'string'; v: string }, verb: string, spec: Spec): string {
  let s = a.v;
  switch (verb) {
    case 'v':
      if (spec.sharp) return pad(goQuote(s), spec);
      if (spec.prec !== undefined) s = [...s].slice(0, spec.prec).join('');
      return pad(s, spec);
    case 's':
      if (spec.prec !== undefined) s = [...s].slice(0, spec.prec).join('');
      return pad(s, spec);
    case 'q':
      if (spec.prec !== undefined) s = [...s].slice(0, spec.prec).join('');
      if (spec.sharp && !/[`\x00-\x08\x0a-\x1f\x7f\ufeff]/.test(s)) return pad('`' + s + '`', spec);
      return pad(goQuote(s, spec.plus), spec);
    case 'x':
    case 'X': {
      let bytes = Buffer.from(s, 'utf8');
      if (spec.prec !== undefined) bytes = bytes.subarray(0, spec.prec);
      const hex = [...bytes].map((b) => b.toString(16).padStart(2, '0'));
      const digits = verb === 'X' ? hex.map((h) => h.toUpperCase()) : hex;
      const prefix = spec.sharp ? (verb === 'X' ? '0X' : '0x') : '';
      const body = spec.space ? digits.map((d) => prefix + d).join(' ') : prefix + digits.join('');
      return pad(body, spec);
    }
    default:
      return badVerb(a, verb, spec);
  }
}

function formatInteger(a: { t: 'int64' | 'bigint'; v: bigint }, verb: string, spec: Spec): string {
  const neg = a.v < 0n;
  const abs = neg ? -a.v : a.v;
  let digits: string;
  let prefix = '';
  switch (verb) {
    case 'v':
    case 'd':
      digits = abs.toString(10);
      break;
    case 's':
      if (a.t !== 'bigint') return badVerb(a, verb, spec);
      digits = abs.toString(10);
      break;
    case 'b':
      digits = abs.toString(2);
      if (spec.sharp) prefix = '0b';
      break;
    case 'o':
    case 'O':
      digits = abs.toString(8);
      if (verb === 'O') prefix = '0o';
      else if (spec.sharp && a.t === 'int64') prefix = '0';
      break;
    case 'x':
      digits = abs.toString(16);
      if (spec.sharp) prefix = '0x';
      break;
    case 'X':
      digits = abs.toString(16).toUpperCase();
      if (spec.sharp) prefix = '0X';
      break;
    case 'c':
      if (a.t === 'bigint') return badVerb(a, verb, spec);
      return pad(runeOf(a.v), spec);
    case 'q':
      if (a.t === 'bigint') return badVerb(a, verb, spec);
      return pad(quoteRune(a.v, spec.plus), spec);
    case 'U': {
      if (a.t === 'bigint') return badVerb(a, verb, spec);
      let s = 'U+' + abs.toString(16).toUpperCase().padStart(Math.max(4, spec.prec ?? 0), '0');
      if (neg) s = '-' + s;
      if (spec.sharp && a.v >= 0n && a.v <= 0x10ffffn) s += ` '${runeOf(a.v)}'`;
      return pad(s, { ...spec, zero: false });
    }
    default:
      return badVerb(a, verb, spec);
  }
  if (spec.prec !== undefined) {
    if (spec.prec === 0 && abs === 0n) digits = '';
    else digits = digits.padStart(spec.prec, '0');
    spec = { ...spec, zero: false };
  }
  const sign = neg ? '-' : spec.plus ? '+' : spec.space ? ' ' : '';
  return padNumber(sign + prefix, digits, spec);
}

function runeOf(v: bigint): string {
  const n = Number(v);
  if (n < 0 || n > 0x10ffff || (n >= 0xd800 && n <= 0xdfff)) return '\ufffd';
  return String.fromCodePoint(n);
}

function quoteRune(v: bigint, ascii: boolean): string {
  const ch = runeOf(v);
  if (ch === "'") return "'\\''";
  const q = goQuote(ch, ascii);
  if (ch === '"') return `'"'`;
  return `'${q.slice(1, -1)}'`;
}

function formatFloat(a: { t: 'float64'; v: number }, verb: string, spec: Spec): string {
  const v = a.v;
  let body: string;
  switch (verb) {
    case 'v':
    case 'g':
    case 'G':
      body = formatG(Math.abs(v), spec.prec, spec.sharp);
      if (verb === 'G') body = body.toUpperCase();
      break;
    case 'e':
    case 'E':
      body = formatE(Math.abs(v), spec.prec ?? 6);
      if (verb === 'E') body = body.toUpperCase();
      break;
    case 'f':
    case 'F':
      body = formatF(Math.abs(v), spec.prec ?? 6);
      break;
    default:
      return badVerb(a, verb, spec);
  }
  if (!Number.isFinite(v)) {
    const s = Number.isNaN(v) ? 'NaN' : (v < 0 ? '-' : spec.plus ? '+' : '') + 'Inf';
    return pad(s, { ...spec, zero: false });
  }
  const neg = v < 0 || Object.is(v, -0);
  const sign = neg ? '-' : spec.plus ? '+' : spec.space ? ' ' : '';
  return padNumber(sign, body, spec);
}

export { goEscape };
