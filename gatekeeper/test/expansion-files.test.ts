// ExpansionTemplates from files: the real `gatekeeper webhook --policies` (main thread and evaluation workers) and
// `gatekeeper audit` expand generators with the ExpansionTemplates of the policy folder, pick up a template added
// while running, and stop with --enable-generator-resource-expansion=false (Gatekeeper's flag).
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { bins, peerPath } from '../../test/helpers/peers.js';
import { freePort } from '../../test/helpers/ports.js';
import { start, waitFor } from '../../test/helpers/process.js';
import { HttpsClient, selfSignedCertDir } from './webhook-helpers.js';
import { constraint, template } from './policy/helpers.js';

const opa = peerPath('opa');
const { dir: certDir, cert } = selfSignedCertDir();
const root = mkdtempSync(path.join(os.tmpdir(), 'gk-expansion-files-'));
t.teardown(() => {
  rmSync(root, { recursive: true, force: true });
  rmSync(certDir, { recursive: true, force: true });
});
const policies = path.join(root, 'policies');
const cache = path.join(root, 'cache');
const expandDeployments = {
  apiVersion: 'expansion.gatekeeper.sh/v1beta1',
  kind: 'ExpansionTemplate',
  metadata: { name: 'expand-deployments' },
  spec: { applyTo: [{ groups: ['apps'], kinds: ['Deployment'], versions: ['v1'] }], templateSource: 'spec.template', generatedGVK: { group: '', version: 'v1', kind: 'Pod' } },
};
const deployment = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'shop' }, spec: { template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } } };
const review = {
  apiVersion: 'admission.k8s.io/v1',
  kind: 'AdmissionReview',
  request: {
    uid: 'dep-1',
    kind: { group: 'apps', version: 'v1', kind: 'Deployment' },
    resource: { group: 'apps', version: 'v1', resource: 'deployments' },
    name: 'web',
    namespace: 'shop',
    operation: 'CREATE',
    userInfo: { username: 'tester' },
    object: deployment,
  },
};
const IMPLIED = '[pods-only] [Implied by expand-deployments] saw Pod web-pod';

t.before(() => {
  spawnSync('mkdir', ['-p', policies]);
  writeFileSync(path.join(policies, 'template.yaml'), YAML.stringify(template('K8sSaw', 'package saw\nviolation[{"msg": msg}] {\n  msg := sprintf("saw %v %v", [input.review.kind.kind, input.review.object.metadata.name])\n}\n')));
  writeFileSync(path.join(policies, 'constraint.yaml'), YAML.stringify(constraint('K8sSaw', 'pods-only', { match: { kinds: [{ apiGroups: [''], kinds: ['Pod'] }] } })));
});

async function webhook(t: Test, extra: string[]) {
  const port = await freePort();
  const proc = start(process.execPath, [
    bins.gatekeeper, 'webhook', '--policies', policies, '--cert-dir', certDir, '--port', String(port), '--host', '127.0.0.1', '--cache-dir', cache, '--policy-poll-interval-ms', '300', ...extra,
  ], { env: { ...process.env, GATEKEEPER_OPA_PATH: opa } });
  const client = new HttpsClient(`https://127.0.0.1:${port}`, cert);
  t.teardown(async () => {
    await client.close();
    await proc.kill();
  });
  await waitFor('webhook ready', async () => {
    if (proc.child.exitCode !== null) throw new Error(`webhook exited: ${proc.output()}`);
    return (await client.get('/readyz')).status === 200;
  }, 120_000, 200);
  return client;
}

for (const workers of ['0', '1']) {
  t.test(`gatekeeper webhook --policies, --eval-workers ${workers}: the folder's ExpansionTemplates apply, also one added while running`, async (t) => {
    rmSync(path.join(policies, 'expansion.yaml'), { force: true });
    const client = await webhook(t, ['--eval-workers', workers]);
    t.same((await client.post('/v1/admit', review)).json.response.allowed, true, 'no ExpansionTemplate: the Pod constraint never sees a Deployment');
    writeFileSync(path.join(policies, 'expansion.yaml'), YAML.stringify(expandDeployments));
    const denied = await waitFor('the new ExpansionTemplate applies', async () => {
      const r = (await client.post('/v1/admit', review)).json.response;
      return r.allowed === false ? r : undefined;
    }, 60_000, 200);
    t.same(denied.status, { code: 403, reason: 'Forbidden', message: IMPLIED });
  });
}

t.test('--enable-generator-resource-expansion=false: the webhook does not expand', async (t) => {
  writeFileSync(path.join(policies, 'expansion.yaml'), YAML.stringify(expandDeployments));
  const client = await webhook(t, ['--enable-generator-resource-expansion=false']);
  t.equal((await client.post('/v1/admit', review)).json.response.allowed, true);
});

t.test('gatekeeper audit reports what a Deployment implies, against the Deployment', async (t) => {
  writeFileSync(path.join(policies, 'expansion.yaml'), YAML.stringify(expandDeployments));
  const resources = path.join(root, 'resources.yaml');
  writeFileSync(resources, YAML.stringify(deployment));
  const run = (extra: string[]) => spawnSync(process.execPath, [bins.gatekeeper, 'audit', '--policies', policies, '--resources', resources, '-o', 'json', '--opa-path', opa, '--cache-dir', cache, ...extra], { encoding: 'utf8', timeout: 180_000 });
  const r = run([]);
  t.equal(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  t.same(report.constraints[0].violations, [{ enforcementAction: 'deny', group: 'apps', version: 'v1', kind: 'Deployment', namespace: 'shop', name: 'web', message: '[Implied by expand-deployments] saw Pod web-pod' }]);
  const off = run(['--enable-generator-resource-expansion=false']);
  t.equal(JSON.parse(off.stdout).totalViolations, 0);
});
