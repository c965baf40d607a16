// The severity of a decision record, from its verdict: shared by the console sink's text format and the otlp sink's
// SeverityNumber / SeverityText (OpenTelemetry log data model numbers). Documented in proto-docs/sinks/otlp.md.

export interface Severity {
  /** OpenTelemetry SeverityNumber: 9 INFO, 13 WARN. */
  readonly number: number;
  readonly text: 'INFO' | 'WARN';
}

const INFO: Severity = { number: 9, text: 'INFO' };
const WARN: Severity = { number: 13, text: 'WARN' };

/**
 * WARN for a denied admission and for a violation (or a newly opened one) of a `deny` constraint; INFO for everything
 * else (allowed, dryrun, warn, audit frames, resolved violations).
 */
export function severityOf(record: Record<string, unknown>): Severity {
  if (record['allowed'] === false) return WARN;
  const type = record['eventType'];
  if ((type === 'violation_admission' || type === 'violation_audited' || type === 'violation_opened') && record['enforcementAction'] === 'deny') return WARN;
  return INFO;
}
