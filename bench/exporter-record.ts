// Rate of normalizeLine() (the ingest hot path) on ~500-byte records: basic invariants vs full JSON Schema validation,
// with the id sent by the engine vs assigned by the exporter; plus newDecisionId(), the builders, and a sink's filter on
// event types read from the stored eventType against the same filter through a parse of the record (as every filter did);
// the facts ingest computes for filters on other criteria: their cost at ingest, and a filter reading them against a parse.
// Run: node --import tsx bench/exporter-record.ts   (prints figures, asserts nothing)
import { admissionDecision, newDecisionId, normalizeLine, violationAudited, type NormalizeOptions, type ValidationMode } from '../exporter/src/record/index.js';
import { compileRouting, factsFor, type FilterSpec, type RecordFacts } from '../exporter/src/routing/index.js';
import type { OutgoingRecord } from '../exporter/src/sinks/sink.js';

const N = Number(process.env.BENCH_RECORDS ?? 200_000);

function sampleLines(withId: boolean): string[] {
  const lines: string[] = [];
  for (let i = 0; i < 1000; i++) {
    const rec = violationAudited({
      auditId: '2026-11-24T10:58:00Z',
      kind: 'K8sRequiredLabels',
      name: 'ns-must-have-owner',
      enforcementAction: 'deny',
      group: 'constraints.gatekeeper.sh',
      version: 'v1beta1',
      message: `you must provide labels: {"owner"} (object ${i})`,
      resourceAPIVersion: 'v1',
      resourceKind: 'Namespace',
      resourceName: `team-${i}`,
      resourceLabels: { env: 'prod' },
      details: { missing_labels: ['owner'] },
      source: { component: 'audit', pod: 'gatekeeper-audit-7d9f8c6b5-x2x4z', namespace: 'gatekeeper-system' },
    });
    if (!withId) delete (rec as { decisionId?: string }).decisionId;
    lines.push(JSON.stringify(rec));
  }
  return lines;
}

function rate(label: string, lines: string[], mode: ValidationMode): void {
  const now = new Date();
  const opts = { validate: mode };
  // warm-up (also compiles the full validator once, outside the timing)
  for (let i = 0; i < 20_000; i++) normalizeLine(lines[i % lines.length]!, now, opts);
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  let bytes = 0;
  for (let i = 0; i < N; i++) {
    const line = lines[i % lines.length]!;
    const r = normalizeLine(line, now, opts);
    if (!r.ok) throw new Error(r.error);
    bytes += line.length;
  }
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const c = process.cpuUsage(c0);
  const cpu = (c.user + c.system) / 1e6;
  // Per CPU-second as well: the wall-clock figure drops when other processes share the 2 cores.
  console.log(
    `${label.padEnd(44)} ${fmt(N / s)} records/s wall, ${fmt(N / cpu)} per CPU-second  (${((1e6 * cpu) / N).toFixed(2)} µs CPU/record, avg ${Math.round(bytes / N)} B)`,
  );
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US').padStart(10);
const withId = sampleLines(true);
const withoutId = sampleLines(false);
console.log(`normalizeLine, ${N.toLocaleString('en-US')} records each:`);
rate('basic, decisionId sent by the engine', withId, 'basic');
rate('basic, decisionId assigned by the exporter', withoutId, 'basic');
rate('full (ajv), decisionId sent by the engine', withId, 'full');
rate('full (ajv), decisionId assigned', withoutId, 'full');

{
  const t0 = process.hrtime.bigint();
  let x = 0;
  for (let i = 0; i < N; i++) x += newDecisionId().length;
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(`${'newDecisionId() (UUIDv7)'.padEnd(44)} ${Math.round(N / s).toLocaleString('en-US').padStart(10)} ids/s${x ? '' : '!'}`);
}
{
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) {
    JSON.stringify(admissionDecision({ admissionUID: `uid-${i}`, allowed: true, operation: 'CREATE', resourceKind: 'Pod', resourceName: `p${i}`, violations: { total: 0 } }));
  }
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(`${'admissionDecision() + JSON.stringify'.padEnd(44)} ${Math.round(N / s).toLocaleString('en-US').padStart(10)} records/s`);
}
/** A sink's routing over N records (after a warm-up): its CPU per record. */
function routeCpu(filter: FilterSpec, records: OutgoingRecord[]): string {
  const route = compileRouting({ name: 'bench', filter })!;
  let kept = 0;
  for (let i = 0; i < 20_000; i++) if (route(records[i % records.length]!)) kept++;
  const c0 = process.cpuUsage();
  for (let i = 0; i < N; i++) if (route(records[i % records.length]!)) kept++;
  const c = process.cpuUsage(c0);
  return `${((c.user + c.system) / N).toFixed(3)} µs CPU/record${kept ? '' : ' (none kept!)'}`;
}

const stored: OutgoingRecord[] = withId.map((json, i) => ({ seq: i + 1, decisionId: `d${i}`, eventType: 'violation_audited', json }));
{
  const cpuPerRecord = (filter: FilterSpec) => routeCpu(filter, stored);
  // The second filter is the first plus a criterion every record meets, which takes the general path (a parse).
  console.log(
    `${'sink filter on eventTypes'.padEnd(44)} ${cpuPerRecord({ eventTypes: ['violation_*'] })} (stored eventType); ` +
      `through a parse: ${cpuPerRecord({ eventTypes: ['violation_*'], exclude: { resourceKinds: ['NoSuchKind'] } })}`,
  );
}
{
  // Facts (README, "Routing facts"): what filters beyond eventTypes read, computed by ingest from its own parse and
  // stored with each record, so that a sink's filter reads them instead of parsing the record.
  // Keeps every record (cluster-scoped Namespaces): each criterion is read for each record.
  const filter: FilterSpec = { namespaces: [''], resourceKinds: ['Namespace'] };
  const facts = factsFor([{ filter }])!;
  const cpu = (label: string, lines: string[], opts: NormalizeOptions) => {
    const now = Date.now();
    for (let i = 0; i < 20_000; i++) normalizeLine(lines[i % lines.length]!, now, opts);
    const c0 = process.cpuUsage();
    for (let i = 0; i < N; i++) normalizeLine(lines[i % lines.length]!, now, opts);
    const c = process.cpuUsage(c0);
    console.log(`${label.padEnd(44)} ${((c.user + c.system) / N).toFixed(3)} µs CPU/record`);
  };
  cpu('normalizeLine (basic), no facts', withId, { validate: 'basic' });
  cpu('normalizeLine (basic), with facts', withId, { validate: 'basic', facts });
  cpu('normalizeLine (basic), no facts (again)', withId, { validate: 'basic' });
  const withFacts: OutgoingRecord[] = stored.map((r) => ({ ...r, facts: JSON.parse(facts(JSON.parse(r.json) as Record<string, unknown>)) as RecordFacts }));
  console.log(`${'sink filter on namespaces and resourceKinds'.padEnd(44)} ${routeCpu(filter, withFacts)} (facts); through a parse: ${routeCpu(filter, stored)}`);
}
