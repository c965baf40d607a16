// `gatekeeper test` results in gator test's shapes: the text lines, `-o json` (GatorResult: frameworks' Result inline
// plus violatingObject and trace) and `-o yaml` (the same through Go's YAML encoder: the Result under `result`, its
// field names lowercased, the constraint under `object`), with `--stats` wrapping them as {results, stats}.
import YAML from 'yaml';

export const TARGET = 'admission.k8s.gatekeeper.sh';

export interface GatorResult {
  target: string;
  msg: string;
  metadata?: { details: unknown };
  constraint: Record<string, unknown>;
  /** The constraint's spec.enforcementAction (`scoped` for scoped ones). */
  enforcementAction: string;
  /** A scoped constraint: its actions at gator.gatekeeper.sh. */
  scopedActions?: string[];
  violatingObject: Record<string, any>;
  trace: null;
}

/** One entry per reviewed object (frameworks' StatsEntry shape). */
export interface StatsEntry {
  scope: string;
  statsFor: string;
  stats: Array<{ name: string; value: number; source: { type: string; value: string } }>;
}

/** A copy with every object's keys sorted, as Go's encoders write maps. */
export function sortedKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortedKeys);
  if (!v || typeof v !== 'object') return v;
  return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortedKeys((v as Record<string, unknown>)[k])]));
}

/** Whether a result makes gator exit 1: a deny, directly or among the scoped actions. */
export const isDeny = (r: GatorResult) => r.enforcementAction === 'deny' || !!r.scopedActions?.includes('deny');

/** gator's order: by enforcement action, then message. */
export function sortResults(results: GatorResult[]): GatorResult[] {
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return results.sort((a, b) => cmp(a.enforcementAction, b.enforcementAction) || cmp(a.msg, b.msg));
}

function objectName(o: Record<string, any>): string {
  const meta = o.metadata ?? {};
  const ns = typeof meta.namespace === 'string' && meta.namespace ? `${meta.namespace}/` : '';
  return `${o.apiVersion ?? ''}/${o.kind ?? ''} ${ns}${meta.name ?? ''}`;
}

function text(results: GatorResult[]): string {
  return results.map((r) => `${objectName(r.violatingObject)}: [${JSON.stringify(String(r.constraint.metadata && (r.constraint.metadata as any).name))}] Message: ${JSON.stringify(r.msg)}\n`).join('');
}

/** Go's yaml.v3 encoding of a GatorResult after its JSON round trip (YamlGatorResult). */
function yamlFriendly(r: GatorResult): Record<string, unknown> {
  const result: Record<string, unknown> = { target: r.target, msg: r.msg };
  result['metadata'] = sortedKeys(r.metadata ?? {});
  result['constraint'] = { object: sortedKeys(r.constraint) };
  result['enforcementaction'] = r.enforcementAction;
  result['scopedenforcementactions'] = r.scopedActions ?? [];
  return { result, violatingObject: sortedKeys(r.violatingObject), trace: null };
}

function yamlStats(s: StatsEntry): Record<string, unknown> {
  return { scope: s.scope, statsfor: s.statsFor, stats: s.stats, labels: [] };
}

export function formatResults(format: string, results: GatorResult[], stats?: StatsEntry[]): string {
  switch (format) {
    case 'json': {
      const list = results.map((r) => ({ ...r, ...(r.metadata ? { metadata: sortedKeys(r.metadata) } : {}), constraint: sortedKeys(r.constraint), violatingObject: sortedKeys(r.violatingObject) }));
      const body = stats ? { results: list.length ? list : null, stats } : list.length ? list : null;
      return `${JSON.stringify(body, null, 4)}\n`;
    }
    case 'yaml': {
      const list = results.map(yamlFriendly);
      return YAML.stringify(stats ? { results: list, stats: stats.map(yamlStats) } : list);
    }
    default:
      return text(results);
  }
}
