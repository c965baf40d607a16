// Webhook throughput and latency with the 30 library templates and one constraint each, for a typical Pod review:
// at a fixed 500 reviews/s and at saturation, without and with export to a real exporter (file sink); peak RSS.
// The load comes from a separate process (bench/_load-generator.ts). Prints figures, asserts nothing.
// Targets on the 2-core machine: p99 < 5 ms at 500/s; >= 2,000 reviews/s at saturation; export adds < 10 %.
// Env: BENCH_SECONDS (per measurement, default 8), BENCH_CONCURRENCY (saturation, default 16), BENCH_RATE (default 500),
// BENCH_EVAL_WORKERS (the webhook's --eval-workers, default 0: evaluation on the main thread), BENCH_CASES (comma-separated:
// plain,export; default both), GATEKEEPER_BIN / EXPORTER_BIN (another build, for interleaved A/B runs), WEBHOOK_NODE_ARGS
// (node flags for the webhook process, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" or "--trace-gc"), BENCH_KEEP_LOGS=1
// (keep the processes' output).
// CPU per review is each process's user+system time (/proc/<pid>/stat, all its threads) over the reviews answered in
// that phase, warm-up included: unlike latency it barely moves when other processes share the cores.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, openSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const library = path.resolve(root, '..', 'shared', 'gatekeeper-library', 'general');
const seconds = Number(process.env['BENCH_SECONDS'] ?? 8);
const concurrency = Number(process.env['BENCH_CONCURRENCY'] ?? 16);
const rate = Number(process.env['BENCH_RATE'] ?? 500);
/** Evaluation worker threads for the webhook (--eval-workers); 0: evaluation on the main thread. */
const evalWorkers = Number(process.env['BENCH_EVAL_WORKERS'] ?? 0);
const bins = {
  gatekeeper: process.env['GATEKEEPER_BIN'] ?? path.join(root, 'gatekeeper/dist/cli/main.js'),
  exporter: process.env['EXPORTER_BIN'] ?? path.join(root, 'exporter/dist/cli/main.js'),
};
const webhookNodeArgs = (process.env['WEBHOOK_NODE_ARGS'] ?? '').split(' ').filter(Boolean);
const cases = new Set((process.env['BENCH_CASES'] ?? 'plain,export').split(',').map((c) => c.trim()));
const work = mkdtempSync(path.join(os.tmpdir(), 'gk-bench-webhook-'));

function opaPath(): string {
  const out = execFileSync('bash', [path.join(root, 'scripts/peers/get-opa.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  return out.trim().split('\n').pop()!;
}

/** The 30 library templates, each with the constraint of its first sample. */
function libraryPolicies(dir: string): { templates: number; constraints: number } {
  mkdirSync(dir, { recursive: true });
  let templates = 0;
  let constraints = 0;
  for (const name of readdirSync(library).sort()) {
    const tpl = path.join(library, name, 'template.yaml');
    if (!existsSync(tpl)) continue;
    copyFileSync(tpl, path.join(dir, `${name}-template.yaml`));
    templates++;
    const samples = path.join(library, name, 'samples');
    const first = existsSync(samples) ? readdirSync(samples).sort().find((s) => existsSync(path.join(samples, s, 'constraint.yaml'))) : undefined;
    if (first) {
      copyFileSync(path.join(samples, first, 'constraint.yaml'), path.join(dir, `${name}-constraint.yaml`));
      constraints++;
    }
  }
  return { templates, constraints };
}

/** A typical Deployment-made Pod: two containers, labels, resources, probes. */
function podReview(): object {
  const container = (name: string, image: string) => ({
    name,
    image,
    ports: [{ containerPort: 8080 }],
    resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '500m', memory: '256Mi' } },
    readinessProbe: { httpGet: { path: '/ready', port: 8080 } },
    livenessProbe: { httpGet: { path: '/live', port: 8080 } },
    securityContext: { allowPrivilegeEscalation: false, runAsNonRoot: true },
  });
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: '3b1f4c9e-0000-4000-8000-000000000001',
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      namespace: 'payments',
      operation: 'CREATE',
      userInfo: { username: 'system:serviceaccount:kube-system:replicaset-controller', groups: ['system:serviceaccounts'] },
      object: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name: 'checkout-7d4b9c-x2k8f',
          generateName: 'checkout-7d4b9c-',
          namespace: 'payments',
          labels: { app: 'checkout', 'app.kubernetes.io/name': 'checkout', owner: 'payments-team', 'pod-template-hash': '7d4b9c' },
          annotations: { 'prometheus.io/scrape': 'true' },
          ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'checkout-7d4b9c', uid: 'abc', controller: true }],
        },
        spec: {
          serviceAccountName: 'checkout',
          automountServiceAccountToken: false,
          containers: [container('checkout', 'openpolicyagent/checkout:3.1.0'), container('envoy', 'openpolicyagent/envoy:1.30.1')],
        },
      },
      dryRun: false,
    },
  };
}

/** CPU time (user + system, every thread) the process has used so far, in microseconds. */
function cpuMicros(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1e6) / 100; // utime + stime, USER_HZ 100
  } catch {
    return NaN;
  }
}

function rssPeakKiB(pid: number): number | undefined {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

async function waitFor(label: string, fn: () => Promise<boolean> | boolean, timeoutMs = 300_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await fn()) return;
    } catch {
      /* not yet */
    }
    if (Date.now() > until) throw new Error(`timed out waiting for ${label}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The child's output goes straight to logFile (kept with BENCH_KEEP_LOGS, e.g. for --trace-gc). */
function launch(argv: string[], env: NodeJS.ProcessEnv, logFile: string): ChildProcess {
  const fd = openSync(logFile, 'a');
  const child = spawn(process.execPath, argv, { env, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  started.add(child);
  child.on('exit', () => started.delete(child));
  return child;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(t);
}

function generate(opts: object): Promise<any> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'bench/_load-generator.ts'), JSON.stringify(opts)], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop()!)) : reject(new Error(`load generator exited ${code}`))));
  });
}

interface Case {
  label: string;
  fixed: any;
  saturated: any;
  /** CPU µs per review answered: the webhook's, and the exporter's when exporting. */
  cpu: { fixed: { webhook: number; exporter?: number }; saturated: { webhook: number; exporter?: number } };
  rssKiB?: number;
  exported?: number;
}

/** A port the OS just gave out (listen on 0), so runs never collide with what else runs on the machine. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

const started = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of started) c.kill('SIGKILL');
});

async function runCase(label: string, withExport: boolean, common: { policies: string; certDir: string; opa: string; bodyFile: string }): Promise<Case> {
  const port = await freePort();
  const exporterDir = path.join(work, `exporter-${label.replace(/\W+/g, '-')}`);
  let exporter: ChildProcess | undefined;
  const args = [bins.gatekeeper, 'webhook', '--policies', common.policies, '--cert-dir', common.certDir, '--port', String(port), '--host', '127.0.0.1', '--log-level', 'warn', '--eval-workers', String(evalWorkers)];
  if (withExport) {
    exporter = launch([bins.exporter, 'run', '--data-dir', exporterDir, '--log-level', 'warn'], process.env, path.join(work, `exporter-${label.replace(/\W+/g, '-')}.log`));
    await waitFor('exporter socket', () => existsSync(path.join(exporterDir, 'exporter.sock')), 60_000);
    args.push('--export-socket', path.join(exporterDir, 'exporter.sock'));
  }
  const webhook = launch([...webhookNodeArgs, ...args], { ...process.env, GATEKEEPER_OPA_PATH: common.opa }, path.join(work, `webhook-${label.replace(/\W+/g, '-')}.log`));
  const agent = new Agent({ connect: { ca: readFileSync(path.join(common.certDir, 'tls.crt')), servername: 'localhost' } });
  await waitFor('webhook ready', async () => (await (await request(`https://127.0.0.1:${port}/readyz`, { dispatcher: agent })).body.text()) === 'ok\n');
  await agent.close();
  const base = { url: `https://127.0.0.1:${port}`, path: '/v1/admit', caFile: path.join(common.certDir, 'tls.crt'), bodyFile: common.bodyFile, durationMs: seconds * 1000 };
  const measured = async (opts: object) => {
    const w0 = cpuMicros(webhook.pid);
    const e0 = cpuMicros(exporter?.pid);
    const r = await generate(opts);
    const perReview = (us: number) => Math.round((us / Math.max(1, r.answered)) * 10) / 10;
    const cpu = { webhook: perReview(cpuMicros(webhook.pid) - w0), ...(exporter ? { exporter: perReview(cpuMicros(exporter.pid) - e0) } : {}) };
    return { r, cpu };
  };
  const fixed = await measured({ ...base, mode: 'rate', rate });
  const saturated = await measured({ ...base, mode: 'saturate', concurrency });
  const rssKiB = rssPeakKiB(webhook.pid!);
  await stop(webhook);
  let exported: number | undefined;
  if (exporter) {
    await stop(exporter);
    // The file sink rotates: count the active file and every rotated one (decisions.<time>.ndjson).
    exported = readdirSync(exporterDir)
      .filter((f) => /^decisions(\..+)?\.ndjson$/.test(f))
      .reduce((n, f) => n + readFileSync(path.join(exporterDir, f), 'utf8').split('\n').filter(Boolean).length, 0);
  }
  return { label, fixed: fixed.r, saturated: saturated.r, cpu: { fixed: fixed.cpu, saturated: saturated.cpu }, ...(rssKiB ? { rssKiB } : {}), ...(exported !== undefined ? { exported } : {}) };
}

async function main(): Promise<void> {
  const opa = opaPath();
  const policies = path.join(work, 'policies');
  const counts = libraryPolicies(policies);
  const certDir = path.join(work, 'certs');
  mkdirSync(certDir);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', path.join(certDir, 'tls.key'), '-out', path.join(certDir, 'tls.crt')], { stdio: 'ignore' });
  const bodyFile = path.join(work, 'review.json');
  writeFileSync(bodyFile, JSON.stringify(podReview()));
  console.log(`policies: ${counts.templates} library templates, ${counts.constraints} constraints; review: a 2-container Pod (${readFileSync(bodyFile).length} bytes)`);
  console.log(`each figure: ${seconds} s after 1 s of warm-up; fixed rate ${rate}/s; saturation with ${concurrency} requests in flight; load from a separate process; --eval-workers ${evalWorkers}`);
  console.log(`machine: ${os.cpus().length} cores, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} at start`);

  const cpu = (c: { webhook: number; exporter?: number }) => `CPU/review: webhook ${c.webhook} µs${c.exporter !== undefined ? `, exporter ${c.exporter} µs` : ''}`;
  const row = (c: Case) =>
    `${c.label.padEnd(10)} | ${rate}/s: p50 ${c.fixed.p50} ms, p90 ${c.fixed.p90} ms, p99 ${c.fixed.p99} ms, max ${c.fixed.max} ms (${c.fixed.completed} ok, ${c.fixed.errors} errors), ${cpu(c.cpu.fixed)}` +
    ` | saturation: ${c.saturated.rps}/s, p50 ${c.saturated.p50} ms, p99 ${c.saturated.p99} ms (${c.saturated.errors} errors), ${cpu(c.cpu.saturated)}` +
    ` | webhook peak RSS ${c.rssKiB ? Math.round(c.rssKiB / 1024) + ' MiB' : 'n/a'}${c.exported !== undefined ? ` | records in the file sink: ${c.exported}` : ''}`;
  const common = { policies, certDir, opa, bodyFile };
  const a = cases.has('plain') ? await runCase('no export', false, common) : undefined;
  if (a) console.log(row(a));
  const b = cases.has('export') ? await runCase('export', true, common) : undefined;
  if (b) console.log(row(b));
  if (a && b) {
    console.log(
      `denied per review: ${a.fixed.denied ? 'yes' : 'no'}; export cost at saturation: ${(((a.saturated.rps - b.saturated.rps) / a.saturated.rps) * 100).toFixed(1)} % throughput, ` +
        `p99 at ${rate}/s ${a.fixed.p99} -> ${b.fixed.p99} ms; webhook CPU per review at saturation ${a.cpu.saturated.webhook} -> ${b.cpu.saturated.webhook} µs (+ exporter ${b.cpu.saturated.exporter} µs)`,
    );
  }
  if (process.env['BENCH_KEEP_LOGS']) console.log(`logs kept under ${work}`);
  else rmSync(work, { recursive: true, force: true });
}

main().catch((e) => {
  console.error(`bench failed: ${(e as Error).message} (logs under ${work})`);
  process.exit(1);
});
