// Replays a Dockerfile's production-dependencies stage (the one whose /src the runtime copies to /app) in a folder:
// its build-context COPYs, its `npm ci --omit=dev ...` exactly as written, and its COPY --from=build of the compiled
// dist (taken from the repository's `npm run build` output, which is what the build stage's `tsc -b` produces).
// npm runs with --ignore-scripts: the one install script of the production tree, better-sqlite3's, compiles its addon
// against the runtime Node's headers, and that very compilation is the cached one of scripts/peers/get-node24.sh,
// copied where the install script would put it. Any other package with an install script stops the build.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const SQLITE_ADDON_PATH = 'build/Release/better_sqlite3.node';

/**
 * @param {{ stage: { instructions: { keyword: string, args: string, line: number }[] }, repo: string, dir: string, sqliteAddon: string }} o
 */
export function replayDepsStage(o) {
  for (const ins of o.stage.instructions) {
    const at = `line ${ins.line}: ${ins.keyword} ${ins.args}`;
    if (ins.keyword === 'WORKDIR') {
      if (ins.args !== '/src') throw new Error(`${at}: the deps stage is expected to work in /src`);
    } else if (ins.keyword === 'COPY' && !ins.args.startsWith('--')) {
      const parts = ins.args.split(' ');
      const dest = parts.at(-1);
      for (const src of parts.slice(0, -1)) {
        const target = dest.endsWith('/') ? path.join(o.dir, dest, path.basename(src)) : path.join(o.dir, dest);
        fs.mkdirSync(path.dirname(target), { recursive: true });
        fs.cpSync(path.join(o.repo, src), target, { recursive: true });
      }
    } else if (ins.keyword === 'COPY' && /^--from=build \/src\/\S+ \S+$/.test(ins.args)) {
      const [, src, dest] = ins.args.split(' ');
      const from = path.join(o.repo, path.relative('/src', src));
      if (!fs.existsSync(from)) throw new Error(`${at}: ${from} is missing: run npm run build first`);
      fs.cpSync(from, path.join(o.dir, dest), { recursive: true });
    } else if (ins.keyword === 'RUN' && /^apt-get /.test(ins.args)) {
      // Build tools for native addons; this host has them (node-gyp compiled the addon with them).
    } else if (ins.keyword === 'RUN' && /^npm ci /.test(ins.args)) {
      const [install, ...rest] = ins.args.split('&&').map((s) => s.trim());
      const args = install.split(/\s+/).slice(1);
      execFileSync('npm', [...args, '--ignore-scripts', '--prefer-offline'], { cwd: o.dir, stdio: ['ignore', 'ignore', 'inherit'] });
      placeNativeAddons(o.dir, o.sqliteAddon);
      for (const command of rest) {
        if (/^npm cache clean\b/.test(command)) continue; // the npm cache is outside /src
        const rm = /^rm -rf (.+)$/.exec(command);
        if (!rm) throw new Error(`${at}: after npm ci only "npm cache clean" and "rm -rf <paths in /src>" are supported: ${command}`);
        for (const p of rm[1].split(/\s+/)) {
          if (path.isAbsolute(p) || p.split('/').includes('..') || /[*?[]/.test(p)) throw new Error(`${at}: rm -rf ${p}: only plain paths inside /src`);
          fs.rmSync(path.join(o.dir, p), { recursive: true, force: true });
        }
      }
    } else {
      throw new Error(`${at}: not supported in the deps stage`);
    }
  }
}

/** Puts the Node 24 better-sqlite3 addon in every installed better-sqlite3; refuses any other install script. */
function placeNativeAddons(dir, sqliteAddon) {
  const lock = JSON.parse(fs.readFileSync(path.join(dir, 'node_modules/.package-lock.json'), 'utf8'));
  for (const [where, meta] of Object.entries(lock.packages)) {
    if (!meta.hasInstallScript || !fs.existsSync(path.join(dir, where))) continue;
    if (!/(^|\/)node_modules\/better-sqlite3$/.test(where)) {
      throw new Error(`${where} has an install script the image assembly does not know how to replay`);
    }
    // The addon is compiled from node_modules/better-sqlite3 (get-node24.sh): it must be the version installed here.
    const built = /better-sqlite3-([^/]+)-node-v/.exec(sqliteAddon)?.[1];
    if (built !== meta.version) {
      throw new Error(`${where} ${meta.version} is installed but the Node 24 addon was built from better-sqlite3 ${built}: run npm ci, then scripts/peers/get-node24.sh`);
    }
    const target = path.join(dir, where, SQLITE_ADDON_PATH);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.copyFileSync(sqliteAddon, target);
    fs.chmodSync(target, 0o755);
  }
}
