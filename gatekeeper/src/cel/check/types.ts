// CEL's static types as cel-go's checker sees them (common/types, checker/types.go): assignability with type
// parameters, substitution and the names error messages print. Ported so that what cel-go refuses at compile time
// is refused here with the same words.

export type CheckType =
  | { kind: 'dyn' }
  | { kind: 'error' }
  | { kind: 'null' }
  | { kind: 'prim'; name: 'bool' | 'int' | 'uint' | 'double' | 'string' | 'bytes' }
  | { kind: 'list'; elem: CheckType }
  | { kind: 'map'; key: CheckType; value: CheckType }
  | { kind: 'type'; of?: CheckType }
  | { kind: 'param'; name: string }
  /** timestamp, duration, optional_type(T), kubernetes.Quantity, net.IP, ... */
  | { kind: 'opaque'; name: string; params: CheckType[] }
  /** A declared object type (kubernetes.AdmissionRequest): fields are known, others are an error. */
  | { kind: 'struct'; name: string; fields: ReadonlyMap<string, CheckType> };

export const DYN: CheckType = { kind: 'dyn' };
export const ERROR: CheckType = { kind: 'error' };
export const NULL: CheckType = { kind: 'null' };
export const BOOL: CheckType = { kind: 'prim', name: 'bool' };
export const INT: CheckType = { kind: 'prim', name: 'int' };
export const UINT: CheckType = { kind: 'prim', name: 'uint' };
export const DOUBLE: CheckType = { kind: 'prim', name: 'double' };
export const STRING: CheckType = { kind: 'prim', name: 'string' };
export const BYTES: CheckType = { kind: 'prim', name: 'bytes' };
export const TIMESTAMP: CheckType = { kind: 'opaque', name: 'google.protobuf.Timestamp', params: [] };
export const DURATION: CheckType = { kind: 'opaque', name: 'google.protobuf.Duration', params: [] };
export const listOf = (elem: CheckType): CheckType => ({ kind: 'list', elem });
export const mapOf = (key: CheckType, value: CheckType): CheckType => ({ kind: 'map', key, value });
export const optionalOf = (t: CheckType): CheckType => ({ kind: 'opaque', name: 'optional_type', params: [t] });
export const structOf = (name: string, fields: Record<string, CheckType>): CheckType => ({ kind: 'struct', name, fields: new Map(Object.entries(fields)) });

const isDyn = (t: CheckType) => t.kind === 'dyn';
export const isDynOrError = (t: CheckType) => t.kind === 'dyn' || t.kind === 'error';

function params(t: CheckType): CheckType[] {
  switch (t.kind) {
    case 'list':
      return [t.elem];
    case 'map':
      return [t.key, t.value];
    case 'opaque':
      return t.params;
    case 'type':
      return t.of ? [t.of] : [];
    default:
      return [];
  }
}

/** cel-go's Type.TypeName() of a checked type. */
export function typeName(t: CheckType): string {
  switch (t.kind) {
    case 'prim':
    case 'opaque':
    case 'struct':
    case 'param':
      return t.name;
    case 'null':
      return 'null_type';
    default:
      return t.kind;
  }
}

/** cel-go's FormatCELType. */
export function formatType(t: CheckType): string {
  switch (t.kind) {
    case 'list':
      return `list(${formatType(t.elem)})`;
    case 'map':
      return `map(${formatType(t.key)}, ${formatType(t.value)})`;
    case 'type':
      return t.of ? `type(${formatType(t.of)})` : 'type';
    case 'opaque':
      return t.params.length ? `${t.name}(${t.params.map(formatType).join(', ')})` : t.name;
    case 'error':
      return '*error*';
    case 'null':
      return 'null';
    default:
      return typeName(t);
  }
}

/** cel-go's Type.String(), used in Kubernetes' "must evaluate to … but got …". */
export function typeString(t: CheckType): string {
  return t.kind === 'null' ? 'null_type' : formatType(t);
}

export function isExactType(a: CheckType, b: CheckType): boolean {
  if (a.kind !== b.kind || typeName(a) !== typeName(b)) return false;
  const pa = params(a);
  const pb = params(b);
  return pa.length === pb.length && pa.every((p, i) => isExactType(p, pb[i]!));
}

/** Type-parameter substitutions found while checking one expression. */
export class Mapping {
  constructor(private readonly subs = new Map<string, CheckType>()) {}
  find(t: CheckType): CheckType | undefined {
    return t.kind === 'param' ? this.subs.get(t.name) : undefined;
  }
  add(param: CheckType, t: CheckType): void {
    if (param.kind === 'param') this.subs.set(param.name, t);
  }
  copy(): Mapping {
    return new Mapping(new Map(this.subs));
  }
}

function isEqualOrLessSpecific(t1: CheckType, t2: CheckType): boolean {
  if (isDyn(t1) || t1.kind === 'param') return true;
  if (isDyn(t2) || t2.kind === 'param') return false;
  if (t1.kind !== t2.kind) return false;
  switch (t1.kind) {
    case 'opaque':
    case 'list':
    case 'map': {
      const p1 = params(t1);
      const p2 = params(t2);
      return typeName(t1) === typeName(t2) && p1.length === p2.length && p1.every((p, i) => isEqualOrLessSpecific(p, p2[i]!));
    }
    case 'type':
      return true;
    default:
      return isExactType(t1, t2);
  }
}

export function mostGeneral(t1: CheckType, t2: CheckType): CheckType {
  return isEqualOrLessSpecific(t1, t2) ? t1 : t2;
}

function notReferencedIn(m: Mapping, t: CheckType, within: CheckType): boolean {
  if (isExactType(t, within)) return false;
  if (within.kind === 'param') {
    const sub = m.find(within);
    return sub === undefined || notReferencedIn(m, t, sub);
  }
  return params(within).every((p) => notReferencedIn(m, t, p));
}

function isValidTypeSubstitution(m: Mapping, t1: CheckType, t2: CheckType): { valid: boolean; hasSub: boolean } {
  if (isExactType(t1, t2)) return { valid: true, hasSub: true };
  const sub = m.find(t2);
  if (sub !== undefined) {
    if (isExactType(t1, sub)) return { valid: true, hasSub: true };
    if (internalIsAssignable(m, t1, sub)) {
      const general = mostGeneral(t1, sub);
      if (notReferencedIn(m, t2, general)) m.add(t2, general);
      return { valid: true, hasSub: true };
    }
    return { valid: false, hasSub: true };
  }
  if (notReferencedIn(m, t2, t1)) {
    m.add(t2, t1);
    return { valid: true, hasSub: false };
  }
  return { valid: false, hasSub: false };
}

const isLegacyNullable = (t: CheckType) => t.kind === 'opaque' || t.kind === 'struct';

function internalIsAssignable(m: Mapping, t1: CheckType, t2: CheckType): boolean {
  if (t2.kind === 'param') {
    const { valid, hasSub } = isValidTypeSubstitution(m, t1, t2);
    if (valid) return true;
    if (hasSub) return false;
  }
  if (t1.kind === 'param') return isValidTypeSubstitution(m, t2, t1).valid;
  if (isDynOrError(t1) || isDynOrError(t2)) return true;
  if (t1.kind === 'null') return t2.kind === 'null' || isLegacyNullable(t2);
  if (t2.kind === 'null') return isLegacyNullable(t1);
  switch (t1.kind) {
    case 'prim':
    case 'struct':
      return isExactType(t1, t2);
    case 'type':
      return t2.kind === 'type';
    case 'opaque':
    case 'list':
    case 'map': {
      const p1 = params(t1);
      const p2 = params(t2);
      return t1.kind === t2.kind && typeName(t1) === typeName(t2) && p1.length === p2.length && p1.every((p, i) => internalIsAssignable(m, p, p2[i]!));
    }
    default:
      return false;
  }
}

/** The mapping extended so that a value of t1 fits where t2 is expected, or undefined. */
export function assignable(m: Mapping, t1: CheckType, t2: CheckType): Mapping | undefined {
  const copy = m.copy();
  return internalIsAssignable(copy, t1, t2) ? copy : undefined;
}

export function assignableList(m: Mapping, l1: CheckType[], l2: CheckType[]): Mapping | undefined {
  if (l1.length !== l2.length) return undefined;
  const copy = m.copy();
  return l1.every((t, i) => internalIsAssignable(copy, t, l2[i]!)) ? copy : undefined;
}

export function substitute(m: Mapping, t: CheckType, paramToDyn: boolean): CheckType {
  const sub = m.find(t);
  if (sub !== undefined) return substitute(m, sub, paramToDyn);
  switch (t.kind) {
    case 'param':
      return paramToDyn ? DYN : t;
    case 'list':
      return listOf(substitute(m, t.elem, paramToDyn));
    case 'map':
      return mapOf(substitute(m, t.key, paramToDyn), substitute(m, t.value, paramToDyn));
    case 'opaque':
      return { kind: 'opaque', name: t.name, params: t.params.map((p) => substitute(m, p, paramToDyn)) };
    case 'type':
      return t.of ? { kind: 'type', of: substitute(m, t.of, paramToDyn) } : t;
    default:
      return t;
  }
}

/** Renames the type parameters of a declaration apart from those of the expression being checked. */
export function freshen(t: CheckType, fresh: (name: string) => CheckType): CheckType {
  switch (t.kind) {
    case 'param':
      return fresh(t.name);
    case 'list':
      return listOf(freshen(t.elem, fresh));
    case 'map':
      return mapOf(freshen(t.key, fresh), freshen(t.value, fresh));
    case 'opaque':
      return { kind: 'opaque', name: t.name, params: t.params.map((p) => freshen(p, fresh)) };
    case 'type':
      return t.of ? { kind: 'type', of: freshen(t.of, fresh) } : t;
    default:
      return t;
  }
}

/** Parses a type as declarations write it: int, list(A), map(string, V), optional_type(A), kubernetes.Quantity. */
export function parseType(text: string): CheckType {
  const s = text.trim();
  const open = s.indexOf('(');
  if (open < 0) {
    if (/^[A-Z]$/.test(s)) return { kind: 'param', name: s };
    switch (s) {
      case 'dyn':
        return DYN;
      case 'null':
        return NULL;
      case 'type':
        return { kind: 'type' };
      case 'bool':
      case 'int':
      case 'uint':
      case 'double':
      case 'string':
      case 'bytes':
        return { kind: 'prim', name: s };
      case 'timestamp':
        return TIMESTAMP;
      case 'duration':
        return DURATION;
      default:
        return { kind: 'opaque', name: s, params: [] };
    }
  }
  const head = s.slice(0, open);
  const args = splitTop(s.slice(open + 1, -1)).map(parseType);
  if (head === 'list') return listOf(args[0]!);
  if (head === 'map') return mapOf(args[0]!, args[1]!);
  if (head === 'type') return { kind: 'type', of: args[0]! };
  return { kind: 'opaque', name: head, params: args };
}

/** Splits "a, map(b, c), d" at its top-level commas. */
export function splitTop(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '(') depth++;
    else if (s[i] === ')') depth--;
    else if (s[i] === ',' && depth === 0) {
      out.push(s.slice(start, i));
      start = i + 1;
    }
  }
  if (s.slice(start).trim()) out.push(s.slice(start));
  return out;
}
