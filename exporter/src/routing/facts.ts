// What the sinks' filters (and their redaction rules' `when`) read of a record, computed once at ingest from the record
// ingest parses anyway and stored with it, so that no sink parses a record only to decide whether it takes it
// (README, "Routing facts"). A record's facts are a JSON object with one member per criterion computed, e.g.
// {"namespaces":["team-a"],"resourceKinds":["ConfigMap"],"namespaceLabels":{"team":"a","env":null}}: a criterion or a
// label key that is not there was not computed (the exporter was configured otherwise when the record came in), and
// the sink parses the record instead. eventTypes is never among them: every record's eventType is stored beside it.
import { matchNeeds, recordLabel, recordValues, type ListKey, type MatchNeeds, type MatchSpec, type MatchView } from './match.js';
import type { RedactRule } from './redact.js';
import type { RecordFacts } from '../sinks/sink.js';

export type { RecordFacts } from '../sinks/sink.js';

/** What a sink's routing reads: its filter's criteria and its redaction rules' `when`. */
export interface RoutingNeedsConfig {
  filter?: (MatchSpec & { exclude?: MatchSpec }) | undefined;
  redact?: readonly RedactRule[] | undefined;
}

function criteriaOf(cfg: RoutingNeedsConfig): (MatchSpec | undefined)[] {
  const { exclude, ...include } = cfg.filter ?? {};
  return [include, exclude, ...(cfg.redact ?? []).map((r) => r.when)];
}

export function routingNeeds(cfg: RoutingNeedsConfig): MatchNeeds {
  return matchNeeds(criteriaOf(cfg));
}

/**
 * The facts ingest computes for every record: what any of these sinks' routing reads, or undefined when none reads
 * more than the eventType (then ingest computes nothing).
 */
export function factsFor(sinks: readonly RoutingNeedsConfig[]): ((rec: Record<string, unknown>) => string) | undefined {
  const all = factsNeeded(sinks);
  return all && ((rec) => JSON.stringify(computeFacts(all, rec)));
}

/** What any of these sinks' routing reads beyond eventTypes, or undefined when none does. */
export function factsNeeded(sinks: readonly RoutingNeedsConfig[]): MatchNeeds | undefined {
  const all = matchNeeds(sinks.flatMap(criteriaOf));
  return readsFacts(all) ? all : undefined;
}

/** These needs read more than eventTypes (stored beside every record), so facts are computed for them. */
export function readsFacts(needs: MatchNeeds): boolean {
  return needs.criteria.length > 0 || needs.labels.length > 0;
}

export function computeFacts(needs: MatchNeeds, rec: Record<string, unknown>): RecordFacts {
  const facts: Record<string, unknown> = {};
  for (const key of needs.criteria) facts[key] = recordValues(rec, key);
  if (needs.labels.length) {
    const labels: Record<string, string | null> = {};
    for (const key of needs.labels) labels[key] = recordLabel(rec, key);
    facts['namespaceLabels'] = labels;
  }
  return facts as RecordFacts;
}

/** The facts hold everything these needs read. */
export function covers(facts: RecordFacts, needs: MatchNeeds): boolean {
  for (const key of needs.criteria) if (!Array.isArray(facts[key])) return false;
  if (needs.labels.length) {
    const labels = facts.namespaceLabels;
    if (!labels) return false;
    for (const key of needs.labels) if (labels[key] === undefined) return false;
  }
  return true;
}

/** A record's facts as criteria read them (only for needs the facts cover). */
export class FactsView implements MatchView {
  constructor(
    readonly eventType: string,
    readonly facts: RecordFacts,
  ) {}
  values(key: ListKey): readonly string[] {
    return key === 'eventTypes' ? [this.eventType] : ((this.facts[key] as readonly string[] | undefined) ?? []);
  }
  label(key: string): string | null {
    return this.facts.namespaceLabels?.[key] ?? null;
  }
}
