// Webhook throughput and latency with the 30 library templates and one constraint each, for a typical Pod review:
// at a fixed 500 reviews/s and at saturation, without and with export to a real exporter (file sink); peak RSS.
// The load comes from a separate process (bench/_load-generator.ts). Prints figures, asserts nothing.
// Targets on the 2-core machine: p99 < 5 ms at 500/s; >= 2,000 reviews/s at saturation; export adds < 5 %.
// Env: BENCH_SECONDS (per measurement, default 8), BENCH_CONCURRENCY (saturation, default 16), BENCH_RATE (default 500),
// BENCH_EVAL_WORKERS (the webhook's --eval-workers, default 0: evaluation on the main thread), BENCH_CASES (comma-separated:
// plain,export; default both), BENCH_PHASES (comma-separated: fixed,saturated; default both), BENCH_POLICIES (library,
// default; or requiredlabels: the one template and constraint of bench/cluster-gatekeeper.ts, where the request path
// around the evaluation dominates), GATEKEEPER_BIN / EXPORTER_BIN (another build), BASE_GATEKEEPER_BIN / BASE_EXPORTER_BIN
// (a second build measured in the same run: every round runs both, in alternating order, and medians are printed),
// BENCH_ROUNDS (default 1), BENCH_PIN=1 (the webhook alone on the first CPU, the load generator and the exporter on the
// second: the webhook with a core of its own and the sidecar beside it, as in a pod whose containers each request a CPU;
// the second CPU is busy with the load in both cases, but more so with the exporter), BENCH_NEIGHBOUR=1 (with BENCH_PIN: a
// busy loop on the second CPU too, in every case, so that its work weighs on the webhook's core alike and export's
// difference is the webhook's own: as in bench/gatekeeper-webhook-export.ts), WEBHOOK_NODE_ARGS (node flags for the webhook process, e.g. "--cpu-prof
// --cpu-prof-dir=/tmp/prof" or "--trace-gc"), BENCH_KEEP_LOGS=1 (keep the processes' output).
// CPU per review is each process's user+system time (/proc/<pid>/stat, all its threads) over the reviews answered in
// that phase, warm-up included. It moves less than latency when other processes share the cores, but on a machine
// loaded by others it still swung 140-480 µs for one build (2026-12-06): compare builds within one run (BASE_*).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import { BUSY_LOOP_ARGS, cpuMicros, libraryPolicies, opaPath, podReview, requiredLabelsPolicies } from './_webhook-fixtures.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const seconds = Number(process.env['BENCH_SECONDS'] ?? 8);
const concurrency = Number(process.env['BENCH_CONCURRENCY'] ?? 16);
const rate = Number(process.env['BENCH_RATE'] ?? 500);
/** Evaluation worker threads for the webhook (--eval-workers); 0: evaluation on the main thread. */
const evalWorkers = Number(process.env['BENCH_EVAL_WORKERS'] ?? 0);
interface Build {
  label: string;
  gatekeeper: string;
  exporter: string;
}
const builds: Build[] = [
  {
    label: 'this build',
    gatekeeper: process.env['GATEKEEPER_BIN'] ?? path.join(root, 'gatekeeper/dist/cli/main.js'),
    exporter: process.env['EXPORTER_BIN'] ?? path.join(root, 'exporter/dist/cli/main.js'),
  },
];
if (process.env['BASE_GATEKEEPER_BIN']) {
  builds.unshift({
    label: 'base build',
    gatekeeper: process.env['BASE_GATEKEEPER_BIN'],
    exporter: process.env['BASE_EXPORTER_BIN'] ?? builds[0]!.exporter,
  });
}
const rounds = Number(process.env['BENCH_ROUNDS'] ?? 1);
const phases = new Set((process.env['BENCH_PHASES'] ?? 'fixed,saturated').split(',').map((c) => c.trim()));
const policySet = process.env['BENCH_POLICIES'] ?? 'library';
const webhookNodeArgs = (process.env['WEBHOOK_NODE_ARGS'] ?? '').split(' ').filter(Boolean);
const cases = new Set((process.env['BENCH_CASES'] ?? 'plain,export').split(',').map((c) => c.trim()));
const work = mkdtempSync(path.join(os.tmpdir(), 'gk-bench-webhook-'));
const pin = process.env['BENCH_PIN'] === '1' && os.availableParallelism() >= 2;
const neighbour = pin && process.env['BENCH_NEIGHBOUR'] === '1';

/** The command that runs node with argv, on the given CPU when BENCH_PIN is set (every thread it starts inherits it). */
function nodeOn(cpu: 0 | 1, argv: string[]): [string, string[]] {
  return pin ? ['taskset', ['-c', String(cpu), process.execPath, ...argv]] : [process.execPath, argv];
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
function launch(cpu: 0 | 1, argv: string[], env: NodeJS.ProcessEnv, logFile: string): ChildProcess {
  const fd = openSync(logFile, 'a');
  const [cmd, args] = nodeOn(cpu, argv);
  const child = spawn(cmd, args, { env, stdio: ['ignore', fd, fd] });
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
    const [cmd, args] = nodeOn(1, ['--import', 'tsx', path.join(root, 'bench/_load-generator.ts'), JSON.stringify(opts)]);
    const child = spawn(cmd, args, {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop()!)) : reject(new Error(`load generator exited ${code}`))));
  });
}

/** CPU µs per review answered: the webhook's (of which in the kernel: webhookSys), and the exporter's when exporting. */
interface CaseCpu {
  webhook: number;
  webhookSys: number;
  exporter?: number;
}

interface Case {
  label: string;
  build: string;
  fixed?: any;
  saturated?: any;
  cpu: { fixed?: CaseCpu; saturated?: CaseCpu };
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

async function runCase(label: string, build: Build, withExport: boolean, common: { policies: string; certDir: string; opa: string; bodyFile: string }): Promise<Case> {
  const port = await freePort();
  const tag = `${build.label}-${label}-${port}`.replace(/\W+/g, '-');
  const exporterDir = path.join(work, `exporter-${tag}`);
  let exporter: ChildProcess | undefined;
  const args = [build.gatekeeper, 'webhook', '--policies', common.policies, '--cert-dir', common.certDir, '--port', String(port), '--host', '127.0.0.1', '--log-level', 'warn', '--eval-workers', String(evalWorkers)];
  if (withExport) {
    exporter = launch(1, [build.exporter, 'run', '--data-dir', exporterDir, '--log-level', 'warn'], process.env, path.join(work, `exporter-${tag}.log`));
    await waitFor('exporter socket', () => existsSync(path.join(exporterDir, 'exporter.sock')), 60_000);
    args.push('--export-socket', path.join(exporterDir, 'exporter.sock'));
  }
  const webhook = launch(0, [...webhookNodeArgs, ...args], { ...process.env, GATEKEEPER_OPA_PATH: common.opa }, path.join(work, `webhook-${tag}.log`));
  const agent = new Agent({ connect: { ca: readFileSync(path.join(common.certDir, 'tls.crt')), servername: 'localhost' } });
  await waitFor('webhook ready', async () => (await (await request(`https://127.0.0.1:${port}/readyz`, { dispatcher: agent })).body.text()) === 'ok\n');
  await agent.close();
  const base = { url: `https://127.0.0.1:${port}`, path: '/v1/admit', caFile: path.join(common.certDir, 'tls.crt'), bodyFile: common.bodyFile, durationMs: seconds * 1000 };
  const measured = async (opts: object) => {
    const w0 = cpuMicros(webhook.pid);
    const s0 = cpuMicros(webhook.pid, true);
    const e0 = cpuMicros(exporter?.pid);
    const r = await generate(opts);
    const perReview = (us: number) => Math.round((us / Math.max(1, r.answered)) * 10) / 10;
    const cpu = {
      webhook: perReview(cpuMicros(webhook.pid) - w0),
      webhookSys: perReview(cpuMicros(webhook.pid, true) - s0),
      ...(exporter ? { exporter: perReview(cpuMicros(exporter.pid) - e0) } : {}),
    };
    return { r, cpu };
  };
  const fixed = phases.has('fixed') ? await measured({ ...base, mode: 'rate', rate }) : undefined;
  const saturated = phases.has('saturated') ? await measured({ ...base, mode: 'saturate', concurrency }) : undefined;
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
  return {
    label,
    build: build.label,
    ...(fixed ? { fixed: fixed.r } : {}),
    ...(saturated ? { saturated: saturated.r } : {}),
    cpu: { ...(fixed ? { fixed: fixed.cpu } : {}), ...(saturated ? { saturated: saturated.cpu } : {}) },
    ...(rssKiB ? { rssKiB } : {}),
    ...(exported !== undefined ? { exported } : {}),
  };
}

const median = (xs: number[]): number => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const round1 = (x: number) => Math.round(x * 10) / 10;

async function main(): Promise<void> {
  if (neighbour) {
    const [cmd, args] = nodeOn(1, [...BUSY_LOOP_ARGS]);
    const loop = spawn(cmd, args, { stdio: 'ignore' });
    started.add(loop);
    loop.unref(); // the bench exits when it is done; the exit handler kills the loop
  }
  const opa = opaPath();
  const policies = path.join(work, 'policies');
  const counts = policySet === 'requiredlabels' ? requiredLabelsPolicies(policies) : libraryPolicies(policies);
  const certDir = path.join(work, 'certs');
  mkdirSync(certDir);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', path.join(certDir, 'tls.key'), '-out', path.join(certDir, 'tls.crt')], { stdio: 'ignore' });
  const bodyFile = path.join(work, 'review.json');
  writeFileSync(bodyFile, JSON.stringify(podReview()));
  const what = policySet === 'requiredlabels' ? 'the K8sRequiredLabels template and constraint of bench/cluster-gatekeeper.ts' : `${counts.templates} library templates, ${counts.constraints} constraints`;
  console.log(`policies: ${what}; review: a 2-container Pod (${readFileSync(bodyFile).length} bytes)`);
  console.log(`each figure: ${seconds} s after 1 s of warm-up; fixed rate ${rate}/s; saturation with ${concurrency} requests in flight; load from a separate process; --eval-workers ${evalWorkers}`);
  if (builds.length > 1) console.log(`builds: ${builds.map((b) => `${b.label} ${b.gatekeeper}`).join('; ')}; ${rounds} round(s), order alternating`);
  const loadavg = () => os.loadavg().map((l) => l.toFixed(1)).join(' ');
  console.log(`machine: ${os.cpus().length} cores, load average ${loadavg()} at start${pin ? `; BENCH_PIN: the webhook on CPU 0, the load generator and the exporter on CPU 1${neighbour ? ' with a busy loop' : ''}` : ''}`);

  const cpu = (c: CaseCpu) => `CPU/review: webhook ${c.webhook} µs (kernel ${c.webhookSys} µs)${c.exporter !== undefined ? `, exporter ${c.exporter} µs` : ''}`;
  const row = (c: Case) =>
    `${builds.length > 1 ? `${c.build.padEnd(10)} | ` : ''}${c.label.padEnd(10)}` +
    (c.fixed ? ` | ${rate}/s: p50 ${c.fixed.p50} ms, p90 ${c.fixed.p90} ms, p99 ${c.fixed.p99} ms, max ${c.fixed.max} ms (${c.fixed.completed} ok, ${c.fixed.errors} errors), ${cpu(c.cpu.fixed!)}` : '') +
    (c.saturated ? ` | saturation: ${c.saturated.rps}/s, p50 ${c.saturated.p50} ms, p99 ${c.saturated.p99} ms (${c.saturated.errors} errors), ${cpu(c.cpu.saturated!)}` : '') +
    ` | webhook peak RSS ${c.rssKiB ? Math.round(c.rssKiB / 1024) + ' MiB' : 'n/a'}${c.exported !== undefined ? ` | records in the file sink: ${c.exported}` : ''}`;
  const common = { policies, certDir, opa, bodyFile };
  const wanted: Array<[string, boolean]> = [];
  if (cases.has('plain')) wanted.push(['no export', false]);
  if (cases.has('export')) wanted.push(['export', true]);
  const results: Case[] = [];
  for (let r = 0; r < rounds; r++) {
    // Alternate the order so that a load drifting during the run weighs on both sides alike (A B, then B A, ...).
    const order = r % 2 ? [...builds].reverse() : builds;
    for (const [label, withExport] of r % 2 && builds.length === 1 ? [...wanted].reverse() : wanted) {
      for (const b of order) {
        const c = await runCase(label, b, withExport, common);
        results.push(c);
        console.log(`${rounds > 1 ? `round ${r + 1}, load ${loadavg()} | ` : ''}${row(c)}`);
      }
    }
  }
  const summary = (b: Build, label: string) => {
    const cs = results.filter((c) => c.build === b.label && c.label === label);
    return {
      n: cs.length,
      rps: median(cs.map((c) => c.saturated?.rps ?? NaN)),
      satWebhook: round1(median(cs.map((c) => c.cpu.saturated?.webhook ?? NaN))),
      satExporter: round1(median(cs.map((c) => c.cpu.saturated?.exporter ?? NaN))),
      fixedWebhook: round1(median(cs.map((c) => c.cpu.fixed?.webhook ?? NaN))),
      p99: median(cs.map((c) => c.fixed?.p99 ?? NaN)),
      denied: cs.some((c) => c.fixed?.denied || c.saturated?.denied),
    };
  };
  console.log(`medians${rounds > 1 ? ` of ${rounds} rounds` : ''}, load average ${loadavg()} at the end:`);
  for (const b of builds) {
    const plain = cases.has('plain') ? summary(b, 'no export') : undefined;
    const exp = cases.has('export') ? summary(b, 'export') : undefined;
    for (const [label, s] of [['no export', plain], ['export', exp]] as const) {
      if (!s) continue;
      console.log(
        `  ${builds.length > 1 ? `${b.label}, ` : ''}${label}:` +
          (phases.has('saturated') ? ` saturation ${s.rps}/s, webhook CPU/review ${s.satWebhook} µs${label === 'export' ? ` (+ exporter ${s.satExporter} µs)` : ''}` : '') +
          (phases.has('fixed') ? ` | ${rate}/s: p99 ${s.p99} ms, webhook CPU/review ${s.fixedWebhook} µs` : ''),
      );
    }
    if (plain && exp && phases.has('saturated')) {
      console.log(
        `  ${builds.length > 1 ? `${b.label}, ` : ''}export cost at saturation: ${(((plain.rps - exp.rps) / plain.rps) * 100).toFixed(1)} % throughput, ` +
          `webhook CPU/review ${plain.satWebhook} -> ${exp.satWebhook} µs (${(((exp.satWebhook - plain.satWebhook) / plain.satWebhook) * 100).toFixed(1)} %; ` +
          `with the exporter's ${(((exp.satWebhook + exp.satExporter - plain.satWebhook) / plain.satWebhook) * 100).toFixed(1)} %); denied per review: ${plain.denied ? 'yes' : 'no'}`,
      );
    }
  }
  if (process.env['BENCH_KEEP_LOGS']) console.log(`logs kept under ${work}`);
  else rmSync(work, { recursive: true, force: true });
}

main().catch((e) => {
  console.error(`bench failed: ${(e as Error).message} (logs under ${work})`);
  process.exit(1);
});
