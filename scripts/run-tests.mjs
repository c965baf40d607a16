#!/usr/bin/env node
// Runs the tap suites and ends with the plain line CI counts: "N passed, N failed, N skipped".
// Usage: node scripts/run-tests.mjs unit|all [extra tap files...]
// A "test" here is one top-level t.test() of a test file; a file that crashes outside any test counts as one failure.
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { Parser } from 'tap-parser';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const mode = process.argv[2] ?? 'unit';
const explicit = process.argv.slice(3);

const suites = {
  unit: ['exporter/test/**/*.test.ts', 'gatekeeper/test/**/*.test.ts'],
  all: ['exporter/test/**/*.test.ts', 'gatekeeper/test/**/*.test.ts', 'test/**/*.test.ts'],
};
if (!suites[mode]) {
  console.error(`unknown mode ${mode}: use unit or all`);
  process.exit(2);
}

if (mode === 'all' && !explicit.length && process.env.SKIP_PEERS !== '1') {
  // Get every real peer first (pinned, cached outside the repo) so no test waits on a build.
  const r = spawnSync('bash', [path.join(root, 'scripts/peers/all.sh')], { stdio: 'inherit', cwd: root });
  if (r.status !== 0) {
    console.error('getting the test peers failed');
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
}

const files = explicit.length ? explicit : suites[mode];

const tap = spawn(process.execPath, [path.join(root, 'node_modules/tap/dist/esm/run.mjs'), '--reporter=tap', ...files], {
  cwd: root,
  stdio: ['ignore', 'pipe', 'inherit'],
  env: { ...process.env, FORCE_COLOR: '0' },
});

let passed = 0;
let failed = 0;
let skipped = 0;
const parser = new Parser();
// Failing assertions inside a test, at any depth, with what was expected and what came.
function watchNested(p, trail) {
  p.on('child', (c) => watchNested(c, `${trail} > ${c.name}`));
  p.on('assert', (a) => {
    if (a.ok || a.skip || a.todo || !a.diag) return;
    const d = a.diag;
    const parts = [`    ${trail} > ${a.name}`];
    for (const k of ['diff', 'found', 'wanted', 'pattern', 'error', 'message', 'code', 'signal', 'stack']) {
      if (d[k] !== undefined) parts.push(`      ${k}: ${(typeof d[k] === 'string' ? d[k] : JSON.stringify(d[k])).slice(0, 2000).replace(/\n/g, '\n        ')}`);
    }
    if (d.at) parts.push(`      at: ${d.at.fileName ?? ''}:${d.at.lineNumber ?? ''}`);
    console.log(parts.join('\n'));
  });
}

parser.on('child', (file) => {
  file.on('child', (c) => watchNested(c, `${file.name} > ${c.name}`));
  let filePassed = 0;
  let fileFailed = 0;
  let fileSkipped = 0;
  file.on('assert', (a) => {
    if (a.skip || a.todo) {
      fileSkipped++;
    } else if (a.ok) {
      filePassed++;
    } else {
      fileFailed++;
      console.log(`  not ok ${file.name} > ${a.name}`);
    }
  });
  file.on('complete', (res) => {
    // A file that died before reporting any test still counts as a failure.
    if (!res.ok && fileFailed === 0) {
      fileFailed = 1;
      console.log(`  not ok ${file.name} (file failed: ${res.failures.map((f) => f.name || f.tapError).join('; ')})`);
    }
    passed += filePassed;
    failed += fileFailed;
    skipped += fileSkipped;
    const mark = fileFailed ? 'FAIL' : 'ok  ';
    console.log(`${mark} ${file.name}: ${filePassed} passed, ${fileFailed} failed${fileSkipped ? `, ${fileSkipped} skipped` : ''}`);
  });
});
tap.stdout.pipe(parser);
tap.on('close', (code) => {
  parser.end();
  if (code !== 0 && failed === 0) failed = 1;
  console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
  process.exit(failed ? 1 : 0);
});
