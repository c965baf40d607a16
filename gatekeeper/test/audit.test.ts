// The real `gatekeeper audit` CLI on the examples: per-constraint summary, the violations limit, JSON output, bad input.
import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bins, peerPath, repoRoot } from '../../test/helpers/peers.js';
import { start } from '../../test/helpers/process.js';

const opa = peerPath('opa');
const policies = path.join(repoRoot, 'examples', 'policies');
const manifests = path.join(repoRoot, 'examples', 'manifests');

async function audit(args: string[]): Promise<{ code: number | string; out: string }> {
  const p = start(process.execPath, [bins.gatekeeper, 'audit', ...args], { env: { ...process.env, GATEKEEPER_OPA_PATH: opa } });
  const code = await p.exited;
  return { code, out: p.output() };
}

t.test('text summary per constraint, capped by --constraint-violations-limit', { timeout: 120_000 }, async (t) => {
  const { code, out } = await audit(['--policies', policies, '--resources', manifests, '--constraint-violations-limit', '1']);
  t.equal(code, 0, out);
  t.match(out, /^K8sRequiredResourceLimits\/containers-should-set-limits \[warn\]: 4 violations$/m);
  t.match(out, /^ {2}- Pod sandbox\/debug-shell: container <shell> has no cpu limit$/m);
  t.match(out, /^ {2}\.\.\. 3 more \(showing the first 1; --constraint-violations-limit\)$/m);
  t.match(out, /^K8sRequiredLabels\/ns-must-have-owner \[deny\]: 2 violations$/m);
  t.match(out, /^K8sNoPrivilegedContainers\/no-privileged-containers \[deny\]: 1 violation$/m, 'the exempt image is not reported');
  t.match(out, /10 objects, 6 constraints, 11 violations \(deny 5, warn 4, dryrun 2\)/);
});

t.test('JSON report: totals, the first N violations in Gatekeeper status form', { timeout: 120_000 }, async (t) => {
  const { code, out } = await audit(['--policies', policies, '--resources', manifests, '-o', 'json', '--constraint-violations-limit', '2']);
  t.equal(code, 0, out);
  const r = JSON.parse(out);
  t.equal(r.totalObjects, 10);
  t.equal(r.totalViolations, 11);
  t.same(r.violationsByAction, { deny: 5, warn: 4, dryrun: 2 });
  t.match(r.auditId, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  const limits = r.constraints.find((c: any) => c.name === 'containers-should-set-limits');
  t.equal(limits.totalViolations, 4);
  t.equal(limits.violations.length, 2);
  t.same(limits.violations[0], { enforcementAction: 'warn', group: '', version: 'v1', kind: 'Pod', message: 'container <shell> has no cpu limit', namespace: 'sandbox', name: 'debug-shell' });
  const dep = r.constraints.find((c: any) => c.name === 'deployments-must-have-app-label');
  t.same(dep.violations.map((v: any) => `${v.group}/${v.version} ${v.kind} ${v.name}`), ['apps/v1 Deployment reports']);
  t.equal(r.constraints.length, 6, 'every constraint is listed, violations or not');
});

t.test('--fail-on-violation, List objects, and bad input', { timeout: 120_000 }, async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gk-audit-'));
  writeFileSync(path.join(dir, 'list.json'), JSON.stringify({
    apiVersion: 'v1', kind: 'List',
    items: [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a', labels: { owner: 'a@example.com' } } },
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'b' } },
    ],
  }));
  const failing = await audit(['--policies', policies, '--resources', dir, '--fail-on-violation']);
  t.equal(failing.code, 3, failing.out);
  t.match(failing.out, /2 objects, 6 constraints, 1 violations \(deny 1\)/);
  const clean = await audit(['--policies', policies, '--resources', path.join(dir, 'list.json'), '--constraint-violations-limit', '0']);
  t.equal(clean.code, 0);
  t.match(clean.out, /\.\.\. 1 more \(showing the first 0/);
  const missing = await audit(['--policies', policies, '--resources', path.join(dir, 'nope')]);
  t.equal(missing.code, 1);
  t.match(missing.out, /gatekeeper audit: .*nope: no such file or directory/);
  const badLimit = await audit(['--policies', policies, '--resources', dir, '--constraint-violations-limit', '-1']);
  t.not(badLimit.code, 0);
  t.match(badLimit.out, /--constraint-violations-limit must be a non-negative integer/);
});

t.test('export asked for but no exporter: the audit says so and fails', { timeout: 120_000 }, async (t) => {
  const p = start(process.execPath, [
    bins.gatekeeper, 'audit', '--policies', policies, '--resources', manifests, '--enable-violation-export=true', '--export-flush-timeout-ms', '500',
  ], { env: { ...process.env, GATEKEEPER_OPA_PATH: opa, GK_EXPORT_SOCKET: path.join(os.tmpdir(), `gk-no-exporter-${process.pid}.sock`) } });
  t.equal(await p.exited, 1);
  t.match(p.output(), /the exporter did not acknowledge every record/);
  t.match(p.output(), /11 violations/, 'the summary is still printed');
});
