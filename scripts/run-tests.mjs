#!/usr/bin/env node
// Runs the tap suites and ends with the plain line CI counts: "N passed, N failed, N skipped".
// Usage: node scripts/run-tests.mjs unit|all|node24 [tap files...]
// all (npm test) runs every suite on this Node, then the unit and engine tests (the unit set) on Node 24 as well,
// named "node24 > ..." (SKIP_NODE24=1 leaves that out); node24 runs the unit set, or the files named, on Node 24 only.
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
if (!suites[mode] && mode !== 'node24') {
  console.error(`unknown mode ${mode}: use unit, all or node24`);
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

const files = explicit.length ? explicit : suites[mode] ?? suites.unit;

let passed = 0;
let failed = 0;
let skipped = 0;

/** Runs tap on files with a given node; adds to the counts; names carry the prefix (e.g. "node24 > "). */
function runTap(nodeBin, tapFiles, extraEnv, prefix) {
  const tap = spawn(nodeBin, [path.join(root, 'node_modules/tap/dist/esm/run.mjs'), '--reporter=tap', ...tapFiles], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, FORCE_COLOR: '0', ...extraEnv },
  });
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
    const fileName = `${prefix}${file.name}`;
    file.on('child', (c) => watchNested(c, `${fileName} > ${c.name}`));
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
        console.log(`  not ok ${fileName} > ${a.name}`);
      }
    });
    file.on('complete', (res) => {
      // A file that died before reporting any test still counts as a failure.
      if (!res.ok && fileFailed === 0) {
        fileFailed = 1;
        console.log(`  not ok ${fileName} (file failed: ${res.failures.map((f) => f.name || f.tapError).join('; ')})`);
      }
      passed += filePassed;
      failed += fileFailed;
      skipped += fileSkipped;
      const mark = fileFailed ? 'FAIL' : 'ok  ';
      console.log(`${mark} ${fileName}: ${filePassed} passed, ${fileFailed} failed${fileSkipped ? `, ${fileSkipped} skipped` : ''}`);
    });
  });
  tap.stdout.pipe(parser);
  const failedBefore = failed;
  return new Promise((resolve) => {
    tap.on('close', (code) => {
      parser.end();
      // tap failed without any test saying so (e.g. it could not start): one failure, named.
      if (code !== 0 && failed === failedBefore) {
        failed++;
        console.log(`  not ok ${prefix}tap exited with code ${code}`);
      }
      resolve();
    });
  });
}

/**
 * The unit and engine tests again on Node 24 (the images' runtime, scripts/peers/get-node24.sh): its node first on
 * PATH (so the CLIs the tests spawn run on it too) and better-sqlite3's addon built for it (GK_EXPORTER_SQLITE_ADDON;
 * node_modules keeps the Node 20 build).
 */
async function runOnNode24(tapFiles) {
  const get = (...args) => spawnSync('bash', [path.join(root, 'scripts/peers/get-node24.sh'), ...args], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const node = get();
  const addon = get('sqlite-addon');
  if (node.status !== 0 || addon.status !== 0) {
    console.log('  not ok node24 (getting Node 24 or its better-sqlite3 build failed)');
    failed++;
    return;
  }
  const node24 = node.stdout.trim();
  const started = Date.now();
  await runTap(node24, tapFiles, { PATH: `${path.dirname(node24)}${path.delimiter}${process.env.PATH ?? ''}`, GK_EXPORTER_SQLITE_ADDON: addon.stdout.trim() }, 'node24 > ');
  console.log(`node24: ${tapFiles.join(' ')} on ${node24} took ${Math.round((Date.now() - started) / 1000)} s`);
}

if (mode === 'node24') {
  await runOnNode24(files);
} else {
  await runTap(process.execPath, files, {}, '');
  // `npm test` (all, no file named) also runs the unit and engine tests on Node 24.
  if (mode === 'all' && !explicit.length && process.env.SKIP_NODE24 !== '1') await runOnNode24(suites.unit);
}
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed ? 1 : 0);
