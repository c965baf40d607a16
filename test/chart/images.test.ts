// Static checks of Dockerfile.gatekeeper and Dockerfile.exporter (no Docker engine runs here): stages, pinned versions,
// production-only dependencies, a numeric non-root user, no shell at run time, labels, health check, and copied paths
// that exist in the repository and survive .dockerignore; and that they agree with package.json, versions.env and the chart.
import { existsSync, readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { parse as parseYaml } from 'yaml';
import { repoRoot } from '../helpers/peers.js';
import { contextCopies, execForm, parseDockerfile, substitute, type Stage } from './dockerfile.js';

const read = (p: string) => readFileSync(path.join(repoRoot, p), 'utf8');
const rootPkg = JSON.parse(read('package.json')) as { workspaces: string[]; license: string };
const versionsEnv = Object.fromEntries(
  read('scripts/peers/versions.env')
    .split('\n')
    .filter((l) => /^\w+=/.test(l))
    .map((l) => l.split('=') as [string, string]),
);
const chartValues = parseYaml(read('charts/gk-exporter/values.yaml'));
const ignorePatterns = read('.dockerignore')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));

/** Whether .dockerignore leaves the path out of the build context (the subset of its syntax used here). */
function ignored(p: string): boolean {
  const rel = p.replace(/\/$/, '');
  return ignorePatterns.some((pat) => {
    if (pat.startsWith('!')) return false;
    const body = pat.replace(/^\*\*\//, '');
    const re = new RegExp(
      `^${pat.startsWith('**/') ? '(?:.*/)?' : ''}${body.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*\*/g, '.*').replace(/(?<!\.)\*/g, '[^/]*')}(?:/.*)?$`,
    );
    return re.test(rel);
  });
}

const images = [
  { file: 'Dockerfile.exporter', workspace: 'exporter', healthPort: chartValues.exporter.metricsPort as number },
  { file: 'Dockerfile.gatekeeper', workspace: 'gatekeeper', healthPort: chartValues.webhook.metricsPort as number },
];

for (const image of images) {
  t.test(image.file, async (t) => {
    const df = parseDockerfile(read(image.file));
    const args = df.globalArgs;
    const final = df.stages.at(-1)!;
    const pkg = JSON.parse(read(`${image.workspace}/package.json`)) as { bin: Record<string, string>; name: string };

    t.ok(df.stages.length >= 3, `multi-stage (${df.stages.map((s) => s.name ?? s.image).join(' -> ')})`);
    // Node: the current LTS line, pinned to an exact release; the runtime's major is the build's (native addon ABI).
    const nodeVersion = args['NODE_VERSION'] ?? '';
    t.match(nodeVersion, /^\d+\.\d+\.\d+$/, `Node pinned to an exact version (${nodeVersion})`);
    const major = Number(nodeVersion.split('.')[0]);
    t.ok(major >= 24 && major % 2 === 0, `Node ${major} is an LTS line`);
    t.equal(args['NODE_MAJOR'], String(major), 'the runtime image uses the same Node major');
    for (const stage of df.stages.slice(0, -1)) {
      t.notMatch(stage.image, /:latest$|^[^:]+$/, `${stage.name}: base image tag pinned (${stage.image})`);
      if (stage.image.startsWith('node:')) t.equal(stage.image, `node:${nodeVersion}-bookworm-slim`, `${stage.name}: on the pinned Node`);
    }
    t.equal(final.image, `gcr.io/distroless/nodejs${major}-debian12:nonroot`, 'runtime: distroless Node, no shell, no package manager');
    t.notOk(final.instructions.some((i) => i.keyword === 'RUN' || i.keyword === 'SHELL'), 'the runtime stage runs no shell command');

    // Production dependencies only, installed per workspace, in a stage the runtime copies from.
    const deps = df.stages.find((s) => s.instructions.some((i) => i.keyword === 'RUN' && i.args.includes('--omit=dev')))!;
    t.ok(deps, 'a stage installs with --omit=dev');
    const install = deps.instructions.find((i) => i.args.includes('--omit=dev'))!.args;
    t.match(install, new RegExp(`npm ci --omit=dev -w ${image.workspace}\\b`), 'npm ci --omit=dev -w <workspace>');
    const installed = [...install.matchAll(/-w (\S+)/g)].map((m) => m[1]!);
    for (const ws of installed) t.ok(rootPkg.workspaces.includes(ws), `workspace ${ws} exists`);
    // Every workspace the sources import (e.g. the engine imports @gk-exporter/exporter/client) is installed and copied.
    for (const ws of await importedWorkspaces(image.workspace)) {
      t.ok(installed.includes(ws), `${ws} (imported by ${image.workspace}) is installed with -w ${ws}`);
      t.ok(
        df.stages.some((st) => st.instructions.some((i) => i.keyword === 'COPY' && i.args.includes(`/src/${ws}/dist`))),
        `${ws}/dist (imported by ${image.workspace}) is in the image`,
      );
    }
    t.ok(deps.instructions.some((i) => i.keyword === 'RUN' && /python3/.test(i.args) && /make/.test(i.args) && /g\+\+/.test(i.args)), 'build tools for native addons (better-sqlite3)');
    const fromStages = final.instructions
      .filter((i) => i.keyword === 'COPY' && /--from=/.test(i.args))
      .map((i) => /--from=(\S+)/.exec(i.args)![1]);
    t.ok(fromStages.includes(deps.name), 'the runtime copies the production install');
    const build = df.stages.find((s) => s.instructions.some((i) => /npx tsc -b/.test(i.args)));
    t.ok(build, 'a stage compiles TypeScript');
    t.notOk(fromStages.includes(build!.name), 'the runtime copies nothing from the stage with dev dependencies');

    // Non-root, numerically (so runAsNonRoot can be verified by the kubelet), and the chart runs as the same user.
    const user = final.instructions.filter((i) => i.keyword === 'USER').at(-1)?.args ?? '';
    t.match(user, /^\d+(:\d+)?$/, `numeric USER (${user})`);
    t.not(Number(user.split(':')[0]), 0, 'not root');
    t.equal(Number(user.split(':')[0]), chartValues.containerSecurityContext.runAsUser, "the chart's runAsUser is the image's user");

    // Entry point: the workspace's bin, by absolute path, in exec form.
    const entry = execForm(final.instructions.find((i) => i.keyword === 'ENTRYPOINT')!.args)!;
    t.ok(entry, 'ENTRYPOINT in exec form (no shell)');
    t.equal(entry[0], '/nodejs/bin/node');
    const bin = Object.values(pkg.bin)[0]!;
    t.equal(entry[1], `/app/${image.workspace}/${bin}`, `runs the workspace's bin (${bin})`);

    // Health check in exec form, against the port the chart probes.
    const hc = final.instructions.find((i) => i.keyword === 'HEALTHCHECK')!;
    t.ok(hc, 'has a HEALTHCHECK');
    const hcCmd = execForm(hc.args.replace(/^(--\S+\s+)*/, ''))!;
    t.ok(hcCmd, 'HEALTHCHECK in exec form (no shell)');
    t.equal(hcCmd[0], '/nodejs/bin/node');
    const env = final.instructions.filter((i) => i.keyword === 'ENV').map((i) => i.args).join(' ');
    t.match(env, new RegExp(`HEALTHCHECK_URL=http://127\\.0\\.0\\.1:${image.healthPort}/healthz`), `checks /healthz on the chart's port ${image.healthPort}`);
    if (image.workspace === 'exporter') {
      // The image runs node on the bin directly (no shebang): it sets the bin's node options itself.
      const shebang = readFileSync(path.join(repoRoot, 'exporter/src/cli/main.ts'), 'utf8').split('\n')[0]!;
      const binOptions = /NODE_OPTIONS="(.*?) *\$\{NODE_OPTIONS\}"/.exec(shebang)?.[1];
      t.ok(binOptions, `the bin's first line puts its node options before the user's NODE_OPTIONS: ${shebang}`);
      t.match(env, `NODE_OPTIONS="${binOptions}"`, `the image sets the bin's node options (${binOptions})`);
    }

    // OCI labels.
    const labels = final.instructions.filter((i) => i.keyword === 'LABEL').map((i) => i.args).join(' ');
    for (const key of ['title', 'description', 'source', 'licenses', 'version', 'revision']) t.match(labels, `org.opencontainers.image.${key}=`, `label org.opencontainers.image.${key}`);
    t.match(labels, `org.opencontainers.image.licenses="${rootPkg.license}"`, 'license label matches package.json');

    // Every path copied from the build context exists and is not excluded by .dockerignore.
    for (const stage of df.stages) {
      for (const src of contextCopies(stage)) {
        t.ok(existsSync(path.join(repoRoot, src)), `${stage.name ?? 'final'}: COPY ${src} exists`);
        t.notOk(ignored(src), `${stage.name ?? 'final'}: COPY ${src} is in the build context`);
      }
    }
    for (const needed of [`${image.workspace}/src/cli/main.ts`, `${image.workspace}/tsconfig.json`, 'package-lock.json']) {
      t.notOk(ignored(needed), `${needed} is in the build context`);
    }
    for (const left of [`${image.workspace}/dist`, 'node_modules', `${image.workspace}/node_modules/x`, '.git']) t.ok(ignored(left), `${left} is left out of the context`);

    if (image.workspace === 'gatekeeper') {
      t.equal(args['OPA_VERSION'], versionsEnv['OPA_VERSION'], `opa pinned as in versions.env (${versionsEnv['OPA_VERSION']})`);
      const opa = df.stages.find((s) => s.name === 'opa')!;
      t.match(opa.image, /^golang:\d+\.\d+\.\d+-bookworm$/, 'opa built in a pinned Go stage');
      t.match(substitute(opa.instructions.find((i) => i.keyword === 'RUN')!.args, args), `go install -ldflags "-s -w" "github.com/open-policy-agent/opa@${versionsEnv['OPA_VERSION']}"`);
      const copyOpa = final.instructions.find((i) => i.keyword === 'COPY' && i.args.startsWith('--from=opa'))!;
      const opaPath = copyOpa.args.split(' ').at(-1)!;
      t.match(env, `GATEKEEPER_OPA_PATH=${opaPath}`, 'the engine is told where opa is');
      t.ok(read('gatekeeper/src/templates/opa-path.ts').includes('GATEKEEPER_OPA_PATH'), 'the engine reads GATEKEEPER_OPA_PATH');
      t.match(env, /XDG_CACHE_HOME=\/tmp\//, 'caches go to /tmp (the root filesystem is read-only)');
    }
    checkNoBuildToolsAtRuntime(t, final);
  });
}

/** Workspaces (by folder) whose package a workspace's sources import, itself included. */
async function importedWorkspaces(workspace: string): Promise<string[]> {
  const names = new Map(rootPkg.workspaces.map((ws) => [(JSON.parse(read(`${ws}/package.json`)) as { name: string }).name, ws]));
  const found = new Set([workspace]);
  const dir = path.join(repoRoot, workspace, 'src');
  for (const file of await readdir(dir, { recursive: true })) {
    if (!String(file).endsWith('.ts')) continue;
    const text = readFileSync(path.join(dir, String(file)), 'utf8');
    for (const m of text.matchAll(/from '(@[^/']+\/[^/']+)/g)) if (names.has(m[1]!)) found.add(names.get(m[1]!)!);
  }
  return [...found];
}

function checkNoBuildToolsAtRuntime(t: { notOk(v: unknown, m: string): void }, final: Stage) {
  t.notOk(
    final.instructions.some((i) => i.keyword === 'COPY' && /\/usr\/bin|apt|g\+\+/.test(i.args)),
    'no build tools copied into the runtime',
  );
}
