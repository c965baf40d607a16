// Kubernetes' quantity library (k8s.io/apiserver/pkg/cel/library/quantity.go) on an exact decimal value:
// resource.ParseQuantity's grammar and errors, comparisons, add/sub, asInteger (int64 only), asApproximateFloat, sign.
import { celFunc, celMethod, CelScalar, type CelFunc } from '@bufbuild/cel';
import { opaqueType } from './opaque.js';

const { STRING, BOOL, INT, DOUBLE } = CelScalar;
const Q = opaqueType('kubernetes.Quantity');

/** m × 10^e, exact. */
interface Dec {
  m: bigint;
  e: number;
}

const FORMAT_ERROR = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
const SUFFIX_ERROR = "unable to parse quantity's suffix";
const NUMERIC_ERROR = "unable to parse quantity's numeric part";
const DECIMAL: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const BINARY: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);

/** resource.ParseQuantity: sign, digits, optional fraction, then a suffix (SI, binary SI or an exponent). */
export function parseQuantity(str: string): Dec {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?(.*)$/s.exec(str);
  if (!str || !m) throw new Error(FORMAT_ERROR);
  const [, sign, whole, frac = '', suffix] = m as unknown as [string, string, string, string | undefined, string];
  if (!/^[eEinumkKMGTP]*[-+]?\d*$/.test(suffix)) throw new Error(FORMAT_ERROR);
  if (!whole && !frac) throw new Error(NUMERIC_ERROR);
  let scale: number;
  let multiplier = 1n;
  if (suffix in DECIMAL) scale = DECIMAL[suffix]!;
  else if (suffix in BINARY) {
    scale = 0;
    multiplier = 1n << BigInt(BINARY[suffix]!);
  } else if (/^[eE][-+]?\d+$/.test(suffix)) scale = Number(suffix.slice(1));
  else throw new Error(SUFFIX_ERROR);
  let value: Dec = { m: BigInt(whole + frac || '0') * multiplier * (sign === '-' ? -1n : 1n), e: scale - frac.length };
  // Kubernetes keeps nano precision: anything finer rounds up (away from zero).
  if (value.e < -9) {
    const div = 10n ** BigInt(-9 - value.e);
    const q = value.m / div;
    value = { m: q * div === value.m ? q : q + (value.m < 0n ? -1n : 1n), e: -9 };
  }
  return normalize(value);
}

function normalize(d: Dec): Dec {
  if (d.m === 0n) return { m: 0n, e: 0 };
  let { m, e } = d;
  while (m % 10n === 0n) {
    m /= 10n;
    e++;
  }
  return { m, e };
}

const align = (a: Dec, b: Dec): [bigint, bigint, number] => {
  const e = Math.min(a.e, b.e);
  return [a.m * 10n ** BigInt(a.e - e), b.m * 10n ** BigInt(b.e - e), e];
};
const cmp = (a: Dec, b: Dec): bigint => {
  const [x, y] = align(a, b);
  return x < y ? -1n : x > y ? 1n : 0n;
};
const add = (a: Dec, b: Dec): Dec => {
  const [x, y, e] = align(a, b);
  return normalize({ m: x + y, e });
};
const negate = (d: Dec): Dec => ({ m: -d.m, e: d.e });
const asInt = (d: Dec): bigint | undefined => {
  if (d.e < 0) return undefined;
  const v = d.m * 10n ** BigInt(d.e);
  return v >= INT64_MIN && v <= INT64_MAX ? v : undefined;
};

const wrap = (d: Dec) => Q.wrap(`${d.m}e${d.e}`);
function unwrap(v: unknown): Dec {
  const [m, e] = Q.unwrap(v).split('e');
  return { m: BigInt(m!), e: Number(e) };
}

export const quantityFuncs: CelFunc[] = [
  celFunc('quantity', [STRING], Q.type, (s: string) => wrap(parseQuantity(s))),
  celFunc('isQuantity', [STRING], BOOL, (s: string) => {
    try {
      parseQuantity(s);
      return true;
    } catch {
      return false;
    }
  }),
  celFunc('sign', [Q.type], INT, (q: unknown) => cmp(unwrap(q), { m: 0n, e: 0 })),
  celMethod('isGreaterThan', Q.type, [Q.type], BOOL, function (this: unknown, o: unknown) {
    return cmp(unwrap(this), unwrap(o)) === 1n;
  }),
  celMethod('isLessThan', Q.type, [Q.type], BOOL, function (this: unknown, o: unknown) {
    return cmp(unwrap(this), unwrap(o)) === -1n;
  }),
  celMethod('compareTo', Q.type, [Q.type], INT, function (this: unknown, o: unknown) {
    return cmp(unwrap(this), unwrap(o));
  }),
  celMethod('asApproximateFloat', Q.type, [], DOUBLE, function (this: unknown) {
    const d = unwrap(this);
    return Number(`${d.m}e${d.e}`);
  }),
  celMethod('asInteger', Q.type, [], INT, function (this: unknown) {
    const v = asInt(unwrap(this));
    if (v === undefined) throw new Error('cannot convert value to integer');
    return v;
  }),
  celMethod('isInteger', Q.type, [], BOOL, function (this: unknown) {
    return asInt(unwrap(this)) !== undefined;
  }),
  celMethod('add', Q.type, [Q.type], Q.type, function (this: unknown, o: unknown) {
    return wrap(add(unwrap(this), unwrap(o)));
  }),
  celMethod('add', Q.type, [INT], Q.type, function (this: unknown, n: bigint) {
    return wrap(add(unwrap(this), { m: n, e: 0 }));
  }),
  celMethod('sub', Q.type, [Q.type], Q.type, function (this: unknown, o: unknown) {
    return wrap(add(unwrap(this), negate(unwrap(o))));
  }),
  celMethod('sub', Q.type, [INT], Q.type, function (this: unknown, n: bigint) {
    return wrap(add(unwrap(this), { m: -n, e: 0 }));
  }),
];
