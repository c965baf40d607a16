// Each image's entry point really runs from its own root filesystem, the way the chart runs it: the root read-only,
// as uid/gid 65532, only the image's environment, /tmp a tmpfs — with the image's own Node 24, libraries, better-sqlite3
// build and opa, nothing from the host. The exporter (its default CMD, `run --config /etc/gk-exporter/config/...`)
// acknowledges a record, delivers it to a file sink in its data folder, stops on SIGTERM, and `exporter status` reads
// the queue; the engine's `verify` passes a gator suite of the shared corpus with the image's opa.
import { chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync, existsSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { repoRoot, sharedDir } from '../helpers/peers.js';
import { waitFor } from '../helpers/process.js';
import { buildImages, mountPoints, openImage, runInImage, type Bind, type OpenedImage } from './image.js';

const isRoot = process.getuid?.() === 0;
const built = isRoot ? await buildImages() : [];
const tarball = (name: string) => built.find((b) => b.name === name)!.tarball;

async function runToEnd(image: OpenedImage, argv: string[], binds: Bind[] = []) {
  const proc = runInImage(image, argv, binds);
  const code = await proc.exited;
  return { code, out: proc.output() };
}

t.test('the runtime: the image\'s Node 24, as 65532:65532, on a read-only root', { skip: !isRoot && 'needs root (mount namespace)' }, async (t) => {
  const image = openImage(t, tarball('exporter'));
  mountPoints(image);
  const probe = `const fs = require('node:fs');
let rootWrite = 'allowed'; try { fs.writeFileSync('/app/probe', 'x'); } catch (e) { rootWrite = e.code; }
fs.writeFileSync('/tmp/probe', 'x');
console.log(JSON.stringify({ version: process.version, uid: process.getuid(), gid: process.getgid(), groups: process.getgroups(), cwd: process.cwd(), home: process.env.HOME, env: Object.keys(process.env).sort(), rootWrite }));`;
  const r = await runToEnd(image, ['/nodejs/bin/node', '-e', probe]);
  t.equal(r.code, 0, r.out);
  const seen = JSON.parse(r.out.trim().split('\n').at(-1)!) as Record<string, unknown>;
  const pinned = /^NODE24_VERSION=(\S+)$/m.exec(readFileSync(path.join(repoRoot, 'scripts/peers/versions.env'), 'utf8'))![1];
  t.equal(seen.version, `v${pinned}`, 'the pinned Node 24 (versions.env NODE24_VERSION)');
  t.equal(seen.uid, 65532);
  t.equal(seen.gid, 65532);
  t.same(seen.groups, [65532], 'no supplementary group');
  t.equal(seen.cwd, image.config.config.WorkingDir, 'in WORKDIR');
  t.equal(seen.home, '/home/nonroot', "HOME from the image's /etc/passwd");
  t.same(seen.env, [...image.config.config.Env.map((e) => e.split('=')[0]!), 'HOME'].sort(), "only the image's environment");
  t.equal(seen.rootWrite, 'EROFS', 'the root filesystem is read-only');
});

t.test('exporter image: run (default CMD) acknowledges and delivers, status reads the queue', { skip: !isRoot && 'needs root (mount namespace)' }, async (t) => {
  const image = openImage(t, tarball('exporter'));
  const configDir = '/etc/gk-exporter/config';
  const dataDir = '/var/lib/exporter';
  mountPoints(image, configDir, dataDir);
  t.same(image.config.config.Cmd, ['run', '--config', `${configDir}/exporter.yaml`], 'the default CMD reads the chart\'s config path');

  // The image's HEALTHCHECK asks HEALTHCHECK_URL; the exporter serves /healthz there (in a network namespace of its own).
  const healthUrl = image.config.config.Env.find((e) => e.startsWith('HEALTHCHECK_URL='))!.slice('HEALTHCHECK_URL='.length);
  const healthAddress = new URL(healthUrl).host;
  // Short host paths: the socket's path must fit a sockaddr_un.
  const hostConfig = mkdtempSync(path.join(os.tmpdir(), 'gkic-'));
  const hostData = mkdtempSync(path.join(os.tmpdir(), 'gkid-'));
  t.teardown(() => {
    rmSync(hostConfig, { recursive: true, force: true });
    rmSync(hostData, { recursive: true, force: true });
  });
  writeFileSync(
    path.join(hostConfig, 'exporter.yaml'),
    [`socket: ${dataDir}/exporter.sock`, 'metrics:', `  address: ${healthAddress}`, 'queue:', `  path: ${dataDir}/queue.db`, 'sinks:', '  - name: local', '    type: file', `    path: ${dataDir}/decisions.ndjson`, ''].join('\n'),
  );
  chmodSync(hostConfig, 0o755);
  // The data folder is the pod's volume: the runtime user's (fsGroup in the chart).
  chownSync(hostData, 65532, 65532);
  chmodSync(hostData, 0o700);
  const binds = [
    { host: hostConfig, at: configDir, readOnly: true },
    { host: hostData, at: dataDir },
  ];

  const exporter = runInImage(image, [...image.config.config.Entrypoint, ...image.config.config.Cmd], binds, { ownNetwork: true });
  t.teardown(() => exporter.stop());
  const socket = path.join(hostData, 'exporter.sock');
  await waitFor('the exporter socket', () => {
    if (exporter.child.exitCode !== null) throw new Error(`the exporter exited: ${exporter.output().slice(-3000)}`);
    return existsSync(socket);
  }, 120_000);
  const ack = await new Promise<string>((resolve, reject) => {
    const c = net.createConnection(socket, () => c.write('{"eventType":"admission_decision","decisionId":"image-run-1"}\n'));
    let got = '';
    c.on('data', (d) => {
      got += d.toString();
      if (got.includes('\n')) {
        c.end();
        resolve(got.trim());
      }
    });
    c.on('error', reject);
  });
  t.same(JSON.parse(ack), { ack: 1 }, 'the record is acknowledged');
  const delivered = path.join(hostData, 'decisions.ndjson');
  const line = await waitFor('delivery to the file sink', () => existsSync(delivered) && readFileSync(delivered, 'utf8').split('\n').find((l) => l.includes('image-run-1')), 60_000);
  t.match(JSON.parse(line) as object, { decisionId: 'image-run-1' }, 'delivered to the file sink');
  const health = await exporter.exec(image.config.config.Healthcheck!.Test.slice(1));
  t.equal(health.code, 0, `the image's HEALTHCHECK passes against the running exporter: ${health.out.slice(-1500)}`);
  t.equal(await exporter.stop(), 0, `SIGTERM: a clean stop (${exporter.output().slice(-1500)})`);

  const status = await runToEnd(image, [...image.config.config.Entrypoint, 'status', '--config', `${configDir}/exporter.yaml`, '-o', 'json'], binds);
  t.equal(status.code, 0, status.out.slice(-2000));
  const st = JSON.parse(status.out) as { sinks: { name: string; delivered: number }[] };
  t.match(st.sinks, [{ sink: 'local', delivered: 1, depth: 0 }], 'status: the sink delivered the record');
});

t.test('gatekeeper image: --help (default CMD), and verify of a gator suite with the image\'s opa', { skip: !isRoot && 'needs root (mount namespace)' }, async (t) => {
  const image = openImage(t, tarball('gatekeeper'));
  mountPoints(image, '/suite');
  const help = await runToEnd(image, [...image.config.config.Entrypoint, ...image.config.config.Cmd]);
  t.equal(help.code, 0, help.out.slice(-2000));
  t.match(help.out, /Usage: gatekeeper/);

  const suite = path.join(sharedDir, 'gatekeeper-library/general/allowedrepos');
  const verify = await runToEnd(image, [...image.config.config.Entrypoint, 'verify', '/suite'], [{ host: suite, at: '/suite', readOnly: true }]);
  t.equal(verify.code, 0, verify.out.slice(-3000));
  const [, passed, failed] = /(\d+) passed, (\d+) failed/.exec(verify.out) ?? [];
  t.ok(Number(passed) > 0 && failed === '0', `every case of the suite passes: ${verify.out.slice(-500)}`);
});
