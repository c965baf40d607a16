// rand.intn and uuid.rfc4122: OPA caches them per query, so every call with the same arguments within one evaluation
// gives one value.
import crypto from 'node:crypto';
import { BuiltinError, type BuiltinTable, type EvalContext } from './types.js';
import { str, typeOf } from './strings.js';

function once<T>(ctx: EvalContext, key: string, make: () => T): T {
  const values = (ctx.perQuery ??= new Map());
  if (!values.has(key)) values.set(key, make());
  return values.get(key) as T;
}

export function randomBuiltins(ctx: () => EvalContext): BuiltinTable {
  return {
    'rand.intn': (key, bound) => {
      const k = str('rand.intn', 1, key);
      if (typeof bound !== 'number' && typeof bound !== 'bigint') throw new BuiltinError('rand.intn', `operand 2 must be number but got ${typeOf(bound)}`);
      if (!Number.isInteger(Number(bound))) throw new BuiltinError('rand.intn', 'operand 2 must be integer number but got floating-point number');
      const n = Math.abs(Number(bound));
      if (n === 0) return 0;
      return once(ctx(), `rand.intn:${k}-${n}`, () => Math.floor(Math.random() * n));
    },
    // any value is a key, as OPA hashes the operand
    'uuid.rfc4122': (key) => once(ctx(), `uuid.rfc4122:${JSON.stringify(key)}`, () => crypto.randomUUID()),
  };
}
