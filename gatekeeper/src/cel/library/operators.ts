// CEL's own operators (equality, ordering, addition) called from library functions, so that the libraries compare and
// add exactly as expressions do (cross-type numeric comparison included).
import { type CelEnv, type CelValue } from '@bufbuild/cel';

let env: (() => CelEnv) | undefined;

/** Set once by env.ts: the environment whose operators the libraries call. */
export function useOperatorsOf(getEnv: () => CelEnv): void {
  env = getEnv;
}

/** The result of a CEL operator (`_==_`, `_<_`, `_+_`, ...); throws cel-go's "no matching overload" error. */
export function operator(name: string, a: CelValue, b: CelValue): CelValue {
  const r = env!().funcs.find(name)?.call(0, undefined, [a, b]);
  if (r === undefined) throw new Error(`found no matching overload for '${name}' applied to '(${typeName(a)}, ${typeName(b)})'`);
  if (r instanceof Error) throw r;
  return r;
}

export const celEquals = (a: CelValue, b: CelValue): boolean => operator('_==_', a, b) === true;
export const celLess = (a: CelValue, b: CelValue): boolean => operator('_<_', a, b) === true;

function typeName(v: CelValue): string {
  if (v === null) return 'null_type';
  if (typeof v === 'bigint') return 'int';
  if (typeof v === 'number') return 'double';
  if (typeof v === 'string' || typeof v === 'boolean') return typeof v === 'string' ? 'string' : 'bool';
  return 'dyn';
}
