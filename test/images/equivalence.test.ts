// The images scripts/images/build.mjs assembles are the Dockerfiles' images: each tarball's config carries the final
// stage's USER, WORKDIR, ENV, ENTRYPOINT, CMD, EXPOSE, LABEL and HEALTHCHECK (ARGs substituted as a build with the
// chart's appVersion would), is tagged as the chart names the image, and its file tree has what each COPY puts there:
// opa at its path, the deps stage's /src at /app (package files, the compiled dist as built, production dependencies
// and no development one); the distroless base's users, certificates and time zones; and nothing the runtime user may
// write but the sticky /tmp.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { parse as parseYaml } from 'yaml';
import { repoRoot } from '../helpers/peers.js';
import { execForm, parseDockerfile, substitute } from '../chart/dockerfile.js';
import { buildImages, openImage } from './image.js';

const read = (p: string) => readFileSync(path.join(repoRoot, p), 'utf8');
const chart = parseYaml(read('charts/gk-exporter/Chart.yaml')) as { appVersion: string };
const values = parseYaml(read('charts/gk-exporter/values.yaml')) as { image: Record<string, { repository: string }> };
const versionsEnv = Object.fromEntries(read('scripts/peers/versions.env').split('\n').filter((l) => /^\w+=/.test(l)).map((l) => l.split('=') as [string, string]));
const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** `k=v k2="v 2"` pairs of an ENV or LABEL instruction. */
function pairs(args: string): [string, string][] {
  return [...args.matchAll(/([^\s=]+)=("(?:[^"\\]|\\.)*"|\S*)/g)].map((m) => [m[1]!, m[2]!.startsWith('"') ? m[2]!.slice(1, -1) : m[2]!]);
}

/** Every file (not folder) under dir, relative, sorted. */
function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => lstatSync(path.join(dir, f)).isFile())
    .sort();
}

const built = await buildImages();

t.test('the Dockerfiles and the images are on the same Node 24', async (t) => {
  for (const file of ['Dockerfile.gatekeeper', 'Dockerfile.exporter']) {
    t.equal(parseDockerfile(read(file)).globalArgs['NODE_VERSION'], versionsEnv['NODE24_VERSION'], `${file} NODE_VERSION = versions.env NODE24_VERSION`);
  }
});

for (const image of built) {
  t.test(`${image.name}: the image is Dockerfile.${image.name}'s final stage`, async (t) => {
    const df = parseDockerfile(read(`Dockerfile.${image.name}`));
    const final = df.stages.at(-1)!;
    const opened = openImage(t, image.tarball);
    const { config } = opened.config;

    // The archive: one image, tagged as the chart names it, its config and layer named by their digests.
    t.same(opened.manifest[0]!.RepoTags, [`${values.image[image.name]!.repository}:${chart.appVersion}`], 'tagged as values.yaml image.*.repository : Chart appVersion');
    t.equal(opened.manifest.length, 1);
    t.equal(path.basename(opened.configFile), `${sha256(opened.configFile)}.json`, 'config named by its digest');
    t.same(opened.config.rootfs.diff_ids, [`sha256:${sha256(opened.layer)}`], "the layer is the config's diff id");
    t.equal(image.imageId, `sha256:${sha256(opened.configFile)}`, 'build.mjs prints the image id');
    t.equal(`${opened.config.os}/${opened.config.architecture}`, 'linux/amd64');

    // The final stage's settings, ARGs substituted as `docker build --build-arg VERSION=<appVersion>` would.
    const args: Record<string, string> = { ...df.globalArgs };
    const ins = (k: string) => final.instructions.filter((i) => i.keyword === k);
    for (const a of ins('ARG')) {
      const [k, v] = a.args.split('=');
      args[k!] = k === 'VERSION' ? chart.appVersion : (v ?? df.globalArgs[k!] ?? '');
    }
    t.equal(config.User, ins('USER').at(-1)!.args, 'USER');
    t.equal(config.WorkingDir, ins('WORKDIR').at(-1)!.args, 'WORKDIR');
    t.same(config.Entrypoint, execForm(ins('ENTRYPOINT').at(-1)!.args), 'ENTRYPOINT');
    t.same(config.Cmd, execForm(ins('CMD').at(-1)!.args), 'CMD');
    t.same(Object.keys(config.ExposedPorts).sort(), ins('EXPOSE').flatMap((i) => i.args.split(' ')).map((p) => `${p}/tcp`).sort(), 'EXPOSE');
    const labels = Object.fromEntries(ins('LABEL').flatMap((i) => pairs(i.args)).map(([k, v]) => [k, substitute(v, args)]));
    t.same(config.Labels, labels, 'every LABEL, and no other');
    t.equal(config.Labels['org.opencontainers.image.version'], chart.appVersion, "the version label is the chart's appVersion");
    for (const [k, v] of ins('ENV').flatMap((i) => pairs(i.args))) t.ok(config.Env.includes(`${k}=${v}`), `ENV ${k}=${v}`);
    const hc = ins('HEALTHCHECK').at(-1)!;
    t.same(config.Healthcheck?.Test, ['CMD', ...execForm(hc.args.replace(/^(--\S+\s+)*CMD\s+/, ''))!], 'HEALTHCHECK');

    // What each COPY of the final stage puts in the image.
    const root = opened.rootfs;
    const copies = ins('COPY').map((i) => /^--from=(\S+) (\S+) (\S+)$/.exec(i.args)!);
    for (const [, from, src, dest] of copies) {
      if (from === 'opa') {
        const opa = path.join(root, dest!);
        t.ok(lstatSync(opa).mode & 0o111, `${dest} (opa) is executable`);
        t.match(execFileSync(opa, ['version'], { encoding: 'utf8' }), `Version: ${versionsEnv['OPA_VERSION']!.replace(/^v/, '')}`, `${dest} is opa ${versionsEnv['OPA_VERSION']}`);
        t.ok(config.Env.includes(`GATEKEEPER_OPA_PATH=${dest}`), 'the engine is pointed at it');
      } else {
        t.equal(src, '/src', `COPY --from=${from} ${src} ${dest}: the production install`);
        const deps = df.stages.find((s) => s.name === from)!;
        const app = path.join(root, dest!);
        for (const c of deps.instructions.filter((i) => i.keyword === 'COPY')) {
          const parts = c.args.split(' ');
          if (parts[0] === '--from=build') {
            const [, buildSrc, buildDest] = parts;
            const repoDist = path.join(repoRoot, path.relative('/src', buildSrc!));
            const imageDist = path.join(app, buildDest!);
            t.same(files(imageDist), files(repoDist), `${dest}/${buildDest}: the compiled files, all and only`);
            const differing = files(repoDist).filter((f) => sha256(path.join(repoDist, f)) !== sha256(path.join(imageDist, f)));
            t.same(differing, [], `${dest}/${buildDest}: identical to the build`);
          } else {
            for (const s of parts.slice(0, -1)) {
              const target = path.join(app, parts.at(-1)!.endsWith('/') ? path.join(parts.at(-1)!, path.basename(s)) : parts.at(-1)!);
              t.equal(sha256(target), sha256(path.join(repoRoot, s)), `${dest}: ${s} as in the repository`);
            }
          }
        }
        // The workspaces' production dependencies are installed; no package the lock marks dev-only is.
        const install = deps.instructions.find((i) => i.keyword === 'RUN' && i.args.includes('--omit=dev'))!.args;
        const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, { dev?: boolean; devOptional?: boolean }> };
        for (const ws of [...install.matchAll(/-w (\S+)/g)].map((m) => m[1]!)) {
          const pkg = JSON.parse(read(`${ws}/package.json`)) as { dependencies?: Record<string, string> };
          for (const dep of Object.keys(pkg.dependencies ?? {})) {
            t.ok(existsSync(path.join(app, 'node_modules', dep)) || existsSync(path.join(app, ws, 'node_modules', dep)), `${ws}'s dependency ${dep} is installed`);
          }
        }
        t.ok(Object.values(lock.packages).filter((m) => m.dev).length > 0, 'the lock marks development-only packages (the check below has something to find)');
        const devOnly = Object.entries(lock.packages).filter(([p, m]) => p.includes('node_modules/') && m.dev && existsSync(path.join(app, p))).map(([p]) => p);
        t.same(devOnly, [], 'no development-only package (package-lock "dev": true) is in the image');
        for (const tool of ['typescript', 'tap', 'tsx', 'esbuild']) t.notOk(existsSync(path.join(app, 'node_modules', tool)), `no ${tool}`);
        const intermediates = readdirSync(app, { recursive: true, encoding: 'utf8' }).filter((f) => /\.(o|a|mk)$/.test(f) || /better-sqlite3\/(deps|src)\//.test(f));
        t.same(intermediates, [], 'no native build intermediates or SQLite sources (the deps stage removes them)');
        const addons = readdirSync(app, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.node'));
        t.ok(addons.length > 0, `native addons: ${addons.join(', ')}`);
        for (const a of addons) {
          const head = readFileSync(path.join(app, a)).subarray(0, 20);
          t.ok(head.subarray(0, 4).equals(Buffer.from('\x7fELF', 'latin1')) && head[4] === 2 && head.readUInt16LE(18) === 0x3e, `${a} is an x86-64 ELF object`);
        }
      }
    }

    // The distroless nodejs base: Node where the ENTRYPOINT runs it, the entry point file, users, certificates, zones.
    t.ok(lstatSync(path.join(root, config.Entrypoint[0]!)).mode & 0o111, `${config.Entrypoint[0]} is executable`);
    t.ok(existsSync(path.join(root, config.Entrypoint[1]!)), `${config.Entrypoint[1]} exists`);
    const [uid, gid] = config.User.split(':');
    t.match(readFileSync(path.join(root, 'etc/passwd'), 'utf8'), new RegExp(`^nonroot:x:${uid}:${gid}:`, 'm'), '/etc/passwd has nonroot with the image user');
    t.match(readFileSync(path.join(root, 'etc/group'), 'utf8'), new RegExp(`^nonroot:x:${gid}:`, 'm'), '/etc/group has nonroot');
    t.match(readFileSync(path.join(root, 'etc/ssl/certs/ca-certificates.crt'), 'utf8'), /BEGIN CERTIFICATE/, 'CA certificates');
    t.ok(config.Env.includes('SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt'), 'SSL_CERT_FILE as in distroless');
    t.ok(existsSync(path.join(root, 'usr/share/zoneinfo/Europe/Paris')), 'the time zone database');
    t.match(readFileSync(path.join(root, 'etc/os-release'), 'utf8'), /Debian GNU\/Linux 12/, 'Debian 12 userland, as distroless debian12');

    // Nothing belongs to the runtime user and nothing is writable by it, but the sticky /tmp.
    const entries = readdirSync(root, { recursive: true, encoding: 'utf8' });
    const owned = entries.filter((f) => {
      const st = lstatSync(path.join(root, f));
      return st.uid !== 0 || st.gid !== 0;
    });
    t.same(owned, [], 'every file belongs to root:root');
    const writable = entries.filter((f) => {
      const st = lstatSync(path.join(root, f));
      return !st.isSymbolicLink() && st.mode & 0o022;
    });
    t.same(writable, ['tmp'], 'no group/other write bit but /tmp');
    t.equal(lstatSync(path.join(root, 'tmp')).mode & 0o7777, 0o1777, '/tmp is sticky, as in distroless');
  });
}
