// The real `gatekeeper webhook` over TLS: decisions, exemptions, the label webhook, limits, deadline, metrics.
import t, { type Test } from 'tap';
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bins, peerPath } from '../../test/helpers/peers.js';
import { freePort } from '../../test/helpers/ports.js';
import { start, waitFor, type Started } from '../../test/helpers/process.js';
import { HttpsClient, examplesDir, namespaceReview, podReview, readExample, selfSignedCertDir } from './webhook-helpers.js';

const opa = peerPath('opa');
const { dir: certDir, cert } = selfSignedCertDir();

async function startWebhook(t: Test, policiesDir: string, extra: string[] = [], certs = { dir: certDir, cert }): Promise<{ client: HttpsClient; proc: Started; port: number }> {
  const port = await freePort();
  const proc = start(process.execPath, [
    bins.gatekeeper, 'webhook', '--policies', policiesDir, '--cert-dir', certs.dir, '--port', String(port), '--host', '127.0.0.1',
    '--cache-dir', path.join(policiesDir, '..', 'cache'), '--policy-poll-interval-ms', '300', ...extra,
  ], { env: { ...process.env, GATEKEEPER_OPA_PATH: opa } });
  const client = new HttpsClient(`https://127.0.0.1:${port}`, certs.cert);
  t.teardown(async () => {
    await client.close();
    await proc.kill();
  });
  await waitFor('webhook ready', async () => {
    if (proc.child.exitCode !== null) throw new Error(`webhook exited: ${proc.output()}`);
    return (await client.get('/readyz')).status === 200;
  }, 120_000, 200);
  return { client, proc, port };
}

function policiesCopy(): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'gk-webhook-'));
  cpSync(path.join(examplesDir, 'policies'), path.join(root, 'policies'), { recursive: true });
  return path.join(root, 'policies');
}

t.test('admission decisions over TLS', { timeout: 180_000 }, async (t) => {
  const { client } = await startWebhook(t, policiesCopy(), ['--exempt-namespace', 'exempt-*', '--exempt-namespace', 'tools', '--log-denies']);

  await t.test('deny: Gatekeeper-form messages, warnings for warn, nothing for dryrun', async (t) => {
    const r = await client.post('/v1/admit', readExample('admission-review.json'));
    t.equal(r.status, 200);
    t.equal(r.json.apiVersion, 'admission.k8s.io/v1');
    t.equal(r.json.kind, 'AdmissionReview');
    const res = r.json.response;
    t.equal(res.uid, '705ab4f5-6393-11e8-b7cc-42010a800002');
    t.equal(res.allowed, false);
    t.equal(res.status.code, 403);
    const lines: string[] = res.status.message.split('\n');
    t.ok(lines.some((l) => l.startsWith('[images-from-allowed-registries] container <shell> has an invalid image repo <quay.io/someone/toolbox:latest>')), res.status.message);
    t.ok(lines.some((l) => l.startsWith('[no-privileged-containers] privileged container is not allowed: shell')), res.status.message);
    t.equal(lines.length, 2, 'only the two deny constraints appear in the message');
    t.same([...res.warnings].sort(), ['[containers-should-set-limits] container <shell> has no cpu limit', '[containers-should-set-limits] container <shell> has no memory limit']);
    t.notMatch(r.text, /images-should-be-pinned/, 'a dryrun violation blocks nothing and is not shown');
  });

  await t.test('allowed', async (t) => {
    const r = await client.post('/v1/admit', readExample('admission-review-allowed.json'));
    t.equal(r.json.response.allowed, true);
    t.equal(r.json.response.uid, '8d3c1f7a-2b4e-4c1d-9a6f-0e5b7c9d1a2b');
    t.notOk(r.json.response.warnings);
  });

  await t.test('warn only: allowed with warnings', async (t) => {
    const r = await client.post('/v1/admit', podReview({ containers: [{ name: 'a', image: 'registry.example.com/a:1.0', resources: { limits: { cpu: '1' } } }] }));
    t.equal(r.json.response.allowed, true);
    t.same(r.json.response.warnings, ['[containers-should-set-limits] container <a> has no memory limit']);
  });

  await t.test('dryrun only: allowed, no warning', async (t) => {
    const r = await client.post('/v1/admit', podReview({ containers: [{ name: 'a', image: 'registry.example.com/a', resources: { limits: { cpu: '1', memory: '1Gi' } } }] }));
    t.equal(r.json.response.allowed, true);
    t.notOk(r.json.response.warnings);
  });

  await t.test('exempt namespace: allowed without evaluation', async (t) => {
    const bad = readExample('admission-review.json');
    bad.request.namespace = 'exempt-ci';
    bad.request.object.metadata.namespace = 'exempt-ci';
    const r = await client.post('/v1/admit', bad);
    t.equal(r.json.response.allowed, true);
    t.notOk(r.json.response.warnings);
    const notExempt = readExample('admission-review.json');
    notExempt.request.namespace = 'ci-exempt';
    notExempt.request.object.metadata.namespace = 'ci-exempt';
    t.equal((await client.post('/v1/admit', notExempt)).json.response.allowed, false);
  });

  await t.test('DELETE reviews the old object', async (t) => {
    const del = readExample('admission-review.json');
    del.request.operation = 'DELETE';
    del.request.oldObject = del.request.object;
    del.request.object = null;
    const r = await client.post('/v1/admit', del);
    t.equal(r.json.response.allowed, false);
  });

  await t.test('admitlabel: only exempt namespaces may carry the ignore label', async (t) => {
    const ignore = { 'admission.gatekeeper.sh/ignore': 'yes' };
    const denied = await client.post('/v1/admitlabel', namespaceReview('team-a', ignore));
    t.equal(denied.json.response.allowed, false);
    t.equal(denied.json.response.status.message, 'Only exempt namespace can have the admission.gatekeeper.sh/ignore label');
    t.equal((await client.post('/v1/admitlabel', namespaceReview('tools', ignore))).json.response.allowed, true);
    t.equal((await client.post('/v1/admitlabel', namespaceReview('exempt-x', ignore))).json.response.allowed, true);
    t.equal((await client.post('/v1/admitlabel', namespaceReview('team-a', { team: 'a' }))).json.response.allowed, true);
    t.equal((await client.post('/v1/admitlabel', namespaceReview('team-a', ignore, 'DELETE'))).json.response.allowed, true);
  });

  await t.test('malformed reviews get a 400 naming the problem', async (t) => {
    const notJson = await client.post('/v1/admit', '{"apiVersion": ');
    t.equal(notJson.status, 400);
    t.match(notJson.json.error, /not valid JSON/);
    const noUid = readExample('admission-review.json');
    delete noUid.request.uid;
    const r = await client.post('/v1/admit', noUid);
    t.equal(r.status, 400);
    t.match(r.json.error, /request\.uid/);
    const wrongKind = await client.post('/v1/admit', { apiVersion: 'admission.k8s.io/v1', kind: 'Pod', request: {} });
    t.equal(wrongKind.status, 400);
    t.match(wrongKind.json.error, /kind: expected "AdmissionReview"/);
    const badVersion = await client.post('/v1/admit', { apiVersion: 'v1', kind: 'AdmissionReview', request: {} });
    t.match(badVersion.json.error, /apiVersion/);
  });

  await t.test('health, readiness and Gatekeeper metrics', async (t) => {
    t.equal((await client.get('/healthz')).status, 200);
    t.equal((await client.get('/readyz')).status, 200);
    const m = (await client.get('/metrics')).text;
    t.match(m, /gatekeeper_validation_request_count\{admission_status="deny",admission_dryrun="false"\} [1-9]/);
    t.match(m, /gatekeeper_validation_request_count\{admission_status="allow",admission_dryrun="false"\} [1-9]/);
    t.match(m, /gatekeeper_validation_request_duration_seconds_bucket\{le="0.001",admission_status="allow"\}/);
    t.match(m, /gatekeeper_constraints\{enforcement_action="deny",status="active"\} 4/);
    t.match(m, /gatekeeper_constraints\{enforcement_action="warn",status="active"\} 1/);
    t.match(m, /gatekeeper_constraints\{enforcement_action="dryrun",status="active"\} 1/);
    t.match(m, /gatekeeper_constraint_templates\{status="active"\} 5/);
    t.match(m, /gatekeeper_webhook_rejected_request_count\{path="\/v1\/admit",reason="malformed"\} [1-9]/);
    t.equal((await client.get('/v1/admit')).status, 405);
    t.equal((await client.get('/nope')).status, 404);
  });
});

t.test('request size limit: 413', { timeout: 180_000 }, async (t) => {
  const { client } = await startWebhook(t, policiesCopy(), ['--max-request-bytes', '4096']);
  const ok = await client.post('/v1/admit', readExample('admission-review-allowed.json'));
  t.equal(ok.status, 200);
  const big = readExample('admission-review-allowed.json');
  big.request.object.metadata.annotations = { filler: 'x'.repeat(8000) };
  const r = await client.post('/v1/admit', big);
  t.equal(r.status, 413);
  t.match(r.json.error, /exceeds the limit of 4096 bytes/);
});

t.test('evaluation deadline: a slow policy is answered with an error, not a hang', { timeout: 180_000 }, async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gk-slow-'));
  const policies = path.join(dir, 'policies');
  cpSync(path.join(examplesDir, 'policies', 'template-required-labels.yaml'), path.join(policies, 't.yaml'));
  const slowTemplate = (n: number) => `
apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata: { name: k8sslow${n} }
spec:
  crd: { spec: { names: { kind: K8sSlow${n} } } }
  targets:
    - target: admission.k8s.gatekeeper.sh
      rego: |
        package k8sslow${n}
        violation[{"msg": msg}] {
          r := numbers.range(1, 2000)
          r[i] * r[j] == -1
          msg := "never"
        }
---
apiVersion: constraints.gatekeeper.sh/v1beta1
kind: K8sSlow${n}
metadata: { name: slow-${n} }
spec: {}
`;
  writeFileSync(path.join(policies, 'slow.yaml'), [1, 2, 3, 4].map(slowTemplate).join('---\n'));
  const { client } = await startWebhook(t, policies, ['--evaluation-timeout-ms', '50']);
  const r = await client.post('/v1/admit', readExample('admission-review-allowed.json'));
  t.equal(r.status, 200);
  t.equal(r.json.response.allowed, false);
  t.equal(r.json.response.status.code, 500);
  t.match(r.json.response.status.message, /deadline/);
});

t.test('policies are reloaded when the files change', { timeout: 180_000 }, async (t) => {
  const policies = policiesCopy();
  const { client } = await startWebhook(t, policies);
  const review = podReview({ containers: [{ name: 'a', image: 'registry.example.com/a:1', resources: { limits: { cpu: '1', memory: '1' } } }], labels: {} });
  t.equal((await client.post('/v1/admit', review)).json.response.allowed, true);
  const extra = path.join(policies, 'pods-need-team.yaml');
  writeFileSync(extra, `apiVersion: constraints.gatekeeper.sh/v1beta1
kind: K8sRequiredLabels
metadata: { name: pods-need-team }
spec:
  match: { kinds: [{ apiGroups: [""], kinds: ["Pod"] }] }
  parameters: { labels: [{ key: team }] }
`);
  const denied = await waitFor('new constraint applied', async () => {
    const r = await client.post('/v1/admit', review);
    return r.json.response.allowed === false ? r : undefined;
  }, 30_000, 200);
  t.match(denied.json.response.status.message, /^\[pods-need-team\] you must provide labels/);
  const { unlinkSync } = await import('node:fs');
  unlinkSync(extra);
  await waitFor('constraint removed', async () => (await client.post('/v1/admit', review)).json.response.allowed === true, 30_000, 200);
  t.pass('removing the file removes the constraint');
});

t.test('refuses to start without a certificate unless plain HTTP is asked for', { timeout: 60_000 }, async (t) => {
  const proc = start(process.execPath, [bins.gatekeeper, 'webhook', '--policies', path.join(examplesDir, 'policies'), '--port', String(await freePort())]);
  const code = await proc.exited;
  t.equal(code, 1);
  t.match(proc.output(), /no serving certificate: give --cert-dir/);
});

t.test('evaluation on worker threads: same answers, reload, and a deadline that cuts a single slow constraint', { timeout: 240_000 }, async (t) => {
  const policies = policiesCopy();
  writeFileSync(path.join(policies, 'slow.yaml'), `
apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata: { name: k8sslowns }
spec:
  crd: { spec: { names: { kind: K8sSlowNs } } }
  targets:
    - target: admission.k8s.gatekeeper.sh
      rego: |
        package k8sslowns
        violation[{"msg": msg}] {
          r := numbers.range(1, 2000)
          r[i] * r[j] == -1
          msg := "never"
        }
---
apiVersion: constraints.gatekeeper.sh/v1beta1
kind: K8sSlowNs
metadata: { name: slow-in-slow-ns }
spec:
  match: { namespaces: ["slow"] }
`);
  const { client } = await startWebhook(t, policies, ['--eval-workers', '2', '--evaluation-timeout-ms', '1500']);
  const denied = await client.post('/v1/admit', readExample('admission-review.json'));
  t.equal(denied.json.response.allowed, false);
  t.equal(denied.json.response.status.message.split('\n').length, 2);
  t.equal(denied.json.response.warnings.length, 2);
  const results = await Promise.all(Array.from({ length: 20 }, () => client.post('/v1/admit', readExample('admission-review-allowed.json'))));
  t.ok(results.every((r) => r.json.response.allowed === true), 'concurrent reviews spread over the workers');

  const slow = readExample('admission-review-allowed.json');
  slow.request.namespace = 'slow';
  slow.request.object.metadata.namespace = 'slow';
  const cut = await client.post('/v1/admit', slow);
  t.equal(cut.json.response.allowed, false);
  t.equal(cut.json.response.status.code, 500);
  t.match(cut.json.response.status.message, /deadline of 1500 ms/);

  const review = podReview({ containers: [{ name: 'a', image: 'registry.example.com/a:1', resources: { limits: { cpu: '1', memory: '1' } } }], labels: {} });
  writeFileSync(path.join(policies, 'pods-need-team.yaml'), `apiVersion: constraints.gatekeeper.sh/v1beta1
kind: K8sRequiredLabels
metadata: { name: pods-need-team }
spec:
  match: { kinds: [{ apiGroups: [""], kinds: ["Pod"] }] }
  parameters: { labels: [{ key: team }] }
`);
  await waitFor('every worker applied the new constraint', async () => {
    const rs = await Promise.all(Array.from({ length: 6 }, () => client.post('/v1/admit', review)));
    return rs.every((r) => r.json.response.allowed === false);
  }, 60_000, 300);
  t.pass('reloaded in every worker');
  await waitFor('the gauges follow the reload', async () => /gatekeeper_constraints\{enforcement_action="deny",status="active"\} 6/.test((await client.get('/metrics')).text), 60_000, 300);
  t.pass('gatekeeper_constraints counts the new constraint');
});

t.test('a rotated serving certificate is picked up without a restart', { timeout: 180_000 }, async (t) => {
  const first = selfSignedCertDir();
  const { client, port } = await startWebhook(t, policiesCopy(), [], first);
  t.equal((await client.get('/healthz')).status, 200);
  const second = selfSignedCertDir();
  cpSync(path.join(second.dir, 'tls.key'), path.join(first.dir, 'tls.key'));
  cpSync(path.join(second.dir, 'tls.crt'), path.join(first.dir, 'tls.crt'));
  const fresh = new HttpsClient(`https://127.0.0.1:${port}`, second.cert);
  t.teardown(() => fresh.close());
  await waitFor('the new certificate served', async () => (await fresh.get('/healthz')).status === 200, 60_000, 500);
  t.pass('new connections are served with the new certificate');
});
