// cel-go's ext sets (sets.contains, sets.equivalent, sets.intersects), which Kubernetes' base environment enables.
import { celFunc, CelScalar, listType, type CelFunc, type CelList } from '@bufbuild/cel';
import { celEquals } from './operators.js';

const LIST = listType(CelScalar.DYN);
const has = (list: CelList, x: unknown) => {
  for (const y of list) if (celEquals(y, x as never)) return true;
  return false;
};
const contains = (a: CelList, b: CelList) => {
  for (const x of b) if (!has(a, x)) return false;
  return true;
};

export const setFuncs: CelFunc[] = [
  celFunc('sets.contains', [LIST, LIST], CelScalar.BOOL, (a: CelList, b: CelList) => contains(a, b)),
  celFunc('sets.equivalent', [LIST, LIST], CelScalar.BOOL, (a: CelList, b: CelList) => contains(a, b) && contains(b, a)),
  celFunc('sets.intersects', [LIST, LIST], CelScalar.BOOL, (a: CelList, b: CelList) => {
    for (const x of b) if (has(a, x)) return true;
    return false;
  }),
];
