// Load generator for bench/gatekeeper-webhook.ts, run in its own process so its CPU is not the webhook's.
// Usage: node --import tsx bench/_load-generator.ts '<json options>'; prints one JSON line of results.
//   mode "rate": requests scheduled at a fixed rate; latency counts from the scheduled time (no coordinated omission).
//   mode "saturate": `concurrency` requests always in flight; throughput is what the server sustains.
import { readFileSync } from 'node:fs';
import { Pool } from 'undici';

interface Options {
  url: string;
  path: string;
  caFile: string;
  bodyFile: string;
  mode: 'rate' | 'saturate';
  rate?: number;
  concurrency?: number;
  durationMs: number;
  warmupMs?: number;
}

const opts = JSON.parse(process.argv[2] ?? '{}') as Options;
const body = readFileSync(opts.bodyFile);
const pool = new Pool(opts.url, { connections: opts.mode === 'saturate' ? opts.concurrency ?? 16 : 64, pipelining: 1, connect: { ca: readFileSync(opts.caFile), servername: 'localhost' } });

let errors = 0;
let denied = 0;
/** Answers received, warm-up included: the webhook's CPU per review is its CPU time over this. */
let answered = 0;
async function one(): Promise<boolean> {
  try {
    const res = await pool.request({ method: 'POST', path: opts.path, headers: { 'content-type': 'application/json' }, body });
    const text = await res.body.text();
    answered++;
    if (res.statusCode !== 200) {
      errors++;
      return false;
    }
    if (text.includes('"allowed":false')) denied++;
    return true;
  } catch {
    errors++;
    return false;
  }
}

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function runRate(rate: number, durationMs: number, record: boolean, lat: number[]): Promise<number> {
  const interval = 1000 / rate;
  const t0 = performance.now();
  const total = Math.floor((durationMs / 1000) * rate);
  let issued = 0;
  const inflight = new Set<Promise<void>>();
  while (issued < total) {
    const now = performance.now();
    while (issued < total && t0 + issued * interval <= now) {
      const scheduled = t0 + issued * interval;
      issued++;
      const p = one().then((ok) => {
        if (ok && record) lat.push(performance.now() - scheduled);
      });
      inflight.add(p);
      void p.finally(() => inflight.delete(p));
    }
    const next = t0 + issued * interval - performance.now();
    await new Promise((r) => setTimeout(r, Math.max(0, Math.min(next, 5))));
  }
  await Promise.all(inflight);
  return performance.now() - t0;
}

async function runSaturate(concurrency: number, durationMs: number, record: boolean, lat: number[]): Promise<number> {
  const t0 = performance.now();
  const until = t0 + durationMs;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < until) {
        const s = performance.now();
        const ok = await one();
        if (ok && record) lat.push(performance.now() - s);
      }
    }),
  );
  return performance.now() - t0;
}

const lat: number[] = [];
const warm = opts.warmupMs ?? 1000;
if (opts.mode === 'rate') {
  await runRate(opts.rate ?? 500, warm, false, lat);
  errors = 0;
  denied = 0;
  const elapsed = await runRate(opts.rate ?? 500, opts.durationMs, true, lat);
  report(elapsed);
} else {
  await runSaturate(opts.concurrency ?? 16, warm, false, lat);
  errors = 0;
  denied = 0;
  const elapsed = await runSaturate(opts.concurrency ?? 16, opts.durationMs, true, lat);
  report(elapsed);
}
await pool.close();

function report(elapsedMs: number): void {
  lat.sort((a, b) => a - b);
  process.stdout.write(
    JSON.stringify({
      completed: lat.length,
      answered,
      errors,
      denied,
      elapsedMs: Math.round(elapsedMs),
      rps: Math.round((lat.length / elapsedMs) * 1000),
      p50: +percentile(lat, 50).toFixed(2),
      p90: +percentile(lat, 90).toFixed(2),
      p99: +percentile(lat, 99).toFixed(2),
      max: +(lat[lat.length - 1] ?? NaN).toFixed(2),
    }) + '\n',
  );
}
