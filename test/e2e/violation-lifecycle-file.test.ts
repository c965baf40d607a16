// The violation lifecycle in file mode through the real programs: two one-shot `gatekeeper audit` runs (two engine
// processes) share a state file and export to one exporter, itself restarted between them. The first run opens each
// violating (constraint, resource) pair; after one object is fixed and another deleted, the second resolves those two
// (fixed, resource_gone) and counts the rest as ongoing.
import t from 'tap';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { bins, peerPath, repoRoot } from '../helpers/peers.js';
import { start, waitFor, type Started } from '../helpers/process.js';

const ndjson = (file: string): any[] => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)) : []);

const ownedNamespace = (name: string) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { owner: 'ops@example.com' } } });
/** From an allowed registry, pinned, with limits: only `privileged` can violate (no-privileged-containers, deny). */
const pod = (name: string, privileged: boolean) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'apps' },
  spec: { containers: [{ name: 'c', image: 'registry.example.com/app:1.0', securityContext: { privileged }, resources: { limits: { cpu: '1', memory: '1Gi' } } }] },
});

t.test('two file-mode audits into one exporter: opened, then resolved once fixed or deleted', { timeout: 240_000 }, async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gk-e2e-lifecycle-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const sink = path.join(dir, 'decisions.ndjson');
  const config = { socket: path.join(dir, 'exporter.sock'), queue: { path: path.join(dir, 'queue.db') }, sinks: [{ name: 'file', type: 'file', path: sink }] };
  writeFileSync(path.join(dir, 'exporter.yaml'), stringify(config));
  let exporter: Started | undefined;
  const startExporter = async () => {
    exporter = start(process.execPath, [bins.exporter, 'run', '--config', path.join(dir, 'exporter.yaml'), '--log-level', 'warn']);
    const p = exporter;
    await waitFor('exporter socket', () => {
      if (p.child.exitCode !== null) throw new Error(`exporter exited: ${p.output()}`);
      return existsSync(config.socket);
    }, 60_000);
  };
  t.teardown(() => exporter?.kill('SIGKILL'));

  const manifests = path.join(dir, 'manifests.yaml');
  const state = path.join(dir, 'state', 'lifecycle.json');
  const audit = async () => {
    const p = start(process.execPath, [
      bins.gatekeeper, 'audit', '--policies', path.join(repoRoot, 'examples', 'policies'), '--resources', manifests, '-o', 'json',
      '--export-socket', config.socket, '--violation-lifecycle-state', state, '--export-namespace-labels', 'owner',
    ], { env: { ...process.env, GATEKEEPER_OPA_PATH: peerPath('opa') } });
    t.equal(await p.exited, 0, p.output());
    return JSON.parse(p.output().slice(p.output().indexOf('{')));
  };
  const runRecords = async (auditId: string) =>
    waitFor(`the records of ${auditId}`, () => {
      const r = ndjson(sink).filter((x) => x.auditId === auditId);
      return r.some((x) => x.eventType === 'audit_completed') ? r : undefined;
    }, 60_000, 100);

  await startExporter();
  // Run 1: a Namespace without an owner label and a privileged Pod violate (deny); the other Pod passes.
  writeFileSync(manifests, [ownedNamespace('apps'), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'orphan' } }, pod('web', true), pod('api', false)].map((o) => stringify(o)).join('---\n'));
  const first = await audit();
  t.same(first.lifecycle, { opened: 2, resolved: 0, ongoing: 0, unverified: 0 });
  t.equal(statSync(state).mode & 0o777, 0o600, 'the state file is private');
  const r1 = await runRecords(first.auditId);
  const opened = r1.filter((x) => x.eventType === 'violation_opened');
  t.same(
    opened.map((x) => x.violationKey).sort(),
    ['K8sNoPrivilegedContainers/no-privileged-containers:/Pod/apps/web', 'K8sRequiredLabels/ns-must-have-owner:/Namespace//orphan'],
  );
  for (const o of opened) {
    t.equal(o.firstAuditId, first.auditId);
    t.equal(o.firstSeen, first.auditId, 'first seen: the start of the run that found it');
    t.equal(o.id, first.auditId, "Gatekeeper's id: the run");
    t.ok(o.message && o.policy?.templateHash && o.enforcementAction === 'deny', 'the violation as violation_audited carries it');
  }
  const done1 = r1.find((x) => x.eventType === 'audit_completed');
  t.match(done1.totals, { violations: 2, opened: 2, resolved: 0, ongoing: 0 });
  t.ok(r1.indexOf(done1) > r1.indexOf(opened.at(-1)), 'the lifecycle records come before audit_completed');

  // The exporter restarts between the runs; the Pod is fixed and the orphan Namespace deleted; a new violation appears.
  await exporter!.kill('SIGTERM');
  await startExporter();
  writeFileSync(manifests, [ownedNamespace('apps'), pod('web', false), pod('api', true)].map((o) => stringify(o)).join('---\n'));
  const second = await audit();
  t.same(second.lifecycle, { opened: 1, resolved: 2, ongoing: 0, unverified: 0 });
  const r2 = await runRecords(second.auditId);
  const resolved = r2.filter((x) => x.eventType === 'violation_resolved').sort((a, b) => a.violationKey.localeCompare(b.violationKey));
  t.same(
    resolved.map((x) => [x.violationKey, x.resolution]),
    [
      ['K8sNoPrivilegedContainers/no-privileged-containers:/Pod/apps/web', 'fixed'],
      ['K8sRequiredLabels/ns-must-have-owner:/Namespace//orphan', 'resource_gone'],
    ],
  );
  for (const r of resolved) {
    t.match(r, { auditId: second.auditId, id: second.auditId, firstAuditId: first.auditId, firstSeen: first.auditId, lastAuditId: first.auditId, enforcementAction: 'deny', group: 'constraints.gatekeeper.sh' });
  }
  t.match(resolved[0], { resourceKind: 'Pod', resourceNamespace: 'apps', resourceName: 'web', resourceAPIVersion: 'v1' });
  t.same(resolved[0].namespaceLabels, { owner: 'ops@example.com' }, 'the namespace labels as last seen, for routing per tenant');
  t.same(opened.find((o) => o.resourceName === 'web').namespaceLabels, { owner: 'ops@example.com' });
  t.same(r2.filter((x) => x.eventType === 'violation_opened').map((x) => x.violationKey), ['K8sNoPrivilegedContainers/no-privileged-containers:/Pod/apps/api']);
  t.match(r2.find((x) => x.eventType === 'audit_completed').totals, { violations: 1, opened: 1, resolved: 2, ongoing: 0 });

  // Run 3, nothing changed: the open pair is ongoing, nothing is opened or resolved again.
  const third = await audit();
  t.same(third.lifecycle, { opened: 0, resolved: 0, ongoing: 1, unverified: 0 });
  const r3 = await runRecords(third.auditId);
  t.same(r3.map((x) => x.eventType), ['audit_started', 'violation_audited', 'audit_completed']);
  t.equal(ndjson(sink).filter((x) => x.eventType === 'violation_opened' || x.eventType === 'violation_resolved').length, 5, 'no lifecycle record twice');
});
