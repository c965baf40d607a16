// Go's strconv float formatting for fmt's %e, %f and %g (and %v): exact decimal expansion of the double, rounded
// half to even as Go rounds, shortest digits for %v.

/** The exact decimal expansion of a finite double |v| > 0: digits (no leading zeros) and decimal point position. */
function exactDecimal(v: number): { digits: string; dp: number } {
  const buf = new DataView(new ArrayBuffer(8));
  buf.setFloat64(0, v);
  const bits = buf.getBigUint64(0);
  const biased = Number((bits >> 52n) & 0x7ffn);
  let mant = bits & ((1n << 52n) - 1n);
  let exp = biased - 1075;
  if (biased === 0) exp = -1074;
  else mant |= 1n << 52n;
  if (exp >= 0) {
    const d = (mant << BigInt(exp)).toString();
    return { digits: d, dp: d.length };
  }
  const d = (mant * 5n ** BigInt(-exp)).toString();
  return { digits: d, dp: d.length + exp };
}

/** Rounds a digit string to n digits, half to even (Go's strconv rounds the exact value that way). */
function roundDigits(digits: string, dp: number, n: number): { digits: string; dp: number } {
  if (n >= digits.length) return { digits: digits.padEnd(n, '0'), dp };
  if (n < 0) return { digits: '', dp };
  const kept = digits.slice(0, n);
  const first = digits.charCodeAt(n) - 48;
  const rest = digits.slice(n + 1);
  const last = n > 0 ? kept.charCodeAt(n - 1) - 48 : 0;
  const up = first > 5 || (first === 5 && (/[1-9]/.test(rest) || last % 2 === 1));
  if (!up) return { digits: kept, dp };
  if (n === 0) return { digits: '1', dp: dp + 1 };
  const bumped = (BigInt(kept) + 1n).toString().padStart(n, '0');
  return bumped.length > n ? { digits: bumped.slice(0, n), dp: dp + 1 } : { digits: bumped, dp };
}

/** Decimal digits and the decimal point position of |v|: shortest (prec undefined) or prec significant digits. */
function decimalDigits(v: number, prec?: number): { digits: string; dp: number } {
  if (v === 0) return { digits: prec ? '0'.repeat(prec) : '0', dp: 1 };
  if (prec === undefined) {
    // JS and Go both print the shortest digits that read back as the same double
    const [mant, exp] = v.toExponential().split('e') as [string, string];
    return { digits: mant.replace('.', ''), dp: Number(exp) + 1 };
  }
  const exact = exactDecimal(v);
  return roundDigits(exact.digits, exact.dp, Math.max(prec, 1));
}

function expSuffix(exp: number): string {
  const a = Math.abs(exp);
  return (exp < 0 ? 'e-' : 'e+') + (a < 10 ? '0' + a : String(a));
}

export function formatE(v: number, prec: number): string {
  const { digits, dp } = decimalDigits(v, prec + 1);
  const mant = prec > 0 ? digits[0] + '.' + digits.slice(1) : digits[0]!;
  return mant + expSuffix(v === 0 ? 0 : dp - 1);
}

export function formatF(v: number, prec: number): string {
  if (v === 0) return prec > 0 ? '0.' + '0'.repeat(prec) : '0';
  const exact = exactDecimal(v);
  const r = roundDigits(exact.digits, exact.dp, exact.dp + prec);
  let digits = r.digits;
  let dp = r.dp;
  if (dp <= 0) {
    digits = '0'.repeat(1 - dp) + digits;
    dp = 1;
  }
  digits = digits.padEnd(dp + prec, '0');
  const int = digits.slice(0, dp) || '0';
  return prec > 0 ? `${int}.${digits.slice(dp, dp + prec)}` : int;
}

/** Go's %g / %v: shortest representation (or prec significant digits), %e form when exp < -4 || exp >= eprec. */
export function formatG(v: number, prec: number | undefined, sharp: boolean): string {
  const shortest = prec === undefined;
  const p = prec === 0 ? 1 : prec;
  const { digits: rawDigits, dp } = decimalDigits(v, p);
  // %g drops trailing zeros unless '#'
  let digits = sharp ? rawDigits : rawDigits.replace(/0+$/, '') || '0';
  let eprec = shortest ? digits.length : p!;
  if (eprec > digits.length && digits.length >= dp) eprec = digits.length;
  if (shortest) eprec = 6;
  const exp = v === 0 ? 0 : dp - 1;
  if (sharp && !shortest && digits.length < p!) digits = digits.padEnd(p!, '0');
  if (exp < -4 || exp >= eprec) {
    const mant = digits.length > 1 ? digits[0] + '.' + digits.slice(1) : digits + (sharp ? '.' : '');
    return mant + expSuffix(exp);
  }
  if (dp <= 0) return '0.' + '0'.repeat(-dp) + digits;
  if (dp >= digits.length) return digits + '0'.repeat(dp - digits.length) + (sharp ? '.' : '');
  return digits.slice(0, dp) + '.' + digits.slice(dp);
}
