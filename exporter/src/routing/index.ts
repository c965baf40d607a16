// Per-sink routing: which records a sink takes (filter) and what is redacted before they leave (redact).
// Compiled by each sink's delivery worker from the sink's config (delivery/worker.ts); documented in proto-docs/routing.md.
import type { Logger } from 'pino';
import type { OutgoingRecord } from '../sinks/sink.js';
import { compileMatch, globTest, RecordView, type MatchSpec } from './match.js';
import { compileRedaction, type RedactRule } from './redact.js';
import { covers, FactsView, readsFacts, routingNeeds, type RecordFacts } from './facts.js';

export { factsFor, factsNeeded, type RecordFacts } from './facts.js';
export { routingKeys, routingSchemaProperties, filterSchema, redactSchema, matchSchema } from './schema.js';
export type { MatchSpec } from './match.js';
export type { RedactRule } from './redact.js';

export interface FilterSpec extends MatchSpec {
  exclude?: MatchSpec;
}

export interface RoutingConfig {
  name: string;
  filter?: FilterSpec;
  redact?: RedactRule[];
}

/**
 * Returns the record to send, or null when it is not for this sink (then it counts as done for the sink). readsFacts:
 * it reads the facts ingest stored with records (the queue's reads for this sink include them).
 */
export type RecordTransform = ((record: OutgoingRecord) => OutgoingRecord | null) & { readonly readsFacts?: boolean };

/** The sink's transform, or undefined when it has no filter and no redaction (records go out as stored, unparsed). */
export function compileRouting(cfg: RoutingConfig, log?: Logger): RecordTransform | undefined {
  const key = `sinks[${cfg.name}]`;
  const { exclude, ...include } = cfg.filter ?? {};
  const includes = compileMatch(include);
  const excludes = compileMatch(exclude);
  const redact = cfg.redact?.length ? compileRedaction(cfg.redact, `${key}.redact`) : undefined;
  if (!includes && !excludes && !redact) return undefined;
  log?.info({ filter: cfg.filter ?? null, redactPaths: cfg.redact?.map((r) => r.path) ?? [] }, 'routing for this sink');
  if (!redact && onlyEventTypes(include) && onlyEventTypes(exclude)) return eventTypeFilter(include.eventTypes, exclude?.eventTypes);
  const needs = routingNeeds(cfg);
  const withFacts = readsFacts(needs);
  const transform = (out: OutgoingRecord): OutgoingRecord | null => {
    // The facts ingest stored with the record, when they hold what this sink reads: no parse to leave a record out, nor
    // to send one no redaction rule applies to.
    const facts = withFacts ? out.facts : NO_FACTS;
    const filtered = facts !== undefined && covers(facts, needs);
    if (filtered) {
      const view = new FactsView(out.eventType, facts);
      if (includes && !includes(view)) return null;
      if (excludes && excludes(view)) return null;
      if (!redact || redact.skips(view)) return out;
    }
    let rec: Record<string, unknown>;
    try {
      rec = JSON.parse(out.json) as Record<string, unknown>;
    } catch {
      // The queue holds only valid JSON objects; should one not parse, leaving it out of a filtered sink is the safe side.
      return includes || redact ? null : out;
    }
    if (!filtered) {
      const view = new RecordView(rec);
      if (includes && !includes(view)) return null;
      if (excludes && excludes(view)) return null;
    }
    if (redact && redact.apply(rec)) return { ...out, json: JSON.stringify(rec) };
    return out;
  };
  return Object.assign(transform, { readsFacts: withFacts });
}

const NO_FACTS: RecordFacts = Object.freeze({});

function onlyEventTypes(spec: MatchSpec | undefined): boolean {
  return !spec || Object.entries(spec).every(([key, v]) => key === 'eventTypes' || v === undefined);
}

/**
 * A filter on event types alone reads the record's eventType as ingest stored it (computed once per record), and does
 * not parse the record for every sink.
 */
function eventTypeFilter(include: string[] | undefined, exclude: string[] | undefined): RecordTransform {
  const included = include ? globTest(include) : undefined;
  const excluded = exclude ? globTest(exclude) : undefined;
  return (out) => ((included && !included(out.eventType)) || (excluded && excluded(out.eventType)) ? null : out);
}
