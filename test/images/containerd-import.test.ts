// The tarballs are what the cluster imports: a containerd of the test's own (root, state and socket in a temporary
// folder, CRI off) takes each with `ctr images import`, unpacks it, and lists it under the chart's reference with the
// image id build.mjs printed.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { start, waitFor } from '../helpers/process.js';
import { buildImages } from './image.js';

const have = (cmd: string) => {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`]);
    return true;
  } catch {
    return false;
  }
};
const skip = process.getuid?.() !== 0 ? 'needs root (containerd)' : !have('containerd') || !have('ctr') ? 'containerd and ctr (Debian package containerd) are not installed' : false;

function ctr(address: string, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile('ctr', ['--address', address, '--namespace', 'gk-images-test', ...args], { maxBuffer: 8 << 20 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
    );
  });
}

t.test('ctr images import accepts both images under the chart\'s references', { skip }, async (t) => {
  const built = await buildImages();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gkctr-'));
  const address = path.join(dir, 'containerd.sock');
  writeFileSync(
    path.join(dir, 'config.toml'),
    [
      'version = 2',
      `root = "${dir}/root"`,
      `state = "${dir}/state"`,
      'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
      '[grpc]',
      `  address = "${address}"`,
      '[ttrpc]',
      `  address = "${dir}/containerd.ttrpc.sock"`,
      '',
    ].join('\n'),
  );
  const containerd = start('containerd', ['--config', path.join(dir, 'config.toml')]);
  t.teardown(async () => {
    await containerd.kill('SIGTERM');
    // The snapshots containerd unpacked are plain folders (no mount stays after it stops).
    rmSync(dir, { recursive: true, force: true });
  });
  await waitFor('containerd', async () => {
    if (containerd.child.exitCode !== null) throw new Error(`containerd exited: ${containerd.output().slice(-2000)}`);
    return existsSync(address) && (await ctr(address, ['version'])).code === 0;
  }, 60_000);

  for (const image of built) {
    const imported = await ctr(address, ['images', 'import', image.tarball]);
    t.equal(imported.code, 0, `import ${image.name}: ${imported.out.slice(-2000)}`);
    const check = await ctr(address, ['images', 'check', `name==${image.ref}`]);
    t.match(check.out, new RegExp(`^${image.ref.replace(/[.]/g, '\\.')}\\s.*complete.*\\strue\\s*$`, 'm'), `${image.ref}: complete and unpacked`);
    const content = await ctr(address, ['content', 'ls', '-q']);
    t.match(content.out, image.imageId, `${image.ref}: its config is the image id build.mjs printed`);
  }
});
