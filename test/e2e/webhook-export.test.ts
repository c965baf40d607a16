// The webhook and the audit streaming decisions to a real exporter (file sink): fields, event types, ids; and an exporter
// killed with SIGKILL mid-stream and restarted loses nothing the webhook decided.
import t, { type Test } from 'tap';
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bins, peerPath, repoRoot } from '../helpers/peers.js';
import { freePort } from '../helpers/ports.js';
import { start, waitFor, type Started } from '../helpers/process.js';
import { HttpsClient, podReview, readExample, selfSignedCertDir } from '../../gatekeeper/test/webhook-helpers.js';

const opa = peerPath('opa');
const { dir: certDir, cert } = selfSignedCertDir();
const policies = path.join(repoRoot, 'examples', 'policies');
const manifests = path.join(repoRoot, 'examples', 'manifests');

function startExporter(t: Test, dataDir: string): Started {
  const proc = start(process.execPath, [bins.exporter, 'run', '--data-dir', dataDir, '--log-level', 'warn']);
  t.teardown(() => proc.kill('SIGKILL'));
  return proc;
}

async function exporterUp(proc: Started, dataDir: string): Promise<void> {
  await waitFor('exporter socket', () => {
    if (proc.child.exitCode !== null) throw new Error(`exporter exited: ${proc.output()}`);
    return existsSync(path.join(dataDir, 'exporter.sock'));
  }, 60_000);
}

async function startWebhook(t: Test, socket: string, extra: string[] = [], policyDir = policies): Promise<{ client: HttpsClient; proc: Started }> {
  const port = await freePort();
  const proc = start(process.execPath, [
    bins.gatekeeper, 'webhook', '--policies', policyDir, '--cert-dir', certDir, '--port', String(port), '--host', '127.0.0.1',
    '--export-socket', socket, ...extra,
  ], { env: { ...process.env, GATEKEEPER_OPA_PATH: opa, POD_NAME: 'gatekeeper-0' } });
  const client = new HttpsClient(`https://127.0.0.1:${port}`, cert);
  t.teardown(async () => {
    await client.close();
    await proc.kill();
  });
  await waitFor('webhook ready', async () => {
    if (proc.child.exitCode !== null) throw new Error(`webhook exited: ${proc.output()}`);
    return (await client.get('/readyz')).status === 200;
  }, 120_000, 200);
  return { client, proc };
}

function records(dataDir: string): any[] {
  const file = path.join(dataDir, 'decisions.ndjson');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

/** The example policies with metadata.generation set on one template and one constraint, as the API server sets it. */
function policiesWithGenerations(dir: string): string {
  cpSync(policies, dir, { recursive: true });
  const edit = (file: string, name: string, generation: number) => {
    const f = path.join(dir, file);
    writeFileSync(f, readFileSync(f, 'utf8').replace(`  name: ${name}\n`, `  name: ${name}\n  generation: ${generation}\n`));
  };
  edit('template-no-privileged.yaml', 'k8snoprivilegedcontainers', 4);
  edit('constraints.yaml', 'no-privileged-containers', 2);
  return dir;
}

const clusterFlags = ['--cluster-name', 'prod-eu', '--cluster-label', 'region=eu-west-1', '--cluster-label', 'tier=gold'];
const cluster = { name: 'prod-eu', labels: { region: 'eu-west-1', tier: 'gold' } };
const engineVersion = JSON.parse(readFileSync(path.join(repoRoot, 'gatekeeper', 'package.json'), 'utf8')).version;

t.test('admission and audit records reach the exporter with the right fields, ids and provenance', { timeout: 240_000 }, async (t) => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'gk-e2e-export-'));
  const policyDir = policiesWithGenerations(path.join(dataDir, 'policies'));
  const exporter = startExporter(t, dataDir);
  await exporterUp(exporter, dataDir);
  const socket = path.join(dataDir, 'exporter.sock');
  const { client } = await startWebhook(t, socket, ['--export-object', '--export-omit', 'requestUserUID', ...clusterFlags], policyDir);

  const denied = readExample('admission-review.json');
  const allowed = readExample('admission-review-allowed.json');
  t.equal((await client.post('/v1/admit', denied)).json.response.allowed, false);
  t.equal((await client.post('/v1/admit', allowed)).json.response.allowed, true);
  const configMap = {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: 'cm-1', kind: { group: '', version: 'v1', kind: 'ConfigMap' }, resource: { group: '', version: 'v1', resource: 'configmaps' },
      namespace: 'payments', name: 'settings', operation: 'CREATE', userInfo: { username: 'bob' }, dryRun: true,
      object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace: 'payments' }, data: { password: 'hunter2' } },
    },
  };
  t.equal((await client.post('/v1/admit', configMap)).json.response.allowed, true);

  const admission = await waitFor('admission records', () => {
    const r = records(dataDir).filter((x) => x.eventType.includes('admission'));
    return r.length >= 3 + 5 ? r : undefined;
  }, 60_000);
  const decisions = admission.filter((r) => r.eventType === 'admission_decision');
  t.equal(decisions.length, 3, 'one admission_decision per review, allowed ones included');
  const d = decisions.find((r) => r.admissionUID === denied.request.uid);
  t.equal(d.allowed, false);
  t.equal(d.id, denied.request.uid);
  t.same(d.violations.byAction, { deny: 2, warn: 2, dryrun: 1 });
  t.equal(d.violations.total, 5);
  t.equal(d.operation, 'CREATE');
  t.equal(d.requestUsername, 'alice@example.com');
  t.notOk('requestUserUID' in d, '--export-omit left the field out');
  t.equal(d.resourceKind, 'Pod');
  t.equal(d.resourceName, 'debug-shell');
  t.same(d.source, { component: 'webhook', pod: 'gatekeeper-0', replica: 'gatekeeper-0', version: engineVersion, cluster });
  t.equal(d.object.spec.containers[0].image, 'quay.io/someone/toolbox:latest', '--export-object includes the object');
  const cm = decisions.find((r) => r.admissionUID === 'cm-1');
  t.equal(cm.allowed, true);
  t.equal(cm.dryRun, true);
  t.equal(cm.object.data, '[redacted]', 'ConfigMap data redacted by default');
  t.same(cm.redactedPaths, ['data']);

  const violations = admission.filter((r) => r.eventType === 'violation_admission');
  t.equal(violations.length, 5, 'one violation_admission per violation, warn and dryrun included');
  for (const v of violations) {
    t.equal(v.admissionUID, denied.request.uid);
    t.equal(v.id, denied.request.uid);
    t.equal(v.group, 'constraints.gatekeeper.sh');
    t.equal(v.version, 'v1beta1');
    t.equal(v.resourceAPIVersion, 'v1');
    t.equal(v.resourceNamespace, 'payments');
    t.equal(v.requestResource, 'pods');
    t.equal(v.dryRun, false);
    t.notOk('object' in v);
  }
  const priv = violations.find((v) => v.name === 'no-privileged-containers');
  t.equal(priv.kind, 'K8sNoPrivilegedContainers');
  t.equal(priv.enforcementAction, 'deny');
  t.same(priv.details, { container: 'shell' });
  t.match(priv.message, /^privileged container is not allowed: shell/);
  t.same(violations.map((v) => v.enforcementAction).sort(), ['deny', 'deny', 'dryrun', 'warn', 'warn']);
  t.same(priv.policy, { template: 'k8snoprivilegedcontainers', templateGeneration: 4, templateHash: priv.policy.templateHash, constraintGeneration: 2 });
  t.match(priv.policy.templateHash, /^sha256:[0-9a-f]{64}$/);
  t.equal(priv.engine, 'rego');
  for (const v of violations) {
    t.same(v.source, d.source, 'every record names the cluster, replica and engine version');
    t.match(v.policy, { template: /^k8s/, templateHash: /^sha256:/ }, `${v.name}: the policy that decided`);
  }
  t.equal(new Set(violations.map((v) => v.policy.templateHash)).size, new Set(violations.map((v) => v.kind)).size, 'one hash per template');
  t.same(d.violations.items.find((i: any) => i.constraintName === 'no-privileged-containers').policy, priv.policy, 'the decision\'s items too');
  t.equal(new Set(admission.map((r) => r.decisionId)).size, admission.length, 'every record has its own decisionId');

  // The audit, with the summary capped at 1 per constraint: the export is not capped.
  const audit = start(process.execPath, [
    bins.gatekeeper, 'audit', '--policies', policyDir, '--resources', manifests, '--constraint-violations-limit', '1', '-o', 'json', '--export-socket', socket,
    ...clusterFlags,
  ], { env: { ...process.env, GATEKEEPER_OPA_PATH: opa, POD_NAME: 'audit-0' } });
  t.equal(await audit.exited, 0, audit.output());
  const report = JSON.parse(audit.output().slice(audit.output().indexOf('{')));
  t.equal(report.totalViolations, 11);
  const auditRecords = await waitFor('audit records', () => {
    const r = records(dataDir).filter((x) => x.auditId === report.auditId);
    return r.some((x) => x.eventType === 'audit_completed') ? r : undefined;
  }, 60_000);
  const started = auditRecords.filter((r) => r.eventType === 'audit_started');
  const audited = auditRecords.filter((r) => r.eventType === 'violation_audited');
  const completed = auditRecords.filter((r) => r.eventType === 'audit_completed');
  t.equal(started.length, 1);
  t.equal(started[0].message, 'audit is started');
  t.equal(audited.length, 11, 'every violation exported, beyond --constraint-violations-limit');
  t.equal(completed.length, 1);
  t.equal(completed[0].message, 'audit is completed');
  t.same(completed[0].totals.byAction, { deny: 5, warn: 4, dryrun: 2 });
  t.equal(completed[0].totals.violations, 11);
  t.equal(completed[0].totals.exported, 11);
  t.equal(completed[0].totals.objects, 10);
  for (const r of auditRecords) t.equal(r.id, report.auditId, 'Gatekeeper id = the run id on every audit record');
  for (const r of auditRecords) t.same(r.source, { component: 'audit', pod: 'audit-0', replica: 'audit-0', version: engineVersion, cluster });
  const hashes = new Map(violations.map((v) => [v.kind, v.policy.templateHash]));
  for (const r of audited) t.equal(r.policy.templateHash, hashes.get(r.kind) ?? r.policy.templateHash, `${r.name}: the same template hash as the webhook's`);
  t.same(audited.find((r) => r.name === 'no-privileged-containers')?.policy, priv.policy, 'audit: the same provenance as admission');
  const ns = audited.find((r) => r.resourceKind === 'Namespace' && r.resourceName === 'sandbox');
  t.equal(ns.name, 'ns-must-have-owner');
  t.same(ns.constraintAnnotations, { owner: 'platform-team' });
  t.equal(ns.resourceGroup, undefined, 'the core group is empty, hence omitted');
  t.same(ns.details, { missing_labels: ['owner'] }, 'details as the policy returned them');
  const legacy = audited.find((r) => r.resourceKind === 'Namespace' && r.resourceName === 'legacy');
  t.notOk('details' in legacy, 'no details when the policy gives none');
  const dep = audited.find((r) => r.resourceKind === 'Deployment');
  t.equal(dep.resourceGroup, 'apps');
  t.equal(dep.resourceAPIVersion, 'v1');
  t.notOk('dryRun' in dep);
  t.equal(new Set(auditRecords.map((r) => r.decisionId)).size, auditRecords.length);
});

/** A review denied or allowed by turns, with 0 to 3 violations: about 3.5 records per review on average. */
function mixedReview(prefix: string, i: number) {
  const image = ['quay.io/x:latest', 'registry.example.com/a:1', 'quay.io/x:1', 'registry.example.com/a:latest'][i % 4]!;
  const limits = i % 3 ? { resources: { limits: { cpu: '1', memory: '1' } } } : {};
  return podReview({ uid: `${prefix}-${i}`, name: `p-${i}`, containers: [{ name: 'a', image, ...limits }] });
}

/** Posts reviews from..to-1, ten at a time; every answer must be a 200. Returns their uids. */
async function answerReviews(t: Test, client: HttpsClient, from: number, to: number, review: (i: number) => object): Promise<string[]> {
  const uids: string[] = [];
  for (let i = from; i < to; i += 10) {
    await Promise.all(
      Array.from({ length: Math.min(10, to - i) }, async (_, k) => {
        const r = await client.post('/v1/admit', review(i + k));
        if (r.status !== 200) t.fail(`review ${i + k}: HTTP ${r.status}`);
        uids.push(r.json.response.uid);
      }),
    );
  }
  return uids;
}

/**
 * Waits for an admission_decision of every uid; then checks each arrived with all its violation records: exactly once,
 * or at least once after a SIGKILL (lines the exporter committed but could not acknowledge are resent: at-least-once).
 */
async function everyDecisionOnce(t: Test, dataDir: string, uids: string[], opts: { afterKill?: boolean } = {}): Promise<void> {
  await waitFor(`all ${uids.length} decisions in the file sink`, () => {
    const have = new Set(records(dataDir).filter((r) => r.eventType === 'admission_decision').map((r) => r.admissionUID));
    return uids.every((u) => have.has(u));
  }, 180_000, 500);
  const mine = new Set(uids);
  const all = records(dataDir).filter((r) => mine.has(r.admissionUID));
  const once = [...new Map(all.map((r) => [r.decisionId, r])).values()];
  const decisions = once.filter((r) => r.eventType === 'admission_decision');
  const violations = once.filter((r) => r.eventType === 'violation_admission');
  t.equal(new Set(decisions.map((r) => r.admissionUID)).size, uids.length, `decisions for all ${uids.length} reviews: 0 lost`);
  t.equal(decisions.length, uids.length, 'one admission_decision per review');
  const expected = decisions.reduce((n, d) => n + d.violations.total, 0);
  t.equal(violations.length, expected, `every violation_admission (${expected}) arrived`);
  const duplicates = all.length - once.length;
  if (opts.afterKill) t.pass(`${once.length} records, ${duplicates} delivered twice (resent after the kill; consumers deduplicate on decisionId)`);
  else t.equal(duplicates, 0, `${once.length} records, none twice`);
}

const metric = (text: string, name: string): number =>
  [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))].reduce((n, m) => n + Number(m[1]), 0);

t.test('exporter killed with SIGKILL and restarted: every decision arrives', { timeout: 300_000 }, async (t) => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'gk-e2e-kill-'));
  let exporter = startExporter(t, dataDir);
  await exporterUp(exporter, dataDir);
  const { client } = await startWebhook(t, path.join(dataDir, 'exporter.sock'));
  const review = (i: number) =>
    podReview({ uid: `kill-${i}`, name: `p-${i}`, containers: [{ name: 'a', image: i % 2 ? 'quay.io/x:1' : 'registry.example.com/a:1', resources: { limits: { cpu: '1', memory: '1' } } }] });
  const sent = await answerReviews(t, client, 0, 150, review);
  exporter.child.kill('SIGKILL');
  await exporter.exited;
  // The webhook keeps answering without the exporter: the request path never waits on the socket.
  sent.push(...(await answerReviews(t, client, 150, 300, review)));
  exporter = startExporter(t, dataDir);
  await exporterUp(exporter, dataDir);
  sent.push(...(await answerReviews(t, client, 300, 400, review)));
  await everyDecisionOnce(t, dataDir, sent, { afterKill: true });
  const violationUids = new Set(records(dataDir).filter((r) => r.eventType === 'violation_admission').map((r) => r.admissionUID));
  t.equal(violationUids.size, 200, 'and every denied review its violation_admission');
  const denyMetrics = (await client.get('/metrics')).text;
  t.match(denyMetrics, /exporter_client_/, 'the export client counters are on the webhook /metrics');
});

t.test('default flags: exporter stopped while the webhook answers 5,000 reviews; restarted: decisions for all 5,000 arrive', { timeout: 480_000 }, async (t) => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'gk-e2e-outage-'));
  let exporter = startExporter(t, dataDir);
  await exporterUp(exporter, dataDir);
  const { client } = await startWebhook(t, path.join(dataDir, 'exporter.sock'));
  await exporter.kill('SIGTERM');
  const sent = await answerReviews(t, client, 0, 5000, (i) => mixedReview('outage', i));
  const during = (await client.get('/metrics')).text;
  t.ok(metric(during, 'exporter_client_records_accepted_total') > 10_000, 'more records than the 10,000-record memory buffer holds');
  t.ok(metric(during, 'exporter_client_spilled_records') > 0, 'the overflow went to the spill file (on by default)');
  t.equal(metric(during, 'exporter_client_records_dropped_total'), 0, 'nothing dropped');
  exporter = startExporter(t, dataDir);
  await exporterUp(exporter, dataDir);
  await everyDecisionOnce(t, dataDir, sent);
  const after = (await client.get('/metrics')).text;
  t.equal(metric(after, 'exporter_client_records_dropped_total'), 0, 'still nothing dropped');

  // One overflow file per process: a second webhook on the same socket (hence the same default spill path) is refused.
  const second = start(process.execPath, [
    bins.gatekeeper, 'webhook', '--policies', policies, '--insecure-plain-http', '--port', String(await freePort()), '--host', '127.0.0.1',
    '--export-socket', path.join(dataDir, 'exporter.sock'),
  ], { env: { ...process.env, GATEKEEPER_OPA_PATH: opa } });
  t.teardown(() => second.kill('SIGKILL'));
  t.equal(await second.exited, 1, 'the second webhook exits 1');
  t.match(second.output(), /--export-spill-path: spill file .*engine-spill\/webhook\.ndjson is in use by process \d+/, 'naming the file and the holder');
});

t.test('exporter down, then the webhook restarted too: the next webhook process replays what the first one held', { timeout: 480_000 }, async (t) => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'gk-e2e-both-'));
  const socket = path.join(dataDir, 'exporter.sock');
  let exporter = startExporter(t, dataDir);
  await exporterUp(exporter, dataDir);
  const first = await startWebhook(t, socket, ['--export-flush-timeout-ms', '200']);
  await exporter.kill('SIGTERM');
  const sent = await answerReviews(t, first.client, 0, 500, (i) => mixedReview('both', i));
  t.equal(await first.proc.kill('SIGTERM'), 0, 'the first webhook stops cleanly');
  t.match(first.proc.output(), /closed before the exporter acknowledged everything/);
  t.notMatch(first.proc.output(), /dropped records/, 'nothing dropped at shutdown: the memory buffer went to the spill file');
  const second = await startWebhook(t, socket);
  exporter = startExporter(t, dataDir);
  await exporterUp(exporter, dataDir);
  sent.push(...(await answerReviews(t, second.client, 500, 600, (i) => mixedReview('both', i))));
  await everyDecisionOnce(t, dataDir, sent);
});
