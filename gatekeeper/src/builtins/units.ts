// units.parse_bytes and units.parse with OPA's rules (topdown/parse_bytes.go, topdown/parse_units.go): amounts in
// decimal or scientific notation; parse_bytes computes with Go's big.Float at its default 64-bit precision, parse
// with exact rationals printed to 10 decimals when not whole.
import type { BuiltinTable } from './types.js';
import { str } from './strings.js';

const K = 1000n;
const KI = 1024n;
const byteUnits: Record<string, bigint> = {
  '': 1n,
  k: K, kb: K, ki: KI, kib: KI,
  m: K ** 2n, mb: K ** 2n, mi: KI ** 2n, mib: KI ** 2n,
  g: K ** 3n, gb: K ** 3n, gi: KI ** 3n, gib: KI ** 3n,
  t: K ** 4n, tb: K ** 4n, ti: KI ** 4n, tib: KI ** 4n,
  p: K ** 5n, pb: K ** 5n, pi: KI ** 5n, pib: KI ** 5n,
  e: K ** 6n, eb: K ** 6n, ei: KI ** 6n, eib: KI ** 6n,
};

// units.parse distinguishes m (milli) from M (mega); the multiplier is a fraction num/den.
const siUnits: Record<string, [bigint, bigint]> = {
  '': [1n, 1n], m: [1n, 1000n],
  k: [K, 1n], K: [K, 1n], ki: [KI, 1n], Ki: [KI, 1n],
  M: [K ** 2n, 1n], mi: [KI ** 2n, 1n], Mi: [KI ** 2n, 1n],
  g: [K ** 3n, 1n], G: [K ** 3n, 1n], gi: [KI ** 3n, 1n], Gi: [KI ** 3n, 1n],
  t: [K ** 4n, 1n], T: [K ** 4n, 1n], ti: [KI ** 4n, 1n], Ti: [KI ** 4n, 1n],
  p: [K ** 5n, 1n], P: [K ** 5n, 1n], pi: [KI ** 5n, 1n], Pi: [KI ** 5n, 1n],
  e: [K ** 6n, 1n], E: [K ** 6n, 1n], ei: [KI ** 6n, 1n], Ei: [KI ** 6n, 1n],
};

const MAX_EXPONENT_DIGITS = 6;

/** Go's units errors carry the builtin's name, and OPA names the builtin again: "units.parse: units.parse: …". */
const unitsError = (name: string, message: string) => new Error(`${name}: ${message}`);
const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';

/**
 * Go's extractNumAndUnit: the number runs while characters are digits, '.', signs or an exponent marker followed by
 * a digit or sign; the rest is the unit. undefined when an exponent has more than 6 digits.
 */
function splitAmount(s: string): [string, string] | undefined {
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (isDigit(c) || c === '.' || c === '+' || c === '-') continue;
    if (c !== 'e' && c !== 'E') return [s.slice(0, i), s.slice(i)];
    const next = s[i + 1];
    if (!isDigit(next) && next !== '+' && next !== '-') return [s.slice(0, i), s.slice(i)];
    if (next === '+' || next === '-') i++;
    let end = i + 1;
    while (isDigit(s[end])) end++;
    if (end - (i + 1) > MAX_EXPONENT_DIGITS) return undefined;
  }
  return [s, ''];
}

/** A decimal amount (sign, digits, fraction, exponent: what big.Rat and big.Float read) as an exact fraction. */
function rational(name: string, message: string, num: string): [bigint, bigint] {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(num);
  if (!m || (m[2] === '' && !m[3])) throw unitsError(name, message);
  const frac = m[3] ?? '';
  let n = BigInt((m[2] || '0') + frac) * (m[1] === '-' ? -1n : 1n);
  let d = 10n ** BigInt(frac.length);
  const exp = Number(m[4] ?? 0);
  if (exp > 0) n *= 10n ** BigInt(exp);
  else d *= 10n ** BigInt(-exp);
  return [n, d];
}

/** n/d rounded to a binary float of `bits` mantissa bits (to nearest, ties to even), as big.Float does: [n, d]. */
function roundToFloat(n: bigint, d: bigint, bits: number): [bigint, bigint] {
  if (n === 0n) return [0n, 1n];
  const neg = n < 0n;
  const a = neg ? -n : n;
  // scale so that the quotient has exactly `bits` bits before rounding
  let shift = BigInt(bits) - BigInt(a.toString(2).length - d.toString(2).length);
  const scaled = () => (shift >= 0n ? [a << shift, d] : [a, d << -shift]) as [bigint, bigint];
  let [x, y] = scaled();
  if (x / y >= 1n << BigInt(bits)) {
    shift--;
    [x, y] = scaled();
  } else if (x / y < 1n << BigInt(bits - 1)) {
    shift++;
    [x, y] = scaled();
  }
  let q = x / y;
  const r2 = (x % y) * 2n;
  if (r2 > y || (r2 === y && q % 2n === 1n)) q++;
  const signed = neg ? -q : q;
  return shift >= 0n ? [signed, 1n << shift] : [signed << -shift, 1n];
}

/** big.Rat's FloatString(10): the value rounded (half away from zero) to 10 decimals. */
function floatString10(n: bigint, d: bigint): string {
  const neg = n < 0n;
  const a = neg ? -n : n;
  const scale = 10n ** 10n;
  let q = (a * scale) / d;
  if (((a * scale) % d) * 2n >= d) q++;
  const digits = q.toString().padStart(11, '0');
  return `${neg ? '-' : ''}${digits.slice(0, -10)}.${digits.slice(-10)}`;
}

/** A JSON number's text as the value a builtin returns: exact as bigint when whole, else a double. */
const numberFrom = (text: string): bigint | number => (/^-?\d+$/.test(text) ? BigInt(text) : Number(text));

export const unitBuiltins: BuiltinTable = {
  'units.parse_bytes': (x) => {
    const name = 'units.parse_bytes';
    const s = str(name, 1, x).toLowerCase().replaceAll('"', '');
    if (s.includes(' ')) throw unitsError(name, 'spaces not allowed in resource strings');
    const parts = splitAmount(s);
    if (!parts) throw unitsError(name, 'exponent too large');
    const [num, unit] = parts;
    if (num === '') throw unitsError(name, 'no byte amount provided');
    const mult = byteUnits[unit];
    if (mult === undefined) throw unitsError(name, `byte unit ${unit} not recognized`);
    const [n, d] = roundToFloat(...rational(name, 'could not parse byte amount to a number', num), 64);
    const [pn, pd] = roundToFloat(n * mult, d, 64);
    return pn / pd; // big.Float.Int truncates toward zero
  },
  'units.parse': (x) => {
    const name = 'units.parse';
    const s = str(name, 1, x).replaceAll('"', '');
    if (s.includes(' ')) throw unitsError(name, 'spaces not allowed in resource strings');
    const parts = splitAmount(s);
    if (!parts) throw unitsError(name, 'exponent too large');
    let [num, unit] = parts;
    if (num === '') throw unitsError(name, 'no amount provided');
    if (unit.length > 1) unit = unit[0] + unit.slice(1).toLowerCase();
    const mult = siUnits[unit];
    if (mult === undefined) throw unitsError(name, `unit ${unit} not recognized`);
    const [n, d] = rational(name, 'could not parse amount to a number', num);
    const top = n * mult[0];
    const bottom = d * mult[1];
    return top % bottom === 0n ? top / bottom : numberFrom(floatString10(top, bottom));
  },
};
