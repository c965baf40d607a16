// Kubernetes' lists library (k8s.io/apiserver/pkg/cel/library/lists.go): isSorted, sum, min, max, indexOf,
// lastIndexOf.
import { celMethod, CelScalar, listType, type CelFunc, type CelList, type CelValue } from '@bufbuild/cel';
import { celEquals, celLess, operator } from './operators.js';

const { BOOL, DYN, INT } = CelScalar;
const LIST = listType(DYN);

function extreme(list: CelList, name: 'min' | 'max'): CelValue {
  let result: CelValue | undefined;
  for (const x of list) {
    if (result === undefined || (name === 'min' ? celLess(x, result) : celLess(result, x))) result = x;
  }
  if (result === undefined) throw new Error(`${name} called on empty list`);
  return result;
}

export const listFuncs: CelFunc[] = [
  celMethod('isSorted', LIST, [], BOOL, function (this: CelList) {
    let prev: CelValue | undefined;
    for (const x of this) {
      if (prev !== undefined && celLess(x, prev)) return false;
      prev = x;
    }
    return true;
  }),
  celMethod('sum', LIST, [], DYN, function (this: CelList) {
    let acc: CelValue | undefined;
    for (const x of this) acc = acc === undefined ? x : operator('_+_', acc, x);
    return acc ?? 0n;
  }),
  celMethod('min', LIST, [], DYN, function (this: CelList) {
    return extreme(this, 'min');
  }),
  celMethod('max', LIST, [], DYN, function (this: CelList) {
    return extreme(this, 'max');
  }),
  celMethod('indexOf', LIST, [DYN], INT, function (this: CelList, item: CelValue) {
    let i = 0n;
    for (const x of this) {
      if (celEquals(x, item)) return i;
      i++;
    }
    return -1n;
  }),
  celMethod('lastIndexOf', LIST, [DYN], INT, function (this: CelList, item: CelValue) {
    for (let i = this.size - 1; i >= 0; i--) if (celEquals(this.get(i)!, item)) return BigInt(i);
    return -1n;
  }),
];
