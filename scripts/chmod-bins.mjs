#!/usr/bin/env node
// Makes every workspace bin executable after the build. `npm ci` links bins before they are built, so it cannot set
// their mode; without it `npx exporter` and running the bin directly (its #! line carries node options) fail with EACCES.
import { chmodSync, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { workspaces = [] } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
for (const ws of workspaces) {
  const pkg = JSON.parse(readFileSync(path.join(root, ws, 'package.json'), 'utf8'));
  const bins = typeof pkg.bin === 'string' ? [pkg.bin] : Object.values(pkg.bin ?? {});
  for (const bin of bins) {
    const file = path.join(root, ws, bin);
    if (!existsSync(file)) {
      console.error(`chmod-bins: ${path.relative(root, file)} (bin of ${pkg.name}) does not exist after the build`);
      process.exit(1);
    }
    chmodSync(file, 0o755);
  }
}
