// The webhook answers with the CEL block of a dual-engine template, on its main thread and in its eval workers, and
// with the Rego block under --enable-k8s-native-validation=false. namespaceObject is null here: the policy-folder
// webhook has no cache of the cluster's Namespaces.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { bins } from '../../../test/helpers/peers.js';
import { freePort } from '../../../test/helpers/ports.js';
import { start, waitFor } from '../../../test/helpers/process.js';
import { constraint, opaPath, tempDir } from '../policy/helpers.js';
import { HttpsClient, podReview, selfSignedCertDir } from '../webhook-helpers.js';

const REGO = `package k8sdual
violation[{"msg": "rego: the team label is required"}] {
  not input.review.object.metadata.labels.team
}
`;
const dualTemplate = {
  apiVersion: 'templates.gatekeeper.sh/v1',
  kind: 'ConstraintTemplate',
  metadata: { name: 'k8sdual' },
  spec: {
    crd: { spec: { names: { kind: 'K8sDual' } } },
    targets: [
      {
        target: 'admission.k8s.gatekeeper.sh',
        code: [
          {
            engine: 'K8sNativeValidation',
            source: {
              validations: [
                {
                  expression: '"team" in variables.anyObject.metadata.labels',
                  messageExpression: '"cel: the team label is required in namespace " + (namespaceObject == null ? "?" : namespaceObject.metadata.name)',
                },
              ],
            },
          },
          { engine: 'Rego', source: { rego: REGO } },
        ],
      },
    ],
  },
};

const cases: Array<{ evalWorkers: number; flags: string[]; want: string }> = [
  { evalWorkers: 0, flags: [], want: 'cel: the team label is required in namespace ' },
  { evalWorkers: 2, flags: [], want: 'cel: the team label is required in namespace ' },
  { evalWorkers: 2, flags: ['--enable-k8s-native-validation=false'], want: 'rego: the team label is required' },
];

for (const { evalWorkers, flags, want } of cases) {
  t.test(`webhook --eval-workers ${evalWorkers} ${flags.join(' ')}`.trim(), { timeout: 240_000 }, async (t) => {
    const policies = tempDir(t, 'gk-cel-webhook-policies-');
    fs.writeFileSync(path.join(policies, 'template.yaml'), YAML.stringify(dualTemplate));
    fs.writeFileSync(path.join(policies, 'constraint.yaml'), YAML.stringify(constraint('K8sDual', 'team', { match: { kinds: [{ apiGroups: [''], kinds: ['Pod'] }] } })));
    const { dir: certDir, cert } = selfSignedCertDir();
    const port = await freePort();
    const proc = start(process.execPath, [
      bins.gatekeeper, 'webhook', '--policies', policies, '--cert-dir', certDir, '--port', String(port), '--host', '127.0.0.1',
      '--opa-path', opaPath, '--cache-dir', tempDir(t, 'gk-cel-webhook-cache-'), '--eval-workers', String(evalWorkers), '--log-level', 'warn', ...flags,
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
    const denied = await client.post('/v1/admit', podReview({ containers: [{ name: 'c', image: 'x' }], labels: { app: 'x' } }));
    t.equal(denied.status, 200);
    t.equal(denied.json.response.allowed, false);
    t.equal(denied.json.response.status.message, want.startsWith('cel') ? `[team] ${want}?` : `[team] ${want}`, denied.text);
    const allowed = await client.post('/v1/admit', podReview({ containers: [{ name: 'c', image: 'x' }], labels: { team: 'a' } }));
    t.equal(allowed.json.response.allowed, true, allowed.text);
  });
}
