// Routing per tenant through the real programs: a file-mode audit over two namespaces labelled team=a and team=b
// exports namespaceLabels (only the allowed keys), and one exporter delivers each team's decisions to its own sink.
import t from 'tap';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { bins, peerPath, repoRoot } from '../helpers/peers.js';
import { freePort } from '../helpers/ports.js';
import { start, waitFor } from '../helpers/process.js';

const namespace = (name: string, team: string) => ({
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name, labels: { team, owner: 'ops@example.com', 'cost-center': 'internal-42' } },
});
/** quay.io is not an allowed registry (1 deny); :latest without limits adds a warn per missing limit and a dryrun (4 in all). */
const pod = (ns: string, name: string, opts: { latest: boolean }) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: ns },
  spec: {
    containers: [
      opts.latest ? { name: 'c', image: 'quay.io/x:latest' } : { name: 'c', image: 'quay.io/x:1', resources: { limits: { cpu: '1', memory: '1Gi' } } },
    ],
  },
});

/** An AdmissionReview creating a Namespace: its own labels are its namespace labels. */
const namespaceReview = (uid: string, ns: object) => ({
  apiVersion: 'admission.k8s.io/v1',
  kind: 'AdmissionReview',
  request: { uid, kind: { group: '', version: 'v1', kind: 'Namespace' }, resource: { group: '', version: 'v1', resource: 'namespaces' }, operation: 'CREATE', userInfo: { username: 'alice' }, object: ns },
});

const ndjson = (file: string): any[] => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)) : []);

t.test('two teams, two sinks filtered by namespace label: each gets exactly its own decisions', { timeout: 180_000 }, async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gk-e2e-tenant-'));
  const sinkFile = (name: string) => path.join(dir, `${name}.ndjson`);
  const config = {
    socket: path.join(dir, 'exporter.sock'),
    queue: { path: path.join(dir, 'queue.db') },
    sinks: [
      { name: 'team-a', type: 'file', path: sinkFile('team-a'), filter: { namespaceLabels: { team: ['a'] } } },
      { name: 'team-b', type: 'file', path: sinkFile('team-b'), filter: { namespaceLabels: { team: ['b'] } } },
      { name: 'all', type: 'file', path: sinkFile('all') },
    ],
  };
  writeFileSync(path.join(dir, 'exporter.yaml'), stringify(config));
  const exporter = start(process.execPath, [bins.exporter, 'run', '--config', path.join(dir, 'exporter.yaml'), '--log-level', 'warn']);
  t.teardown(() => exporter.kill('SIGKILL'));
  await waitFor('exporter socket', () => {
    if (exporter.child.exitCode !== null) throw new Error(`exporter exited: ${exporter.output()}`);
    return existsSync(config.socket);
  }, 60_000);

  // The webhook: a Namespace of team a without an owner (denied: a decision and a violation), one of team b (allowed).
  const port = await freePort();
  const webhook = start(process.execPath, [
    bins.gatekeeper, 'webhook', '--policies', path.join(repoRoot, 'examples', 'policies'), '--insecure-plain-http', '--port', String(port), '--host', '127.0.0.1',
    '--export-socket', config.socket, '--export-namespace-labels', 'team,owner',
  ], { env: { ...process.env, GATEKEEPER_OPA_PATH: peerPath('opa') } });
  t.teardown(() => webhook.kill());
  const admit = async (review: object) => (await (await fetch(`http://127.0.0.1:${port}/v1/admit`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(review) })).json()) as any;
  await waitFor('webhook ready', async () => {
    if (webhook.child.exitCode !== null) throw new Error(`webhook exited: ${webhook.output()}`);
    return (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.status === 200;
  }, 120_000, 200);
  const noOwner = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'alpha-2', labels: { team: 'a' } } };
  t.equal((await admit(namespaceReview('ns-a', noOwner))).response.allowed, false);
  t.equal((await admit(namespaceReview('ns-b', namespace('beta-2', 'b')))).response.allowed, true);

  const manifests = path.join(dir, 'manifests.yaml');
  const objects = [
    namespace('alpha', 'a'),
    namespace('beta', 'b'),
    ...[1, 2, 3].map((i) => pod('alpha', `a-${i}`, { latest: false })),
    ...[1, 2].map((i) => pod('beta', `b-${i}`, { latest: true })),
    pod('gamma', 'unlabelled', { latest: false }), // its Namespace is not among the objects: no labels to export
  ];
  writeFileSync(manifests, objects.map((o) => stringify(o)).join('---\n'));
  const audit = start(process.execPath, [
    bins.gatekeeper, 'audit', '--policies', path.join(repoRoot, 'examples', 'policies'), '--resources', manifests, '-o', 'json',
    '--export-socket', config.socket, '--export-namespace-labels', 'team,owner',
  ], { env: { ...process.env, GATEKEEPER_OPA_PATH: peerPath('opa') } });
  t.equal(await audit.exited, 0, audit.output());
  t.equal(JSON.parse(audit.output().slice(audit.output().indexOf('{'))).totalViolations, 12, '3 in alpha, 8 in beta, 1 in gamma');

  const all = await waitFor('every record in the unfiltered sink', () => {
    const r = ndjson(sinkFile('all'));
    return r.some((x) => x.eventType === 'audit_completed') && r.filter((x) => x.admissionUID).length === 3 ? r : undefined;
  }, 60_000, 100);
  t.equal(all.length, 17, 'the webhook: 2 decisions and 1 violation; the audit: audit_started, 12 violation_audited, audit_completed');
  // The team sinks are delivered by their own workers: wait until they have settled on what the queue holds.
  const exporterStatus = () => start(process.execPath, [bins.exporter, 'status', '--queue', config.queue.path, '-o', 'json']);
  await waitFor('every sink caught up', async () => {
    const s = exporterStatus();
    if ((await s.exited) !== 0) return false;
    const status = JSON.parse(s.output());
    return status.sinks.length === 3 && status.sinks.every((x: { depth: number }) => x.depth === 0);
  }, 60_000, 200);
  const teamA = ndjson(sinkFile('team-a'));
  const teamB = ndjson(sinkFile('team-b'));
  t.equal(teamA.filter((r) => r.eventType === 'violation_audited').length, 3, "team a's sink: the 3 violations in alpha");
  t.equal(teamB.filter((r) => r.eventType === 'violation_audited').length, 8, "team b's sink: the 8 violations in beta");
  t.ok(teamA.every((r) => r.resourceNamespace === 'alpha' || r.resourceName === 'alpha-2'), 'only alpha');
  t.ok(teamB.every((r) => r.resourceNamespace === 'beta' || r.resourceName === 'beta-2'), 'only beta');
  t.same(teamA.filter((r) => r.admissionUID === 'ns-a').map((r) => r.eventType).sort(), ['admission_decision', 'violation_admission'], 'the denied Namespace of team a');
  t.same(teamB.filter((r) => r.admissionUID === 'ns-b').map((r) => r.eventType), ['admission_decision'], 'the allowed Namespace of team b');
  t.equal(teamA.length, 5, 'nothing else for team a');
  t.equal(teamB.length, 9, 'nothing else for team b');
  t.same(teamA.find((r) => r.eventType === 'violation_audited').namespaceLabels, { team: 'a', owner: 'ops@example.com' }, 'only the allowed keys are exported');
  t.equal(all.filter((r) => r.eventType === 'violation_audited' && !r.namespaceLabels).length, 1, 'the pod in an unknown namespace has none');
});
