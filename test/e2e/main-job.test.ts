// The main job (npm start): exporter + webhook on the embedded default, the demo reviews and audit, a clean stop.
import t from 'tap';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { peerPath, repoRoot } from '../helpers/peers.js';
import { freePort } from '../helpers/ports.js';
import { start, waitFor } from '../helpers/process.js';

const opa = peerPath('opa');
const script = path.join(repoRoot, 'scripts', 'main-job.mjs');

t.test('--smoke: decisions reach the file sink, then everything stops', { timeout: 240_000 }, async (t) => {
  const runDir = mkdtempSync(path.join(os.tmpdir(), 'gk-main-'));
  const port = await freePort();
  const p = start(process.execPath, [script, '--smoke', '--run-dir', runDir, '--port', String(port)], { env: { ...process.env, GATEKEEPER_OPA_PATH: opa } });
  t.teardown(() => p.kill('SIGKILL'));
  t.equal(await p.exited, 0, p.output());
  const out = p.output();
  t.match(out, /review .*admission-review\.json: denied\n {2}\[images-from-allowed-registries\]/);
  t.match(out, /review .*admission-review-allowed\.json: allowed/);
  t.match(out, new RegExp(`curl --cacert \\S+tls\\.crt -H 'Content-Type: application/json' --data-binary @\\S+admission-review\\.json https://localhost:${port}/v1/admit`));
  t.match(out, /11 violations \(deny 5, warn 4, dryrun 2\)/);
  t.match(out, /smoke: ok/);
  const lines = readFileSync(path.join(runDir, 'exporter', 'decisions.ndjson'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const types = lines.map((l) => l.eventType);
  t.equal(types.filter((x) => x === 'admission_decision').length, 2);
  t.equal(types.filter((x) => x === 'violation_audited').length, 11);
  t.ok(existsSync(path.join(runDir, 'certs', 'tls.crt')), 'a self-signed certificate was made');
});

t.test('Ctrl-C stops the webhook and the exporter', { timeout: 240_000 }, async (t) => {
  const runDir = mkdtempSync(path.join(os.tmpdir(), 'gk-main-'));
  const port = await freePort();
  const p = start(process.execPath, [script, '--run-dir', runDir, '--port', String(port)], { env: { ...process.env, GATEKEEPER_OPA_PATH: opa } });
  t.teardown(() => p.kill('SIGKILL'));
  await waitFor('the main job running', () => p.output().includes('Ctrl-C stops everything'), 180_000);
  p.child.kill('SIGINT');
  t.equal(await p.exited, 0, p.output());
  t.match(p.output(), /stopping \(webhook, then exporter\)/);
  t.notOk(existsSync(path.join(runDir, 'exporter', 'exporter.sock')), 'the exporter removed its socket on a clean stop');
});
