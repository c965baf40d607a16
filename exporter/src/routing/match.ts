// Record criteria for routing: which records a sink takes, and when a redaction rule applies.

export interface MatchSpec {
  eventTypes?: string[];
  enforcementActions?: string[];
  constraintKinds?: string[];
  constraintNames?: string[];
  /** The resource's namespace (resourceNamespace); "" matches cluster-scoped resources. */
  namespaces?: string[];
  resourceKinds?: string[];
  /** Label key of the resource's namespace → accepted values (the record's namespaceLabels, exported by the engine). */
  namespaceLabels?: Record<string, string[]>;
}

type ListKey = Exclude<keyof MatchSpec, 'namespaceLabels'>;

export type Matcher = (rec: Record<string, unknown>) => boolean;

/** "*" matches any run of characters; everything else is literal. */
export function globTest(patterns: string[]): (v: string) => boolean {
  const exact = new Set(patterns.filter((p) => !p.includes('*')));
  const globs = patterns
    .filter((p) => p.includes('*'))
    .map((p) => new RegExp(`^${p.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`));
  return (v) => exact.has(v) || globs.some((g) => g.test(v));
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

function violationItems(rec: Record<string, unknown>): Record<string, unknown>[] {
  const v = rec['violations'];
  if (!v || typeof v !== 'object') return [];
  const items = (v as Record<string, unknown>)['items'];
  return Array.isArray(items) ? items.filter((i): i is Record<string, unknown> => !!i && typeof i === 'object') : [];
}

/** The values of a record a criterion looks at (an admission_decision also offers its violations' constraints and actions). */
const extract: Record<ListKey, (rec: Record<string, unknown>) => string[]> = {
  eventTypes: (r) => [str(r['eventType']) ?? ''],
  enforcementActions: (r) => {
    const out: string[] = [];
    const a = str(r['enforcementAction']);
    if (a) out.push(a);
    const many = r['enforcementActions'];
    if (Array.isArray(many)) for (const x of many) if (typeof x === 'string') out.push(x);
    for (const i of violationItems(r)) {
      const x = str(i['enforcementAction']);
      if (x) out.push(x);
    }
    return out;
  },
  constraintKinds: (r) => [str(r['kind']), ...violationItems(r).map((i) => str(i['constraintKind']))].filter((x): x is string => !!x),
  constraintNames: (r) => [str(r['name']), ...violationItems(r).map((i) => str(i['constraintName']))].filter((x): x is string => !!x),
  namespaces: (r) => (str(r['resourceName']) !== undefined || str(r['resourceNamespace']) !== undefined ? [str(r['resourceNamespace']) ?? ''] : []),
  resourceKinds: (r) => {
    const k = str(r['resourceKind']);
    return k ? [k] : [];
  },
};

export const MATCH_KEYS = Object.keys(extract) as ListKey[];

/** Each listed label must be there with one of its values; a record without namespaceLabels matches none. */
function namespaceLabelTests(spec: Record<string, string[]>): ((rec: Record<string, unknown>) => boolean)[] {
  return Object.entries(spec).map(([key, values]) => {
    const test = globTest(values);
    return (rec) => {
      const labels = rec['namespaceLabels'];
      const v = labels && typeof labels === 'object' ? (labels as Record<string, unknown>)[key] : undefined;
      return typeof v === 'string' && test(v);
    };
  });
}

/** Compiles criteria; undefined when there are none (everything matches). */
export function compileMatch(spec: MatchSpec | undefined): Matcher | undefined {
  if (!spec) return undefined;
  const tests: ((rec: Record<string, unknown>) => boolean)[] = [];
  for (const key of MATCH_KEYS) {
    const patterns = spec[key];
    if (!patterns) continue;
    const test = globTest(patterns);
    const get = extract[key];
    tests.push((rec) => get(rec).some(test));
  }
  if (spec.namespaceLabels) tests.push(...namespaceLabelTests(spec.namespaceLabels));
  if (!tests.length) return undefined;
  return (rec) => tests.every((t) => t(rec));
}
