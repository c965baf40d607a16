// cel-go's ext lists at version 3, which Kubernetes' base environment enables since 1.34: slice, flatten, sort,
// sortBy (a macro, macros.ts, over @sortByAssociatedKeys), lists.range, reverse, distinct, with cel-go's errors.
// first() and last() return optionals, which @bufbuild/cel lacks: not provided.
import { celFunc, celList, celMethod, CelScalar, isCelList, isCelUint, listType, type CelFunc, type CelList, type CelValue } from '@bufbuild/cel';
import { celEquals, celLess } from './operators.js';

const { DYN, INT } = CelScalar;
const LIST = listType(DYN);

function flatten(list: CelList, depth: bigint): CelValue[] {
  if (depth < 0n) throw new Error('level must be non-negative');
  const out: CelValue[] = [];
  for (const x of list) {
    if (isCelList(x) && depth > 0n) out.push(...flatten(x, depth - 1n));
    else out.push(x);
  }
  return out;
}

/** The kind cel-go compares for "the same type" (int, uint, double, string, ...). */
function kindOf(v: CelValue): string {
  if (typeof v === 'bigint') return 'int';
  if (isCelUint(v)) return 'uint';
  if (typeof v === 'number') return 'double';
  if (typeof v === 'string' || typeof v === 'boolean') return typeof v;
  if (v instanceof Uint8Array) return 'bytes';
  return (v as { $typeName?: string } | null)?.$typeName ?? (v === null ? 'null' : 'other');
}
const COMPARABLE = new Set(['int', 'uint', 'double', 'string', 'boolean', 'bytes', 'google.protobuf.Timestamp', 'google.protobuf.Duration']);

function sortByKeys(list: CelList, keys: CelList): CelList {
  if (list.size !== keys.size) {
    throw new Error(`@sortByAssociatedKeys() expected a list of the same size as the associated keys list, but got ${list.size} and ${keys.size} elements respectively`);
  }
  if (list.size === 0) return list;
  const first = kindOf(keys.get(0)!);
  if (!COMPARABLE.has(first)) throw new Error('list elements must be comparable');
  const indices = [...Array(list.size).keys()];
  for (const i of indices) if (kindOf(keys.get(i)!) !== first) throw new Error('list elements must have the same type');
  // a stable sort, as Go's sort.Slice is not: equal keys keep their order (cel-go's order for them is unspecified)
  indices.sort((a, b) => (celLess(keys.get(a)!, keys.get(b)!) ? -1 : celLess(keys.get(b)!, keys.get(a)!) ? 1 : 0));
  return celList(indices.map((i) => list.get(i)!));
}

export const extListFuncs: CelFunc[] = [
  celMethod('slice', LIST, [INT, INT], LIST, function (this: CelList, start: bigint, end: bigint) {
    if (start < 0n || end < 0n) throw new Error(`cannot slice(${start}, ${end}), negative indexes not supported`);
    if (start > end) throw new Error(`cannot slice(${start}, ${end}), start index must be less than or equal to end index`);
    if (BigInt(this.size) < end) throw new Error(`cannot slice(${start}, ${end}), list is length ${this.size}`);
    return celList([...this].slice(Number(start), Number(end)));
  }),
  celMethod('flatten', LIST, [], LIST, function (this: CelList) {
    return celList(flatten(this, 1n));
  }),
  celMethod('flatten', LIST, [INT], LIST, function (this: CelList, depth: bigint) {
    return celList(flatten(this, depth));
  }),
  celMethod('sort', LIST, [], LIST, function (this: CelList) {
    return sortByKeys(this, this);
  }),
  celMethod('@sortByAssociatedKeys', LIST, [LIST], LIST, function (this: CelList, keys: CelList) {
    return sortByKeys(this, keys);
  }),
  celFunc('lists.range', [INT], listType(INT), (n: bigint) => {
    const out: bigint[] = [];
    for (let i = 0n; i < n; i++) out.push(i);
    return out;
  }),
  celMethod('reverse', LIST, [], LIST, function (this: CelList) {
    return celList([...this].reverse());
  }),
  celMethod('distinct', LIST, [], LIST, function (this: CelList) {
    const out: CelValue[] = [];
    for (const x of this) if (!out.some((y) => celEquals(x, y))) out.push(x);
    return celList(out);
  }),
];
