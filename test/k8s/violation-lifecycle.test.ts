// The violation lifecycle against a real kube-apiserver: two audit replicas share the state kept in ConfigMaps. The
// leader opens each violating (constraint, resource) pair once; after it stops and the other replica takes the lease,
// the pairs are ongoing, not opened again; a fixed ConfigMap is resolved (fixed); the engine restarts without opening
// anything again; a deleted constraint resolves its pairs (constraint_removed); each with the first sighting and the
// audit ids.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import t from 'tap';
import { bins, repoRoot, sharedDir } from '../helpers/peers.js';
import { freePort } from '../helpers/ports.js';
import { start, waitFor, waitReady, type Started } from '../helpers/process.js';
import { startKube, type KubeCluster } from '../peers/kube.js';
import { KubeClient } from '../../gatekeeper/src/k8s/client.js';
import { ConfigMapLifecycleStore } from '../../gatekeeper/src/audit/lifecycle/configmap-store.js';
import type { LifecycleState } from '../../gatekeeper/src/audit/lifecycle/state.js';

const NS = 'gatekeeper-system';
let kube: KubeCluster;
let work: string;
let exporter: Started | undefined;
const replicas: Started[] = [];

t.before(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'gk-k8s-lifecycle-'));
  kube = await startKube();
  await kube.kubectlOk(['apply', '-f', path.join(repoRoot, 'gatekeeper/crds')]);
  for (const ns of [NS, 'apps']) await kube.kubectlOk(['create', 'namespace', ns]);
  await kube.kubectlOk(['wait', '--for=condition=Established', 'crd/constrainttemplates.templates.gatekeeper.sh', '--timeout=60s']);
});
t.teardown(async () => {
  for (const r of replicas) await r.kill('SIGKILL');
  await exporter?.kill('SIGKILL');
  await kube?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

async function records(): Promise<any[]> {
  const dir = path.join(work, 'exporter');
  const out: any[] = [];
  for (const f of (await readdir(dir)).filter((f) => f.startsWith('decisions') && f.endsWith('.ndjson'))) {
    for (const line of (await readFile(path.join(dir, f), 'utf8')).split('\n')) if (line.trim()) out.push(JSON.parse(line));
  }
  return out;
}

const metricsPorts = new Map<string, number>();

async function startReplica(name: string, socket: string): Promise<Started> {
  const metricsPort = await freePort();
  metricsPorts.set(name, metricsPort);
  const proc = start(process.execPath, [
    bins.gatekeeper, 'run',
    '--kubeconfig', kube.kubeconfig,
    '--namespace', NS,
    '--pod-name', name,
    '--operation', 'audit',
    '--audit-interval', '2',
    '--audit-match-kind-only',
    '--host', '127.0.0.1',
    '--metrics-port', String(metricsPort),
    '--export-socket', socket,
    '--export-spill-path', path.join(work, `${name}-spill.ndjson`),
    '--violation-lifecycle',
    '--violation-lifecycle-shards', '3',
  ], { env: { ...process.env, POD_NAME: name } }); // source.replica
  replicas.push(proc);
  await waitReady(`${name} ready`, proc, `http://127.0.0.1:${metricsPort}/readyz`);
  return proc;
}

const completedBy = (all: any[], replica: string) => all.filter((r) => r.eventType === 'audit_completed' && r.source?.replica === replica);

t.test('opened once across a leader change, then resolved when fixed and when the constraint goes', { timeout: 420_000 }, async (t) => {
  exporter = start(process.execPath, [bins.exporter, 'run', '--data-dir', path.join(work, 'exporter'), '--log-level', 'warn']);
  const socket = path.join(work, 'exporter', 'exporter.sock');
  await waitFor('exporter socket', () => {
    if (exporter!.child.exitCode !== null) throw new Error(`exporter exited: ${exporter!.output()}`);
    return existsSync(socket);
  }, 60_000);

  for (const name of ['bad', 'bad2']) await kube.kubectlOk(['create', 'configmap', name, '-n', 'apps']);
  await kube.kubectlOk(['create', 'configmap', 'good', '-n', 'apps']);
  await kube.kubectlOk(['label', 'configmap', 'good', '-n', 'apps', 'owner=ops']);

  const first = await startReplica('auditor-a', socket);
  await kube.kubectlOk(['apply', '-f', path.join(sharedDir, 'gatekeeper-library/general/requiredlabels/template.yaml')]);
  await waitFor('the constraint CRD', async () => (await kube.kubectl(['get', 'crd', 'k8srequiredlabels.constraints.gatekeeper.sh'])).code === 0, 60_000, 250);
  await kube.kubectlOk(['wait', '--for=condition=Established', 'crd/k8srequiredlabels.constraints.gatekeeper.sh', '--timeout=60s']);
  await kube.kubectlOk(['apply', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'constraints.gatekeeper.sh/v1beta1',
      kind: 'K8sRequiredLabels',
      metadata: { name: 'owner' },
      spec: { match: { kinds: [{ apiGroups: [''], kinds: ['ConfigMap'] }], namespaces: ['apps'] }, parameters: { labels: [{ key: 'owner' }] } },
    }),
  });
  const key = (name: string) => `K8sRequiredLabels/owner:/ConfigMap/apps/${name}`;

  // auditor-a leads: its first audit with the constraint opens both pairs; its next audits find them ongoing.
  const opening = await waitFor('auditor-a opens the pairs, then audits again', async () => {
    const all = await records();
    const done = completedBy(all, 'auditor-a');
    const i = done.findIndex((r) => r.totals.opened === 2);
    return i >= 0 && done.length > i + 1 ? { all, opener: done[i], later: done[i + 1] } : undefined;
  }, 120_000, 250).catch(async (e) => {
    const all = await records();
    throw new Error(`${e.message}\nrecords: ${JSON.stringify(all.map((r) => [r.eventType, r.source?.replica, r.totals ?? r.violationKey]))}\n${first.output().slice(-3000)}`);
  });
  t.match(opening.opener.totals, { opened: 2, resolved: 0, ongoing: 0 });
  t.match(opening.later.totals, { opened: 0, resolved: 0, ongoing: 2 }, 'the next run finds them ongoing');
  const opened = opening.all.filter((r) => r.eventType === 'violation_opened');
  t.same(opened.map((r) => r.violationKey).sort(), [key('bad'), key('bad2')]);
  for (const o of opened) t.match(o, { auditId: opening.opener.auditId, firstAuditId: opening.opener.auditId, firstSeen: opening.opener.auditId, resourceKind: 'ConfigMap', kind: 'K8sRequiredLabels', name: 'owner' });

  // The state lives in the cluster, sharded.
  const cms = JSON.parse(await kube.kubectlOk(['get', 'configmaps', '-n', NS, '-l', 'gatekeeper.sh/violation-lifecycle=gatekeeper-violation-lifecycle', '-o', 'json'])).items;
  t.same(cms.map((c: any) => c.metadata.name).sort(), ['gatekeeper-violation-lifecycle-0', 'gatekeeper-violation-lifecycle-1', 'gatekeeper-violation-lifecycle-2']);
  const stored = cms.flatMap((c: any) => Object.keys(JSON.parse(gunzipSync(Buffer.from(c.binaryData['state.json.gz'], 'base64')).toString()).constraints['K8sRequiredLabels/owner']?.pairs ?? {}));
  t.same(stored.sort(), ['/ConfigMap/apps/bad', '/ConfigMap/apps/bad2']);

  // A second replica starts; auditor-a stops (releasing the lease): auditor-b audits from the state in the cluster.
  await startReplica('auditor-b', socket);
  t.equal(await first.kill('SIGTERM'), 0, first.output());
  const takeover = await waitFor('auditor-b audits', async () => completedBy(await records(), 'auditor-b')[0], 120_000, 250);
  t.match(takeover.totals, { opened: 0, resolved: 0, ongoing: 2 }, 'a new leader in a new process does not open them again');

  // Fixed: bad gets its label.
  await kube.kubectlOk(['label', 'configmap', 'bad', '-n', 'apps', 'owner=ops']);
  const fixing = await waitFor('auditor-b resolves bad', async () => {
    const all = await records();
    const done = completedBy(all, 'auditor-b').find((r) => r.totals.resolved === 1);
    return done ? { all, done } : undefined;
  }, 120_000, 250);
  t.match(fixing.done.totals, { opened: 0, resolved: 1, ongoing: 1 });
  const fixed = fixing.all.filter((r) => r.eventType === 'violation_resolved');
  t.equal(fixed.length, 1);
  t.match(fixed[0], {
    violationKey: key('bad'),
    resolution: 'fixed',
    auditId: fixing.done.auditId,
    firstAuditId: opening.opener.auditId,
    firstSeen: opening.opener.auditId,
    resourceKind: 'ConfigMap',
    resourceNamespace: 'apps',
    resourceName: 'bad',
    resourceAPIVersion: 'v1',
    enforcementAction: 'deny',
    source: { replica: 'auditor-b' },
  });
  t.ok(fixed[0].lastAuditId > opening.opener.auditId && fixed[0].lastAuditId < fixing.done.auditId, 'the last run that still found it');
  const metrics = await (await fetch(`http://127.0.0.1:${metricsPorts.get('auditor-b')}/metrics`)).text();
  t.match(metrics, /^gatekeeper_audit_violation_transitions_total\{transition="resolved"\} 1$/m, "auditor-b's metrics count the resolution");
  t.match(metrics, /^gatekeeper_audit_open_violations 1$/m, 'and the pair still open');

  // auditor-b restarts (a new process, same pod): its next audit finds bad2 ongoing, opens nothing.
  const b = replicas.at(-1)!;
  t.equal(await b.kill('SIGTERM'), 0, b.output());
  const restartedAt = new Date().toISOString();
  await startReplica('auditor-b', socket);
  const afterRestart = await waitFor('the restarted auditor-b audits', async () => completedBy(await records(), 'auditor-b').find((r) => r.auditId > restartedAt), 120_000, 250);
  t.match(afterRestart.totals, { opened: 0, resolved: 0, ongoing: 1 }, 'an engine restart does not open them again');

  // The constraint is deleted: its remaining pair is resolved.
  await kube.kubectlOk(['delete', 'k8srequiredlabels', 'owner']);
  const removal = await waitFor('auditor-b resolves bad2', async () => {
    const all = await records();
    const r = all.find((x) => x.eventType === 'violation_resolved' && x.violationKey === key('bad2'));
    return r ? { all, r } : undefined;
  }, 120_000, 250);
  t.match(removal.r, { resolution: 'constraint_removed', firstAuditId: opening.opener.auditId });
  t.equal(removal.all.filter((r) => r.eventType === 'violation_opened').length, 2, 'each pair opened exactly once in all');
});

t.test('the ConfigMap store: two writers from the same read are merged (409 Conflict), fewer shards delete the rest', async (t) => {
  const client = await KubeClient.load({ kubeconfig: kube.kubeconfig });
  t.teardown(() => client.close());
  const o = { namespace: NS, name: 'occ-test', shards: 3 };
  const state = (auditId: string, pairs: Record<string, [string, string]>): LifecycleState => ({ format: 1, auditId, constraints: { 'K/c': { enforcementAction: 'deny', pairs } } });
  const pairs = (names: string[], first: string) => Object.fromEntries(names.map((n) => [`/ConfigMap/apps/${n}`, [first, 'v1'] as [string, string]]));
  const names = Array.from({ length: 12 }, (_, i) => `cm-${i}`);
  await new ConfigMapLifecycleStore(client, o).save(state('T1', pairs(names, 'T1')));

  // Two replicas read the same state; the one whose run started later writes first, the other then meets a conflict.
  const older = new ConfigMapLifecycleStore(client, o);
  const newer = new ConfigMapLifecycleStore(client, o);
  t.equal(Object.keys((await older.load()).constraints['K/c']!.pairs).length, 12);
  await newer.load();
  await newer.save(state('T3', pairs(names.slice(0, 6), 'T1')));
  await older.save(state('T2', { ...pairs(names.slice(0, 6), 'T2'), ...pairs(['cm-new'], 'T2') }));
  const merged = await new ConfigMapLifecycleStore(client, o).load();
  t.equal(merged.auditId, 'T3', "the later run's state won every shard");
  t.same(Object.keys(merged.constraints['K/c']!.pairs).sort(), names.slice(0, 6).map((n) => `/ConfigMap/apps/${n}`).sort(), "the earlier run's extra pair is not resurrected");
  t.ok(Object.values(merged.constraints['K/c']!.pairs).every((p) => p[0] === 'T1'), 'first sightings kept');

  const fewer = new ConfigMapLifecycleStore(client, { ...o, shards: 2 });
  const before = await fewer.load();
  await fewer.save(before);
  const left = JSON.parse(await kube.kubectlOk(['get', 'configmaps', '-n', NS, '-l', 'gatekeeper.sh/violation-lifecycle=occ-test', '-o', 'json'])).items.map((c: any) => c.metadata.name);
  t.same(left.sort(), ['occ-test-0', 'occ-test-1'], 'the third shard is deleted');
  t.same(await new ConfigMapLifecycleStore(client, { ...o, shards: 2 }).load(), before, 'its pairs moved to the others');

  const tooSmall = new ConfigMapLifecycleStore(client, { ...o, shards: 1, maxShardBytes: 64 });
  await tooSmall.load();
  await t.rejects(tooSmall.save(before), /occ-test-0: \d+ bytes gzipped, over 64: raise --violation-lifecycle-shards \(now 1\)/);
});
