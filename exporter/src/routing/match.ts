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

export type ListKey = Exclude<keyof MatchSpec, 'namespaceLabels'>;

/**
 * What criteria read of a record: the values of each list criterion, and the labels of the resource's namespace. Either
 * the parsed record (RecordView) or what ingest computed from it once (routing/facts.ts).
 */
export interface MatchView {
  values(key: ListKey): readonly string[];
  /** The namespace label's value; null when the record has no such label. */
  label(key: string): string | null;
}

export type Matcher = (view: MatchView) => boolean;

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

/** The values a list criterion reads from a parsed record. */
export function recordValues(rec: Record<string, unknown>, key: ListKey): string[] {
  return extract[key](rec);
}

/** The value of one of the record's namespaceLabels, or null. */
export function recordLabel(rec: Record<string, unknown>, key: string): string | null {
  const labels = rec['namespaceLabels'];
  const v = labels && typeof labels === 'object' ? (labels as Record<string, unknown>)[key] : undefined;
  return typeof v === 'string' ? v : null;
}

/** A parsed record as criteria read it. */
export class RecordView implements MatchView {
  constructor(readonly rec: Record<string, unknown>) {}
  values(key: ListKey): string[] {
    return recordValues(this.rec, key);
  }
  label(key: string): string | null {
    return recordLabel(this.rec, key);
  }
}

/** What a set of criteria reads: list criteria other than eventTypes (stored with every record) and label keys. */
export interface MatchNeeds {
  criteria: ListKey[];
  labels: string[];
}

export function matchNeeds(specs: readonly (MatchSpec | undefined)[]): MatchNeeds {
  const criteria = new Set<ListKey>();
  const labels = new Set<string>();
  for (const spec of specs) {
    if (!spec) continue;
    for (const key of MATCH_KEYS) if (key !== 'eventTypes' && spec[key]) criteria.add(key);
    for (const key of Object.keys(spec.namespaceLabels ?? {})) labels.add(key);
  }
  return { criteria: MATCH_KEYS.filter((k) => criteria.has(k)), labels: [...labels].sort() };
}

/** Each listed label must be there with one of its values; a record without namespaceLabels matches none. */
function namespaceLabelTests(spec: Record<string, string[]>): Matcher[] {
  return Object.entries(spec).map(([key, values]) => {
    const test = globTest(values);
    return (view) => {
      const v = view.label(key);
      return v !== null && test(v);
    };
  });
}

/** Compiles criteria; undefined when there are none (everything matches). */
export function compileMatch(spec: MatchSpec | undefined): Matcher | undefined {
  if (!spec) return undefined;
  const tests: Matcher[] = [];
  for (const key of MATCH_KEYS) {
    const patterns = spec[key];
    if (!patterns) continue;
    const test = globTest(patterns);
    tests.push((view) => view.values(key).some(test));
  }
  if (spec.namespaceLabels) tests.push(...namespaceLabelTests(spec.namespaceLabels));
  if (!tests.length) return undefined;
  return (view) => tests.every((t) => t(view));
}
