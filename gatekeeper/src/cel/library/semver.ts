// Kubernetes' semver library (k8s.io/apiserver/pkg/cel/library/semverlib.go): strict SemVer 2.0.0 as blang/semver
// parses it, or normalised (`semver(s, true)`: no "v", missing minor/patch filled, leading zeros dropped); precedence
// through the Rego semver builtins' comparison.
import { celFunc, celMethod, CelScalar, type CelFunc } from '@bufbuild/cel';
import { compareVersions, parse, type Version } from '../../builtins/semver.js';
import { opaqueType } from './opaque.js';

const { STRING, BOOL, INT } = CelScalar;
const S = opaqueType('kubernetes.Semver');

function strict(s: string): Version {
  if (s.split('.').length < 3) throw new Error('No Major.Minor.Patch elements found');
  const v = s.startsWith('v') ? undefined : parse(s);
  if (!v) throw new Error(`Invalid semantic version ${JSON.stringify(s)}`);
  return v;
}

/** normalizeAndParse of semverlib.go. */
function normalized(s: string): Version {
  const parts = s.replace(/^v/, '').split('.');
  const [major, minor, rest] = [parts[0]!, parts[1], parts.length > 2 ? parts.slice(2).join('.') : undefined];
  const fixed = [major, minor, rest].filter((p): p is string => p !== undefined).map((p) => {
    if (p.length <= 1) return p;
    const trimmed = p.replace(/^0+/, '');
    return trimmed === '' || !/^\d/.test(trimmed) ? `0${trimmed}` : trimmed;
  });
  if (fixed.length < 3) {
    if (/[+-]/.test(fixed[fixed.length - 1]!)) throw new Error('short version cannot contain PreRelease/Build meta data');
    while (fixed.length < 3) fixed.push('0');
  }
  return strict(fixed.join('.'));
}

const wrap = (v: Version) => S.wrap(`${v.core.join('.')}${v.pre.length ? `-${v.pre.join('.')}` : ''}`);
const unwrap = (x: unknown): Version => parse(S.unwrap(x))!;
const valid = (f: () => unknown) => {
  try {
    f();
    return true;
  } catch {
    return false;
  }
};

export const semverFuncs: CelFunc[] = [
  celFunc('semver', [STRING], S.type, (s: string) => wrap(strict(s))),
  celFunc('semver', [STRING, BOOL], S.type, (s: string, normalize: boolean) => wrap(normalize ? normalized(s) : strict(s))),
  celFunc('isSemver', [STRING], BOOL, (s: string) => valid(() => strict(s))),
  celFunc('isSemver', [STRING, BOOL], BOOL, (s: string, normalize: boolean) => valid(() => (normalize ? normalized(s) : strict(s)))),
  celMethod('isGreaterThan', S.type, [S.type], BOOL, function (this: unknown, o: unknown) {
    return compareVersions(unwrap(this), unwrap(o)) === 1;
  }),
  celMethod('isLessThan', S.type, [S.type], BOOL, function (this: unknown, o: unknown) {
    return compareVersions(unwrap(this), unwrap(o)) === -1;
  }),
  celMethod('compareTo', S.type, [S.type], INT, function (this: unknown, o: unknown) {
    return BigInt(compareVersions(unwrap(this), unwrap(o)));
  }),
  celMethod('major', S.type, [], INT, function (this: unknown) {
    return unwrap(this).core[0];
  }),
  celMethod('minor', S.type, [], INT, function (this: unknown) {
    return unwrap(this).core[1];
  }),
  celMethod('patch', S.type, [], INT, function (this: unknown) {
    return unwrap(this).core[2];
  }),
];
