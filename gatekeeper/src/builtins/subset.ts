// object.subset as OPA's topdown/subset.go defines it, on Rego values (sets are not arrays here): objects
// recursively, sets by membership, an array as a contiguous run of another, a set's elements anywhere in an array.
import { objectGet, regoEqual, type RegoTerm } from './rego-value.js';
import { BuiltinError } from './types.js';

type Of<K extends RegoTerm['k']> = Extract<RegoTerm, { k: K }>;

function objectSubset(sup: Of<'obj'>, sub: Of<'obj'>): boolean {
  return sub.entries.every(([key, subValue]) => {
    const supValue = objectGet(sup, key);
    if (supValue === undefined) return false;
    if (regoEqual(subValue, supValue)) return true;
    if (supValue.k === 'obj' && subValue.k === 'obj') return objectSubset(supValue, subValue);
    if (supValue.k === 'set' && subValue.k === 'set') return setSubset(supValue, subValue);
    if (supValue.k === 'arr' && subValue.k === 'arr') return arraySubset(supValue, subValue);
    return false;
  });
}

const contains = (items: RegoTerm[], x: RegoTerm) => items.some((y) => regoEqual(x, y));

function setSubset(sup: Of<'set'>, sub: Of<'set'>): boolean {
  return sub.items.every((x) => contains(sup.items, x));
}

/** Go's scan, kept as it is: on a mismatch it moves the start on by one and restarts the sub array. */
function arraySubset(sup: Of<'arr'>, sub: Of<'arr'>): boolean {
  if (sub.items.length > sup.items.length) return false;
  if (regoEqual(sub, sup)) return true;
  let start = 0;
  let at = 0;
  for (;;) {
    if (at === sub.items.length) return true;
    if (start + at === sup.items.length) return false;
    if (regoEqual(sup.items[start + at]!, sub.items[at]!)) at++;
    else {
      start++;
      at = 0;
    }
  }
}

/** Go's Until over the array: true once every element of the set has been met (never for an empty array). */
function arraySetSubset(sup: Of<'arr'>, sub: Of<'set'>): boolean {
  let unmatched = sub.items.length;
  for (const x of sup.items) {
    if (contains(sub.items, x)) unmatched--;
    if (unmatched === 0) return true;
  }
  return false;
}

export function objectSubsetBuiltin(sup: RegoTerm, sub: RegoTerm): RegoTerm {
  let result: boolean;
  if (sup.k === 'obj' && sub.k === 'obj') result = objectSubset(sup, sub);
  else if (sup.k === 'set' && sub.k === 'set') result = setSubset(sup, sub);
  else if (sup.k === 'arr' && sub.k === 'arr') result = arraySubset(sup, sub);
  else if (sup.k === 'arr' && sub.k === 'set') result = arraySetSubset(sup, sub);
  else throw new BuiltinError('object.subset', 'both arguments object.subset must be of the same type or array and set');
  return { k: 'bool', v: result };
}
