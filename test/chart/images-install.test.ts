// Without a Docker engine, replays each image's production stage for real: the files its deps stage copies, the exact
// `npm ci --omit=dev ...` command of the Dockerfile (from the npm cache when it can), then the dist folders the runtime
// stage copies; and checks that the image's ENTRYPOINT runs and that no development dependency got in.
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { repoRoot } from '../helpers/peers.js';
import { parseDockerfile } from './dockerfile.js';

function run(cmd: string, args: string[], cwd: string, timeoutMs: number): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(
      cmd,
      args,
      // node-gyp builds better-sqlite3 against the installed Node's headers (never downloads them).
      {
        cwd,
        timeout: timeoutMs,
        maxBuffer: 32 * 1024 * 1024,
        env: { ...process.env, npm_config_nodedir: process.env.npm_config_nodedir ?? path.dirname(path.dirname(process.execPath)), JOBS: 'max' },
      },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
    );
  });
}

const exists = (p: string) => stat(p).then(() => true, () => false);
const rootPkg = JSON.parse(await readFile(path.join(repoRoot, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };

for (const file of ['Dockerfile.exporter', 'Dockerfile.gatekeeper']) {
  t.test(`${file}: the production install runs the entry point, without dev dependencies`, { timeout: 480_000 }, async (t) => {
    const df = parseDockerfile(await readFile(path.join(repoRoot, file), 'utf8'));
    const deps = df.stages.find((s) => s.instructions.some((i) => i.keyword === 'RUN' && i.args.includes('--omit=dev')))!;
    const final = df.stages.at(-1)!;
    const dir = await mkdtemp(path.join(os.tmpdir(), 'gk-image-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));

    // The deps stage: its context COPYs, its npm ci, then the COPY --from=build of the compiled code.
    for (const ins of deps.instructions) {
      if (ins.keyword === 'COPY' && !ins.args.startsWith('--from=')) {
        // Every context COPY here has a folder destination ("./", "exporter/").
        const parts = ins.args.split(' ');
        const destDir = path.join(dir, parts.at(-1)!);
        await mkdir(destDir, { recursive: true });
        for (const src of parts.slice(0, -1)) await cp(path.join(repoRoot, src), path.join(destDir, path.basename(src)));
      } else if (ins.keyword === 'RUN' && ins.args.includes('--omit=dev')) {
        const npmArgs = ins.args.split('&&')[0]!.trim().split(/\s+/).slice(1);
        t.equal(ins.args.split('&&')[0]!.trim().split(/\s+/)[0], 'npm');
        const r = await run('npm', [...npmArgs, '--prefer-offline'], dir, 420_000);
        t.equal(r.code, 0, `npm ${npmArgs.join(' ')}: ${r.out.slice(-2000)}`);
      } else if (ins.keyword === 'COPY' && ins.args.startsWith('--from=build')) {
        const [, src, dest] = ins.args.split(' ');
        const from = path.join(repoRoot, path.relative('/src', src!));
        t.ok(await exists(from), `${from} is built (npx tsc -b exporter gatekeeper)`);
        await cp(from, path.join(dir, dest!), { recursive: true });
      }
    }

    // No workspace lists a type package among its production dependencies.
    const typesInDeps = (await Promise.all(['exporter', 'gatekeeper'].map(async (ws) => Object.keys((JSON.parse(await readFile(path.join(repoRoot, ws, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> }).dependencies ?? {}).filter((d) => d.startsWith('@types/')).map((d) => `${ws}: ${d}`)))).flat();
    t.same(typesInDeps, [], 'type packages belong in devDependencies');
    // Dev tools stay out of the image. @types/* are left out of this check: @kubernetes/client-node lists
    // @types/node and others among its own production dependencies.
    for (const dev of Object.keys(rootPkg.devDependencies)) {
      if (dev.startsWith('@types/')) continue;
      t.notOk(await exists(path.join(dir, 'node_modules', dev)), `dev dependency ${dev} not installed`);
    }

    // The runtime: ENTRYPOINT ["/nodejs/bin/node", "/app/<ws>/dist/cli/main.js"], /app being the deps stage's /src.
    const entry = JSON.parse(final.instructions.find((i) => i.keyword === 'ENTRYPOINT')!.args) as string[];
    const main = path.join(dir, path.relative('/app', entry[1]!));
    const help = await run(process.execPath, [main, '--help'], dir, 60_000);
    t.equal(help.code, 0, `${entry[1]} --help: ${help.out.slice(-2000)}`);
    t.match(help.out, /Usage: (exporter|gatekeeper)/);
    if (file === 'Dockerfile.exporter') {
      // better-sqlite3, compiled in the deps stage, loads and works from the exporter's folder.
      const sqlite = await run(
        process.execPath,
        ['--input-type=module', '-e', "import Database from 'better-sqlite3'; const db = new Database(':memory:'); console.log(db.prepare('select 40 + 2 as n').get().n);"],
        path.join(dir, 'exporter'),
        60_000,
      );
      t.equal(sqlite.code, 0, sqlite.out.slice(-2000));
      t.equal(sqlite.out.trim(), '42', 'better-sqlite3 works in the production install');
    } else {
      const runHelp = await run(process.execPath, [main, 'run', '--help'], dir, 60_000);
      t.equal(runHelp.code, 0, runHelp.out.slice(-2000));
      // The flags the chart passes exist.
      for (const flag of ['--operation', '--metrics-port', '--disable-cert-rotation', '--cert-dir', '--cert-secret-name', '--cert-service-name', '--validating-webhook-configuration-name', '--exempt-namespace', '--audit-interval', '--constraint-violations-limit', '--audit-chunk-size', '--audit-from-cache', '--leader-lease-name', '--cache-dir', '--log-level', '--export-socket', '--enable-violation-export', '--no-export-allowed', '--export-object', '--export-omit', '--export-redact', '--log-denies']) {
        t.match(runHelp.out, flag, `gatekeeper run accepts ${flag}`);
      }
    }
  });
}
