// OPA's ordering of values (ast.Compare) for JSON values: null < booleans < numbers < strings < arrays < objects.
// Builtins that return sets sort their elements with it, so the JSON answer lists them in the order Go does.

const rank = (v: unknown): number => {
  if (v === null || v === undefined) return 0;
  if (typeof v === 'boolean') return 1;
  if (typeof v === 'number' || typeof v === 'bigint') return 2;
  if (typeof v === 'string') return 3;
  if (Array.isArray(v)) return 4;
  return 5;
};

const utf8 = (s: string) => Buffer.from(s, 'utf8');

export function compareRego(a: unknown, b: unknown): number {
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra < rb ? -1 : 1;
  switch (ra) {
    case 0:
      return 0;
    case 1:
      return a === b ? 0 : a ? 1 : -1;
    case 2:
      return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
    case 3:
      return Buffer.compare(utf8(a as string), utf8(b as string));
    case 4: {
      const x = a as unknown[];
      const y = b as unknown[];
      for (let i = 0; i < Math.min(x.length, y.length); i++) {
        const c = compareRego(x[i], y[i]);
        if (c !== 0) return c;
      }
      return x.length === y.length ? 0 : x.length < y.length ? -1 : 1;
    }
    default: {
      const x = a as Record<string, unknown>;
      const y = b as Record<string, unknown>;
      const kx = Object.keys(x).sort(compareRego);
      const ky = Object.keys(y).sort(compareRego);
      for (let i = 0; i < Math.min(kx.length, ky.length); i++) {
        const c = compareRego(kx[i], ky[i]) || compareRego(x[kx[i]!], y[ky[i]!]);
        if (c !== 0) return c;
      }
      return kx.length === ky.length ? 0 : kx.length < ky.length ? -1 : 1;
    }
  }
}

/** A set's elements as Go lists them: sorted, without duplicates. */
export function asSet(items: unknown[]): unknown[] {
  const sorted = [...items].sort(compareRego);
  return sorted.filter((x, i) => i === 0 || compareRego(x, sorted[i - 1]) !== 0);
}
