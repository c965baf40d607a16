// What export adds to the webhook's CPU per review, measured in one process so that the machine's load weighs on both
// sides alike: the request path's own work (AdmissionReview parse, validate with the engine, response, metrics; no
// HTTP) in blocks of reviews, alternating export off / records only (built and serialised, handed to a client that
// keeps nothing) / on (DecisionExport and a real ExportClient into a real exporter, file sink), medians printed. The
// exporter's CPU per review is read from /proc. Prints figures, asserts nothing. Target (issue 14): export within 5 %.
// The engine and webhook code is imported from gatekeeper/dist, as shipped (npm run bench builds first): tsx compiles
// sources with esbuild's keepNames, whose __name() calls on the request path cost a few µs per review.
// On two cores the exporter's work slows the webhook's on the other core (shared caches and memory bandwidth; a busy loop
// there costs the webhook about a third more CPU per review), so "on" holds that interference as well as the client's
// own work. BENCH_NEIGHBOUR=1 separates them: the bench runs on the first CPU, the exporter and a busy loop of its own
// on the second, in every mode alike, so that on minus records is what the client alone costs.
// Env: BENCH_POLICIES (library, default, or requiredlabels), BENCH_REVIEWS (per block; default 1,000 with the library,
// 4,000 with requiredlabels), BENCH_ROUNDS (default 6), EXPORTER_BIN (the exporter started; default this checkout's),
// BENCH_NEIGHBOUR, WRITE_HOLD_MS (the client's writeHoldMs; default the client's).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { ExportClient, type ExportSender } from '@gk-exporter/exporter/client';
import { DecisionExport, type DecisionExportOptions } from '../gatekeeper/dist/export/decision-export.js';
import { recordSource } from '../gatekeeper/dist/export/records.js';
import { PolicyEngine } from '../gatekeeper/dist/policy/engine.js';
import { loadObjects } from '../gatekeeper/dist/policy/load.js';
import { parseAdmissionReview, reviewResponse } from '../gatekeeper/dist/webhook/admission-review.js';
import { WebhookMetrics } from '../gatekeeper/dist/webhook/metrics.js';
import { NamespaceExemptions } from '../gatekeeper/dist/webhook/namespaces.js';
import { validate } from '../gatekeeper/dist/webhook/validate.js';
import { BUSY_LOOP_ARGS, cpuMicros, libraryPolicies, opaPath, podReview, requiredLabelsPolicies } from './_webhook-fixtures.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const policySet = process.env['BENCH_POLICIES'] ?? 'library';
const perBlock = Number(process.env['BENCH_REVIEWS'] ?? (policySet === 'requiredlabels' ? 4000 : 1000));
const rounds = Number(process.env['BENCH_ROUNDS'] ?? 6);
const exporterBin = process.env['EXPORTER_BIN'] ?? path.join(root, 'exporter/dist/cli/main.js');
type Mode = 'off' | 'records' | 'on';

const work = mkdtempSync(path.join(os.tmpdir(), 'gk-bench-webhook-export-'));
const exporter = spawn(process.execPath, [exporterBin, 'run', '--data-dir', work, '--log-level', 'warn'], { stdio: 'ignore' });
process.on('exit', () => exporter.kill('SIGKILL'));
const neighbour = process.env['BENCH_NEIGHBOUR'] === '1' && os.availableParallelism() >= 2;
// The busy loop pinned with the exporter; the bench itself stays on the first CPU.
const busyLoop = neighbour ? spawn(process.execPath, BUSY_LOOP_ARGS, { stdio: 'ignore' }) : undefined;
process.on('exit', () => busyLoop?.kill('SIGKILL'));
if (neighbour) {
  for (const pid of [exporter.pid, busyLoop!.pid]) execFileSync('taskset', ['-a', '-p', '-c', '1', String(pid)], { stdio: 'ignore' });
  execFileSync('taskset', ['-a', '-p', '-c', '0', String(process.pid)], { stdio: 'ignore' });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function main(): Promise<void> {
  const logger = pino({ level: 'warn' });
  const policies = path.join(work, 'policies');
  if (policySet === 'requiredlabels') requiredLabelsPolicies(policies);
  else libraryPolicies(policies);
  const engine = await PolicyEngine.create({ opaPath: opaPath(), logger });
  const objects = (await loadObjects([policies])).map((o) => o.obj as { kind?: string });
  for (const o of objects) if (o.kind === 'ConstraintTemplate') await engine.upsertTemplate(o);
  for (const o of objects) if (o.kind !== 'ConstraintTemplate') engine.upsertConstraint(o);
  const body = Buffer.from(JSON.stringify(podReview()));

  const socket = path.join(work, 'exporter.sock');
  for (let i = 0; !existsSync(socket); i++) {
    if (i > 600) throw new Error('the exporter did not open its socket');
    await new Promise((r) => setTimeout(r, 100));
  }
  const writeHold = process.env['WRITE_HOLD_MS'];
  const client = new ExportClient({ socketPath: socket, ...(writeHold ? { writeHoldMs: Number(writeHold) } : {}) });
  const options: DecisionExportOptions = {
    includeAllowed: true, includeObject: false, objectRedact: [], fieldPolicy: { omit: [], redact: [] },
    source: recordSource('webhook'), namespaceLabelKeys: [], flushTimeoutMs: 5000,
  };
  const keepsNothing: ExportSender = { enabled: true, send: () => {}, stats: () => client.stats(), flush: async () => true, close: async () => true };
  // DecisionExport is typed with the client class; it only calls the ExportSender methods.
  const exports = { records: new DecisionExport(keepsNothing as ExportClient, options, logger), on: new DecisionExport(client, options, logger) };
  const metrics = new WebhookMetrics({ defaultMetrics: false });
  const vopts = { engine, logger, exemptions: new NamespaceExemptions([]), deadlineMs: 3000, logDenies: false };

  const block = async (mode: Mode) => {
    await client.flush(10_000);
    const e0 = cpuMicros(exporter.pid);
    const c0 = process.cpuUsage();
    for (let i = 0; i < perBlock; i++) {
      const review = parseAdmissionReview(body);
      const r = await validate(review.request, vopts);
      reviewResponse(review.apiVersion, r.response);
      metrics.recordValidation(r.status, false, r.outcome.durationMs / 1000);
      if (mode !== 'off') exports[mode].admission(review.request, r.object, r.outcome);
      // As the server's event loop turns between requests: the client writes, acknowledgements arrive.
      if (i % 8 === 7) await new Promise((resolve) => setImmediate(resolve));
    }
    if (mode === 'on') await client.flush(10_000);
    const c = process.cpuUsage(c0);
    return { webhook: (c.user + c.system) / perBlock, exporter: (cpuMicros(exporter.pid) - e0) / perBlock };
  };

  await block('on');
  await block('off');
  const cpu: Record<Mode, number[]> = { off: [], records: [], on: [] };
  const exporterCpu: number[] = [];
  const modes: Mode[] = ['off', 'records', 'on'];
  for (let k = 0; k < rounds; k++) {
    for (const m of k % 2 ? [...modes].reverse() : modes) {
      const r = await block(m);
      cpu[m].push(r.webhook);
      if (m === 'on') exporterCpu.push(r.exporter);
    }
  }
  const sent = client.stats();
  await client.close({ flushTimeoutMs: 10_000 });

  const what = policySet === 'requiredlabels' ? 'the K8sRequiredLabels template and constraint of bench/cluster-gatekeeper.ts' : 'the 30 library templates and their first sample constraints';
  console.log(`policies: ${what}; a 2-container Pod; ${rounds} rounds of ${perBlock} reviews per mode, order alternating; load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  if (neighbour) console.log('BENCH_NEIGHBOUR: the bench on CPU 0; the exporter and a busy loop on CPU 1 in every mode (the exporter shares its CPU with the loop)');
  const row = (m: Mode, label: string) => `${label.padEnd(40)} ${cpu[m].map((x) => x.toFixed(1)).join(' ')} -> median ${median(cpu[m]).toFixed(1)} µs`;
  console.log(row('off', 'webhook CPU/review, export off'));
  console.log(row('records', 'records built, client keeps nothing'));
  console.log(row('on', 'export on (real client and exporter)'));
  console.log(`${'exporter CPU/review'.padEnd(40)} ${exporterCpu.map((x) => x.toFixed(1)).join(' ')} -> median ${median(exporterCpu).toFixed(1)} µs`);
  const pct = (a: number, b: number) => `${(((a - b) / b) * 100).toFixed(1)} %`;
  console.log(
    `export cost on the webhook, paired by round: ${cpu.on.map((x, i) => pct(x, cpu.off[i]!)).join(', ')}; medians: records ${pct(median(cpu.records), median(cpu.off))}, ` +
      `on ${pct(median(cpu.on), median(cpu.off))}, with the exporter's CPU ${pct(median(cpu.on) + median(exporterCpu), median(cpu.off))}; ` +
      `${sent.accepted} records accepted, ${sent.acked} acknowledged, dropped ${Object.values(sent.dropped).reduce((a, b) => a + b, 0)}`,
  );
}

main()
  .catch((e) => {
    console.error(`bench failed: ${(e as Error).message}`);
    process.exitCode = 1;
  })
  .finally(async () => {
    busyLoop?.kill('SIGKILL');
    exporter.kill('SIGTERM');
    await new Promise((r) => (exporter.exitCode !== null ? r(undefined) : exporter.once('exit', r)));
    rmSync(work, { recursive: true, force: true });
  });
