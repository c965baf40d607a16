#!/usr/bin/env node
// Writes proto-docs/schema/decision-record.v1.schema.json from exporter/src/record/schema.ts (via the built dist).
// Usage: npx tsc -b exporter && node exporter/scripts/gen-schema.mjs [--check]
//   --check: write nothing, exit 1 if the file differs from what would be generated.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const target = path.join(root, 'proto-docs/schema/decision-record.v1.schema.json');
const { decisionRecordSchema } = await import(path.join(root, 'exporter/dist/record/schema.js'));

export const rendered = JSON.stringify(decisionRecordSchema, null, 2) + '\n';

if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(target, 'utf8');
  } catch {}
  if (current !== rendered) {
    console.error(`${path.relative(root, target)} is out of date: run node exporter/scripts/gen-schema.mjs`);
    process.exit(1);
  }
  console.log(`${path.relative(root, target)} is up to date`);
} else {
  writeFileSync(target, rendered);
  console.log(`wrote ${path.relative(root, target)}`);
}
