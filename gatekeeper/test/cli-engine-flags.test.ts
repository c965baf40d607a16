// The engine flags (cli/engine-options.ts) reach the engine in every command that loads policies: a template that
// needs more than --max-module-memory 1 MiB fails with that cap named, in `test`, `audit` and `webhook` (main thread
// and --eval-workers threads), and the workers compile into --cache-dir.
import t, { type Test } from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { bins } from '../../test/helpers/peers.js';
import { freePort } from '../../test/helpers/ports.js';
import { start, waitFor } from '../../test/helpers/process.js';
import { constraint, opaPath, template, tempDir } from './policy/helpers.js';
import { HttpsClient, podReview, selfSignedCertDir } from './webhook-helpers.js';

const HOG_REGO = `package k8shog
import future.keywords.in
violation[{"msg": msg}] {
  xs := [x | some i in numbers.range(1, 200000); x := sprintf("%d-padding-padding", [i])]
  msg := sprintf("made %d", [count(xs)])
}
`;
const CAPPED = /memory cap 1 MiB/;

function policiesDir(t: Test): string {
  const dir = tempDir(t, 'gk-engine-flags-policies-');
  fs.writeFileSync(path.join(dir, 'template.yaml'), YAML.stringify(template('K8sHog', HOG_REGO)));
  fs.writeFileSync(path.join(dir, 'constraint.yaml'), YAML.stringify(constraint('K8sHog', 'hog', { match: { kinds: [{ apiGroups: [''], kinds: ['Pod'] }] } })));
  return dir;
}

function podDir(t: Test): string {
  const dir = tempDir(t, 'gk-engine-flags-pods-');
  fs.writeFileSync(path.join(dir, 'pod.yaml'), YAML.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'ns' }, spec: { containers: [{ name: 'c', image: 'x' }] } }));
  return dir;
}

async function gatekeeper(args: string[]): Promise<{ code: number | string; out: string }> {
  const p = start(process.execPath, [bins.gatekeeper, ...args]);
  const code = await p.exited;
  return { code, out: p.output() };
}

t.test('test: --max-module-memory caps the template instances', { timeout: 180_000 }, async (t) => {
  const policies = policiesDir(t);
  fs.cpSync(path.join(podDir(t), 'pod.yaml'), path.join(policies, 'pod.yaml'));
  const r = await gatekeeper(['test', policies, '--opa-path', opaPath, '--cache-dir', tempDir(t, 'gk-engine-flags-cache-'), '--max-module-memory', '1']);
  t.match(r.out, CAPPED, r.out);
});

t.test('audit: --max-module-memory caps the template instances', { timeout: 180_000 }, async (t) => {
  const r = await gatekeeper([
    'audit', '--policies', policiesDir(t), '--resources', podDir(t), '-o', 'json',
    '--opa-path', opaPath, '--cache-dir', tempDir(t, 'gk-engine-flags-cache-'), '--max-module-memory', '1',
  ]);
  t.match(r.out, CAPPED, r.out);
});

for (const evalWorkers of [0, 2]) {
  t.test(`webhook --eval-workers ${evalWorkers}: --max-module-memory and --cache-dir reach the engine`, { timeout: 240_000 }, async (t) => {
    const { dir: certDir, cert } = selfSignedCertDir();
    const cacheDir = tempDir(t, 'gk-engine-flags-cache-');
    const port = await freePort();
    const proc = start(process.execPath, [
      bins.gatekeeper, 'webhook', '--policies', policiesDir(t), '--cert-dir', certDir, '--port', String(port), '--host', '127.0.0.1',
      '--opa-path', opaPath, '--cache-dir', cacheDir, '--max-module-memory', '1', '--compile-concurrency', '1',
      '--eval-workers', String(evalWorkers), '--log-level', 'warn',
    ]);
    const client = new HttpsClient(`https://127.0.0.1:${port}`, cert);
    t.teardown(async () => {
      await client.close();
      await proc.kill();
      fs.rmSync(certDir, { recursive: true, force: true });
    });
    await waitFor('webhook ready', async () => {
      if (proc.child.exitCode !== null) throw new Error(`webhook exited: ${proc.output()}`);
      return (await client.get('/readyz')).status === 200;
    }, 180_000, 200);
    t.ok(fs.readdirSync(cacheDir).some((f) => f.endsWith('.wasm')), 'the template was compiled into --cache-dir');
    const r = await client.post('/v1/admit', podReview({ containers: [{ name: 'c', image: 'x' }] }));
    t.equal(r.status, 200);
    t.match(r.text, CAPPED, r.text);
  });
}
