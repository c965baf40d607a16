// The new host builtins through the real engine: a certificate-expiry template of the kind real clusters run (a
// Secret's tls.crt parsed with crypto.x509.parse_certificates, Go-layout time formatting), print() in a template, and a
// builtin error, undefined as in Gatekeeper.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { reviewFromObject } from '../../src/policy/load.js';
import { constraint, newEngine, template } from './helpers.js';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures/x509');
const b64 = (f: string) => Buffer.from(fs.readFileSync(path.join(dir, f))).toString('base64');

const rego = `package k8scertexpiry
violation[{"msg": msg}] {
  secret := input.review.object
  secret.type == "kubernetes.io/tls"
  print("checking", secret.metadata.name)
  certs := crypto.x509.parse_certificates(secret.data["tls.crt"])
  cert := certs[_]
  not_after := time.parse_rfc3339_ns(cert.NotAfter)
  not_after < time.parse_ns("2006-01-02", input.parameters.notBefore)
  msg := sprintf("%v expires %v", [cert.Subject.CommonName, time.format([not_after, "Europe/Paris", "Mon, 02 Jan 2006 15:04 MST"])])
}`;

const secret = (name: string, crt: string) => ({
  apiVersion: 'v1',
  kind: 'Secret',
  type: 'kubernetes.io/tls',
  metadata: { name, namespace: 'default' },
  data: { 'tls.crt': crt },
});

t.test('a certificate-expiry template: x509 parsing, Go layouts, print, and a failing builtin call undefined', async (t) => {
  const engine = await newEngine(t);
  t.same((await engine.upsertTemplate(template('K8sCertExpiry', rego))).errors, []);
  engine.upsertConstraint(constraint('K8sCertExpiry', 'expiry', { parameters: { notBefore: '2200-01-01' } }));
  const good = await engine.review(reviewFromObject(secret('leaf', b64('leaf.pem'))));
  t.equal(good.violations.length, 1);
  t.match(good.violations[0]!.msg, /^www\.example\.com expires \w{3}, \d{2} \w{3} 21\d\d \d{2}:\d{2} CES?T$/);
  // Gatekeeper runs OPA without strict builtin errors: the failing call is undefined, so the rule does not fire
  const bad = await engine.review(reviewFromObject(secret('broken', 'bm90IGEgY2VydGlmaWNhdGU=')));
  t.same(bad.violations, []);
});
