// Where the opa CLI is: --opa-path, then $GATEKEEPER_OPA_PATH, then `opa` on PATH, then the project's peer cache
// ($PEERS_CACHE or $XDG_CACHE_HOME/gk-exporter/peers, filled by scripts/peers/get-opa.sh).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

function executable(p: string): boolean {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

export function findOpa(explicit?: string): string {
  if (explicit) {
    if (!executable(explicit)) throw new Error(`opa not found or not executable at --opa-path ${explicit}`);
    return explicit;
  }
  const env = process.env.GATEKEEPER_OPA_PATH;
  if (env) {
    if (!executable(env)) throw new Error(`opa not found or not executable at GATEKEEPER_OPA_PATH=${env}`);
    return env;
  }
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && executable(path.join(dir, 'opa'))) return path.join(dir, 'opa');
  }
  const cache = process.env.PEERS_CACHE ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'gk-exporter', 'peers');
  const candidates = fs.existsSync(cache)
    ? fs
        .readdirSync(cache)
        .filter((d) => d.startsWith('opa-'))
        .sort((a, b) => b.localeCompare(a, undefined, { numeric: true }))
    : [];
  for (const d of candidates) {
    if (executable(path.join(cache, d, 'opa'))) return path.join(cache, d, 'opa');
  }
  throw new Error(
    'opa not found: pass --opa-path, set GATEKEEPER_OPA_PATH, put opa on PATH, or run scripts/peers/get-opa.sh to build the pinned version',
  );
}

export function defaultCacheDir(): string {
  return path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'gk-exporter', 'wasm');
}
