// rand.intn: OPA caches it per query, so every call with the same key and bound within one evaluation gives one value.
import { BuiltinError, type BuiltinTable, type EvalContext } from './types.js';
import { str, typeOf } from './strings.js';

export function randomBuiltins(ctx: () => EvalContext): BuiltinTable {
  return {
    'rand.intn': (key, bound) => {
      const k = str('rand.intn', 1, key);
      if (typeof bound !== 'number' && typeof bound !== 'bigint') throw new BuiltinError('rand.intn', `operand 2 must be number but got ${typeOf(bound)}`);
      if (!Number.isInteger(Number(bound))) throw new BuiltinError('rand.intn', 'operand 2 must be integer number but got floating-point number');
      const n = Math.abs(Number(bound));
      if (n === 0) return 0;
      const values = (ctx().randIntn ??= new Map());
      const cacheKey = `${k}-${n}`;
      let v = values.get(cacheKey);
      if (v === undefined) {
        v = Math.floor(Math.random() * n);
        values.set(cacheKey, v);
      }
      return v;
    },
  };
}
