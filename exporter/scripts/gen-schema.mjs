#!/usr/bin/env node
// Writes proto-docs/schema/decision-record.v1.schema.json from exporter/src/record/schema.ts and
// proto-docs/schema/exporter-config.schema.json from exporter/src/config/ (via the built dist).
// Usage: npx tsc -b exporter && node exporter/scripts/gen-schema.mjs [--check]
//   --check: write nothing, exit 1 if a file differs from what would be generated.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const { decisionRecordSchema } = await import(path.join(root, 'exporter/dist/record/schema.js'));
const { exporterConfigSchema } = await import(path.join(root, 'exporter/dist/config/full-schema.js'));

const render = (schema) => JSON.stringify(schema, null, 2) + '\n';
export const generated = {
  'proto-docs/schema/decision-record.v1.schema.json': render(decisionRecordSchema),
  'proto-docs/schema/exporter-config.schema.json': render(exporterConfigSchema()),
};

let stale = 0;
for (const [file, rendered] of Object.entries(generated)) {
  const target = path.join(root, file);
  if (process.argv.includes('--check')) {
    let current = '';
    try {
      current = readFileSync(target, 'utf8');
    } catch {}
    if (current === rendered) console.log(`${file} is up to date`);
    else {
      console.error(`${file} is out of date: run node exporter/scripts/gen-schema.mjs`);
      stale++;
    }
  } else {
    writeFileSync(target, rendered);
    console.log(`wrote ${file}`);
  }
}
if (stale) process.exit(1);
