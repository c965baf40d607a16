// Writes gatekeeper/crds/*.yaml from crds.ts (the chart templates them from there).
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { staticCrdManifests } from './crds.js';

const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../crds');
for (const [name, text] of Object.entries(await staticCrdManifests())) {
  await writeFile(path.join(dir, name), text);
  console.log(path.join(dir, name));
}
