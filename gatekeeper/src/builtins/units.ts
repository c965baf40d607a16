// units.parse_bytes and units.parse with OPA's rules (topdown/parse_bytes.go, topdown/parse_units.go).
import { BuiltinError, type BuiltinTable } from './types.js';
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

function split(s: string): [string, string] {
  const i = s.search(/[^0-9.]/);
  return i < 0 ? [s, ''] : [s.slice(0, i), s.slice(i)];
}

/** A decimal string as an exact fraction. */
function rational(name: string, num: string): [bigint, bigint] {
  const m = /^(\d*)(?:\.(\d*))?$/.exec(num);
  if (!m || (m[1] === '' && !m[2])) throw new BuiltinError(name, 'could not parse amount to a number');
  const frac = m[2] ?? '';
  return [BigInt((m[1] || '0') + frac), 10n ** BigInt(frac.length)];
}

export const unitBuiltins: BuiltinTable = {
  'units.parse_bytes': (x) => {
    const name = 'units.parse_bytes';
    const s = str(name, 1, x).toLowerCase().replaceAll('"', '');
    if (s.includes(' ')) throw new BuiltinError(name, 'spaces not allowed in resource strings');
    const [num, unit] = split(s);
    if (num === '') throw new BuiltinError(name, 'no byte amount provided');
    const mult = byteUnits[unit];
    if (mult === undefined) throw new BuiltinError(name, `byte unit ${unit} not recognized`);
    const [n, d] = rational(name, num);
    return (n * mult) / d; // truncated toward zero, as big.Float.Int does
  },
  'units.parse': (x) => {
    const name = 'units.parse';
    const s = str(name, 1, x).replaceAll('"', '');
    if (s.includes(' ')) throw new BuiltinError(name, 'spaces not allowed in resource strings');
    let [num, unit] = split(s);
    if (num === '') throw new BuiltinError(name, 'no amount provided');
    if (unit.length > 1) unit = unit[0] + unit.slice(1).toLowerCase();
    const mult = siUnits[unit];
    if (mult === undefined) throw new BuiltinError(name, `unit ${unit} not recognized`);
    const [n, d] = rational(name, num);
    const top = n * mult[0];
    const bottom = d * mult[1];
    if (top % bottom === 0n) return top / bottom;
    return Number(top) / Number(bottom);
  },
};
