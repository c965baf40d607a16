#!/usr/bin/env node
// Runs every benchmark under bench/ (or the ones named), one at a time so they don't compete for the 2 cores,
// and prints their figures. Benchmarks print; they never assert.
// Usage: npm run bench [-- name-substring ...]
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const wanted = process.argv.slice(2);
const benches = readdirSync(path.join(root, 'bench'))
  .filter((f) => f.endsWith('.ts') && !f.startsWith('_'))
  .filter((f) => !wanted.length || wanted.some((w) => f.includes(w)))
  .sort();
const timeoutMs = Number(process.env.BENCH_TIMEOUT_MS ?? 600_000);
let failed = 0;
for (const file of benches) {
  console.log(`\n=== ${file}`);
  const started = Date.now();
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join('bench', file)], {
    cwd: root,
    stdio: 'inherit',
    timeout: timeoutMs,
  });
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  if (r.status !== 0) {
    failed++;
    console.log(`=== ${file}: FAILED (${r.error?.message ?? `exit ${r.status ?? r.signal}`}) after ${secs} s`);
  } else {
    console.log(`=== ${file}: done in ${secs} s`);
  }
}
process.exit(failed ? 1 : 0);
