// An idle exporter's CPU: nothing connects, its sinks (a file and an HTTP one) have nothing to send. After a warm-up (the
// start-up's own GCs and compilation), the CPU time of all its threads over a window (schedstat, ns), per second, and
// its RSS. Builds compared (BASE_EXPORTER_BIN) run side by side: idle, they do not compete.
// env: IDLE_WARMUP_S (20), IDLE_SECONDS (30), and those of bench/_exporter-process.ts.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { builds, cpuNanos, startExporter, stopExporter, type Build } from './_exporter-process.js';

const WARMUP_S = Number(process.env['IDLE_WARMUP_S'] ?? 20);
const SECONDS = Number(process.env['IDLE_SECONDS'] ?? 30);

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function idle(build: Build): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-idle-'));
  const { child } = await startExporter(build.bin, dir, {
    socket: path.join(dir, 'exporter.sock'),
    queue: { path: path.join(dir, 'queue.db') },
    sinks: [
      { name: 'file', type: 'file', path: path.join(dir, 'decisions.ndjson') },
      { name: 'web', type: 'http', url: 'http://127.0.0.1:9/ingest' },
    ],
  });
  try {
    await new Promise((r) => setTimeout(r, WARMUP_S * 1000));
    const c0 = cpuNanos(child.pid!);
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, SECONDS * 1000));
    const perSecond = (cpuNanos(child.pid!) - c0) / 1e6 / ((performance.now() - t0) / 1000);
    return `${build.label}idle exporter (file + HTTP sink, nothing to send), ${SECONDS} s after ${WARMUP_S} s: CPU ${perSecond.toFixed(2)} ms/s (all threads); RSS ${rssMb(child.pid!).toFixed(0)} MB`;
  } finally {
    await stopExporter(child);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

console.log(`exporter-idle: node ${process.version}, ${os.cpus().length} CPUs`);
for (const line of await Promise.all(builds().map(idle))) console.log(line);
process.exit(0);
