// JSON values as CEL sees them in Kubernetes: an integer is a CEL int (a bigint here), any other number a double.
// A number that was written with a fraction or an exponent (`1.0`, `1e3`) reaches the engine as a boxed Number when
// its parser kept that difference (see json-numbers.ts), and stays a double.
import { celList, celMap, isCelError, isCelList, isCelMap, type CelValue } from '@bufbuild/cel';

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

/** A CEL value as plain JSON-like JS (messages, tests): ints as numbers when safe, lists and maps as arrays and objects. */
export function fromCel(v: CelValue | unknown): unknown {
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v;
  if (isCelList(v)) {
    const out: unknown[] = [];
    for (const x of v) out.push(fromCel(x));
    return out;
  }
  if (isCelMap(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of v.entries()) out[String(fromCel(k))] = fromCel(x);
    return out;
  }
  if (isCelError(v)) return v;
  return v;
}

/** The CEL type name of a value, in the words of cel-go's error messages. */
export function celTypeName(v: unknown): string {
  if (v === null) return 'null_type';
  switch (typeof v) {
    case 'bigint':
      return 'int';
    case 'number':
      return 'double';
    case 'string':
      return 'string';
    case 'boolean':
      return 'bool';
  }
  if (isCelList(v)) return 'list';
  if (isCelMap(v)) return 'map';
  if (v instanceof Uint8Array) return 'bytes';
  return 'object';
}
