import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const sharedDir = path.resolve(repoRoot, '..', 'shared');

/** Path of a pinned peer (opa, helm, kafka, ...), got by scripts/peers/get-<name>.sh: cached, built once. */
export function peerPath(name: string): string {
  const out = execFileSync('bash', [path.join(repoRoot, 'scripts/peers', `get-${name}.sh`)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return out.trim().split('\n').pop()!;
}

/** The built CLI entry points (npm test builds before running tests). */
export const bins = {
  exporter: path.join(repoRoot, 'exporter/dist/cli/main.js'),
  gatekeeper: path.join(repoRoot, 'gatekeeper/dist/cli/main.js'),
};
