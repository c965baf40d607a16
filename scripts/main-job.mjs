#!/usr/bin/env node
// The main job (`npm start`): the exporter and the admission webhook together on an embedded default —
// the example policies under examples/, a self-signed certificate made locally, the exporter's file sink —
// then one audit over the example manifests. Everything lives under ./.run (or $GK_RUN_DIR); Ctrl-C stops it all.
//
// Options: --port N (webhook, default 8443 or $GK_WEBHOOK_PORT), --run-dir DIR, --smoke (run the demo, check that the
// decisions reached the file sink, stop, exit 0/1: for CI).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, createWriteStream, readFileSync, statSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import https from 'node:https';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const argValue = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const smoke = args.includes('--smoke');
const port = Number(argValue('--port') ?? process.env.GK_WEBHOOK_PORT ?? 8443);
const runDir = path.resolve(argValue('--run-dir') ?? process.env.GK_RUN_DIR ?? path.join(root, '.run'));
const exporterDir = path.join(runDir, 'exporter');
const certDir = path.join(runDir, 'certs');
const logDir = path.join(runDir, 'logs');
const socket = path.join(exporterDir, 'exporter.sock');
const decisionsFile = path.join(exporterDir, 'decisions.ndjson');
const policies = path.join(root, 'examples', 'policies');
const manifests = path.join(root, 'examples', 'manifests');
const exampleReview = path.join(root, 'examples', 'admission-review.json');
const exampleAllowed = path.join(root, 'examples', 'admission-review-allowed.json');
const bins = {
  exporter: path.join(root, 'exporter', 'dist', 'cli', 'main.js'),
  gatekeeper: path.join(root, 'gatekeeper', 'dist', 'cli', 'main.js'),
};

const say = (s = '') => process.stdout.write(s + '\n');
/** A path as the user can type it from here: relative when under the current folder, absolute otherwise. */
const shown = (p) => {
  const r = path.relative(process.cwd(), p);
  return r && !r.startsWith('..') ? r : p;
};
function die(msg) {
  process.stderr.write(`main-job: ${msg}\n`);
  process.exit(1);
}

if (!Number.isInteger(port) || port <= 0 || port > 65535) die(`--port: expected a TCP port, got ${port}`);
for (const [name, file] of Object.entries(bins)) if (!existsSync(file)) die(`${file} is missing: build first (npm run build) — the ${name} CLI`);
for (const d of [exporterDir, certDir, logDir]) mkdirSync(d, { recursive: true });

// --- the opa CLI (templates compile with it): the project's pinned peer, built once into the cache.
function opaPath() {
  if (process.env.GATEKEEPER_OPA_PATH && existsSync(process.env.GATEKEEPER_OPA_PATH)) return process.env.GATEKEEPER_OPA_PATH;
  // Prints the cached path at once; builds it first (a few minutes, once) on a fresh machine.
  const out = execFileSync('bash', [path.join(root, 'scripts/peers/get-opa.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  return out.trim().split('\n').pop();
}

// --- a self-signed serving certificate for localhost / 127.0.0.1, kept while it is valid for another day.
function ensureCertificate() {
  const crt = path.join(certDir, 'tls.crt');
  const key = path.join(certDir, 'tls.key');
  if (existsSync(crt) && existsSync(key)) {
    try {
      const validTo = new Date(new X509Certificate(readFileSync(crt)).validTo);
      if (validTo.getTime() - Date.now() > 24 * 3600 * 1000) return crt;
    } catch {
      /* unreadable: make a new one */
    }
  }
  try {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '365',
      '-subj', '/CN=gatekeeper-webhook.local', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout', key, '-out', crt,
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    die(`cannot make a self-signed certificate with openssl (${e.message.split('\n')[0]}); install openssl or put tls.crt/tls.key in ${certDir}`);
  }
  return crt;
}

/**
 * The command that runs a bin as its `#!` line says, as the kernel would (the exporter's carries its node options), so
 * this does not depend on the build leaving the file executable.
 */
function viaInterpreterLine(bin) {
  const m = /^#!\s*(\S+)(?:\s+(.*))?$/.exec(readFileSync(bin, 'utf8').split('\n')[0]);
  if (!m) return [process.execPath, [bin]];
  return [m[1], m[2]?.trim() ? [m[2].trim(), bin] : [bin]];
}

const children = [];
function launch(name, argv, env = {}) {
  const log = createWriteStream(path.join(logDir, `${name}.log`), { flags: 'a' });
  const [file, prefix] = viaInterpreterLine(argv[0]);
  const child = spawn(file, [...prefix, ...argv.slice(1)], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  const entry = { name, child, exited: new Promise((r) => child.on('exit', (code, signal) => r(code ?? signal))) };
  children.push(entry);
  entry.exited.then((code) => {
    if (!stopping) {
      process.stderr.write(`main-job: ${name} exited unexpectedly (${code}); its log: ${path.join(logDir, `${name}.log`)}\n`);
      void stopAll(1);
    }
  });
  return entry;
}

let stopping = false;
async function stopAll(code) {
  if (stopping) return;
  stopping = true;
  // Webhook first (it flushes its export client), then the exporter (it finishes its commits and deliveries).
  for (const name of ['webhook', 'exporter']) {
    const c = children.find((x) => x.name === name);
    if (!c || c.child.exitCode !== null || c.child.signalCode !== null) continue;
    c.child.kill('SIGTERM');
    const timer = setTimeout(() => c.child.kill('SIGKILL'), 15_000);
    await c.exited;
    clearTimeout(timer);
  }
  process.exit(code);
}
process.on('SIGINT', () => {
  say('\nstopping (webhook, then exporter)...');
  void stopAll(0);
});
process.on('SIGTERM', () => void stopAll(0));

async function waitFor(label, fn, timeoutMs = 120_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (stopping) throw new Error('stopping');
    try {
      if (await fn()) return;
    } catch {
      /* not yet */
    }
    if (Date.now() > until) throw new Error(`timed out waiting for ${label}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function httpsRequest(method, urlPath, ca, body) {
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', port, path: urlPath, method, ca, servername: 'localhost', headers: body ? { 'content-type': 'application/json' } : {} },
      (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode, text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function countDecisions() {
  if (!existsSync(decisionsFile)) return {};
  const counts = {};
  for (const line of readFileSync(decisionsFile, 'utf8').split('\n')) {
    if (!line) continue;
    try {
      const t = JSON.parse(line).eventType;
      counts[t] = (counts[t] ?? 0) + 1;
    } catch {
      /* a line being written */
    }
  }
  return counts;
}

async function main() {
  const opa = opaPath();
  const crt = ensureCertificate();
  const ca = readFileSync(crt);
  const before = existsSync(decisionsFile) ? statSync(decisionsFile).size : 0;

  launch('exporter', [bins.exporter, 'run', '--data-dir', exporterDir]);
  await waitFor('the exporter socket', () => existsSync(socket), 60_000);

  launch('webhook', [
    bins.gatekeeper, 'webhook',
    '--policies', policies,
    '--cert-dir', certDir,
    '--port', String(port),
    '--export-socket', socket,
    '--cache-dir', path.join(runDir, 'wasm-cache'),
    '--exempt-namespace', 'kube-system',
    '--log-denies',
  ], { GATEKEEPER_OPA_PATH: opa });
  await waitFor('the webhook to be ready', async () => (await httpsRequest('GET', '/readyz', ca)).status === 200);

  const curl = `curl --cacert ${shown(crt)} -H 'Content-Type: application/json' --data-binary @${shown(exampleReview)} https://localhost:${port}/v1/admit`;
  say('');
  say(`webhook  https://localhost:${port}  (POST /v1/admit, POST /v1/admitlabel, GET /metrics /healthz /readyz)`);
  say(`         policies: ${shown(policies)}/ (reloaded on change), certificate: ${shown(crt)} (self-signed)`);
  say(`exporter socket ${shown(socket)}, queue ${shown(path.join(exporterDir, 'queue.db'))}, file sink ${shown(decisionsFile)}`);
  say(`logs     ${shown(path.join(logDir, 'webhook.log'))}, ${shown(path.join(logDir, 'exporter.log'))}`);
  say('');

  for (const file of [exampleReview, exampleAllowed]) {
    const r = await httpsRequest('POST', '/v1/admit', ca, readFileSync(file));
    const res = JSON.parse(r.text).response;
    say(`review ${shown(file)}: ${res.allowed ? 'allowed' : 'denied'}${res.status?.message ? `\n  ${res.status.message.split('\n').join('\n  ')}` : ''}${res.warnings ? `\n  warnings: ${res.warnings.join('; ')}` : ''}`);
  }
  say('');
  say('audit of examples/manifests (every violation is exported; the summary shows the first 20 per constraint):');
  const audit = spawn(process.execPath, [bins.gatekeeper, 'audit', '--policies', policies, '--resources', manifests, '--export-socket', socket, '--cache-dir', path.join(runDir, 'wasm-cache')], {
    cwd: root,
    env: { ...process.env, GATEKEEPER_OPA_PATH: opa },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let auditOut = '';
  audit.stdout.on('data', (d) => (auditOut += d));
  const auditCode = await new Promise((r) => audit.on('exit', r));
  say(auditOut.trimEnd().replace(/^/gm, '  '));
  if (auditCode !== 0) process.stderr.write(`main-job: the audit exited with ${auditCode}\n`);

  // The two reviews give 2 admission_decision + 5 violation_admission; the audit 1 + 11 + 1 records.
  let counts = {};
  try {
    await waitFor('decisions in the file sink', () => {
      counts = countDecisions();
      return (counts.audit_completed ?? 0) >= 1 && (counts.admission_decision ?? 0) >= 2;
    }, 30_000);
  } catch {
    /* reported below */
  }
  say('');
  say(`decisions delivered to ${shown(decisionsFile)}: ${JSON.stringify(counts)}${before ? ' (including earlier runs)' : ''}`);
  say('');
  say('send a review yourself:');
  say(`  ${curl}`);
  say('watch the decisions arrive:');
  say(`  tail -f ${shown(decisionsFile)}`);
  say('the exporter queue:');
  say(`  node ${shown(bins.exporter)} status --data-dir ${shown(exporterDir)}`);
  say('an audit of your own manifests:');
  say(`  node ${shown(bins.gatekeeper)} audit --policies ${shown(policies)} --resources <folder> --export-socket ${shown(socket)}`);
  if (smoke) {
    const ok = auditCode === 0 && (counts.audit_completed ?? 0) >= 1 && (counts.admission_decision ?? 0) >= 2;
    say(ok ? 'smoke: ok' : 'smoke: FAILED');
    await stopAll(ok ? 0 : 1);
    return;
  }
  say('');
  say('running; Ctrl-C stops everything.');
}

main().catch((e) => {
  if (stopping) return;
  process.stderr.write(`main-job: ${e.message}\n`);
  for (const c of children) process.stderr.write(`  see ${path.join(logDir, `${c.name}.log`)}\n`);
  void stopAll(1);
});
