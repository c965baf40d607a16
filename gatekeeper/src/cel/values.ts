// JSON values as CEL sees them in Gatekeeper: an integer within int64 is a CEL int (a bigint here), any other number
// a double, as Kubernetes' unstructured decoding does. A `1.0` reaches Gatekeeper as the int 1 too: Go writes the
// float64 1 as `1` (the API server's AdmissionReview, gator's YAML-to-JSON). A boxed Number stays a double, for callers
// that know a value was a float.
import { celList, celMap, type CelValue } from '@bufbuild/cel';

const INT64_LIMIT = 2 ** 63;

/**
 * A JSON value as a CEL value: integers as bigint, objects as CEL maps, arrays as CEL lists, converted all at once
 * (once per review, shared by every CEL template) so that no access converts again.
 */
export function toCelInput(v: unknown): CelValue {
  switch (typeof v) {
    case 'number':
      return Number.isInteger(v) && Math.abs(v) < INT64_LIMIT ? BigInt(v) : v;
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
