// semver.is_valid and semver.compare, SemVer 2.0.0 as OPA's internal/semver parses it (a leading "v" is accepted, as OPA does).
import { BuiltinError, type BuiltinTable } from './types.js';
import { str } from './strings.js';

const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

export interface Version {
  core: [bigint, bigint, bigint];
  pre: string[];
}

/** A SemVer 2.0.0 version (a leading "v" accepted, as OPA does), or undefined. */
export function parse(s: string): Version | undefined {
  const m = SEMVER.exec(s.startsWith('v') ? s.slice(1) : s);
  if (!m) return undefined;
  return { core: [BigInt(m[1]!), BigInt(m[2]!), BigInt(m[3]!)], pre: m[4] ? m[4].split('.') : [] };
}

function comparePre(a: string[], b: string[]): number {
  if (!a.length || !b.length) return a.length ? -1 : b.length ? 1 : 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i]!;
    const y = b[i]!;
    const xn = /^\d+$/.test(x);
    const yn = /^\d+$/.test(y);
    if (xn && yn) {
      const d = BigInt(x) - BigInt(y);
      if (d) return d < 0n ? -1 : 1;
    } else if (xn !== yn) return xn ? -1 : 1;
    else if (x !== y) return x < y ? -1 : 1;
  }
  return Math.sign(a.length - b.length);
}

export const semverBuiltins: BuiltinTable = {
  'semver.is_valid': (v) => typeof v === 'string' && parse(v) !== undefined,
  'semver.compare': (a, b) => {
    const x = parse(str('semver.compare', 1, a));
    if (!x) throw new BuiltinError('semver.compare', `operand 1: string ${JSON.stringify(a)} is not a valid SemVer`);
    const y = parse(str('semver.compare', 2, b));
    if (!y) throw new BuiltinError('semver.compare', `operand 2: string ${JSON.stringify(b)} is not a valid SemVer`);
    return compareVersions(x, y);
  },
};

/** SemVer precedence: -1, 0 or 1 (build metadata ignored). */
export function compareVersions(x: Version, y: Version): number {
  for (let i = 0; i < 3; i++) {
    if (x.core[i] !== y.core[i]) return x.core[i]! < y.core[i]! ? -1 : 1;
  }
  return comparePre(x.pre, y.pre);
}
