// JSON values as CEL sees them in Kubernetes: an integer is a CEL int (a bigint here), any other number a double.
// A number that was written with a fraction or an exponent (`1.0`, `1e3`) reaches the engine as a boxed Number when
// its parser kept that difference (see json-numbers.ts), and stays a double.
import { celList, celMap, type CelValue } from '@bufbuild/cel';

/**
 * A JSON value as a CEL value: integers as bigint, objects as CEL maps, arrays as CEL lists, converted all at once
 * (once per review, shared by every CEL template) so that no access converts again.
 */
export function toCelInput(v: unknown): CelValue {
  switch (typeof v) {
    case 'number':
      return Number.isInteger(v) && Number.isSafeInteger(v) ? BigInt(v) : v;
    case 'string':
    case 'boolean':
    case 'bigint':
      return v;
    case 'object':
      if (v === null) return null;
      if (v instanceof Number) return v.valueOf();
      if (Array.isArray(v)) return celList(v.map(toCelInput));
      {
        const out = new Map<string, CelValue>();
        for (const [k, x] of Object.entries(v)) if (x !== undefined) out.set(k, toCelInput(x));
        return celMap(out);
      }
    default:
      return null;
  }
}
