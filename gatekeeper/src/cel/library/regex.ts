// Kubernetes' regex library (k8s.io/apiserver/pkg/cel/library/regex.go): find and findAll, with Go's RE2 semantics
// (FindString, FindAllString) through the Rego regex builtins' compiled-pattern cache and match iteration.
import { celMethod, CelScalar, listType, type CelFunc } from '@bufbuild/cel';
import { findAll, re2 } from '../../builtins/regex.js';

const { STRING, INT } = CelScalar;

function matches(input: string, pattern: string, n: number): string[] {
  let re;
  try {
    re = re2('findAll', pattern);
  } catch (e) {
    throw new Error(`Illegal regex: ${(e as Error).message.replace(/^findAll: /, '')}`);
  }
  return findAll(re, input, n).map((m) => m[0] ?? '');
}

export const regexFuncs: CelFunc[] = [
  celMethod('find', STRING, [STRING], STRING, function (this: string, pattern: string) {
    return matches(this, pattern, 1)[0] ?? '';
  }),
  celMethod('findAll', STRING, [STRING], listType(STRING), function (this: string, pattern: string) {
    return matches(this, pattern, -1);
  }),
  celMethod('findAll', STRING, [STRING, INT], listType(STRING), function (this: string, pattern: string, n: bigint) {
    return matches(this, pattern, Number(n));
  }),
];
