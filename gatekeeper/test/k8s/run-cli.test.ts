// `gatekeeper run` refuses bad flags with a message naming the flag, before touching any cluster.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const cli = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/cli/main.js');
const run = (...args: string[]) => spawnSync(process.execPath, [cli, 'run', ...args], { encoding: 'utf8', timeout: 30_000 });

t.test('an unknown operation is named', async (t) => {
  const r = run('--operation', 'webhook,mutation');
  t.not(r.status, 0);
  t.match(r.stderr, /unknown operation "mutation": use webhook, audit, status/);
});

t.test('bad numbers are named', async (t) => {
  t.match(run('--audit-interval', '-1').stderr, /--audit-interval must be a non-negative integer, got "-1"/);
  t.match(run('--audit-chunk-size', '0').stderr, /--audit-chunk-size must be a positive integer, got "0"/);
  t.match(run('--constraint-violations-limit', 'many').stderr, /--constraint-violations-limit must be a non-negative integer/);
  t.match(run('--eval-workers', '-2').stderr, /--eval-workers must be a non-negative integer, got "-2"/);
});

t.test('a mounted certificate needs its folder', async (t) => {
  const r = run('--disable-cert-rotation', '--kubeconfig', '/nonexistent');
  t.equal(r.status, 1);
  t.match(r.stderr, /--disable-cert-rotation needs --cert-dir/);
});

t.test('a missing kubeconfig is reported', async (t) => {
  const r = run('--kubeconfig', '/nonexistent/kubeconfig', '--metrics-port', '0');
  t.equal(r.status, 1);
  t.match(r.stderr, /gatekeeper run: .*nonexistent\/kubeconfig/);
});

t.test('controller is an alias of run', async (t) => {
  const r = spawnSync(process.execPath, [cli, 'controller', '--help'], { encoding: 'utf8' });
  t.equal(r.status, 0);
  t.match(r.stdout, /--audit-interval <seconds>/);
});
