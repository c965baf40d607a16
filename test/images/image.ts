// The images as scripts/images/build.mjs makes them, opened for tests: built (or taken from its cache), the docker-save
// tarball unpacked, its manifest and config read, and the layer extracted as a root filesystem (owners and modes kept);
// and a way to run a command from that root filesystem the way a container runtime would: read-only, as the image's
// user, with the image's environment and working directory, /tmp a tmpfs, given folders bound in.
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Test } from 'tap';
import { repoRoot } from '../helpers/peers.js';
import { start, type Started } from '../helpers/process.js';

export interface BuiltImage {
  name: 'gatekeeper' | 'exporter';
  ref: string;
  tarball: string;
  imageId: string;
  diffId: string;
}

export interface ImageConfig {
  architecture: string;
  os: string;
  config: {
    User: string;
    WorkingDir: string;
    Env: string[];
    Entrypoint: string[];
    Cmd: string[];
    ExposedPorts: Record<string, object>;
    Labels: Record<string, string>;
    Healthcheck?: { Test: string[] };
  };
  rootfs: { type: string; diff_ids: string[] };
}

export interface OpenedImage {
  manifest: { Config: string; RepoTags: string[]; Layers: string[] }[];
  configFile: string;
  config: ImageConfig;
  layer: string;
  rootfs: string;
}

/** Builds both images (minutes the first time, then from the cache). */
export function buildImages(): Promise<BuiltImage[]> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [path.join(repoRoot, 'scripts/images/build.mjs'), '--json'], { cwd: repoRoot, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`scripts/images/build.mjs failed: ${stderr.slice(-3000)}`));
      else resolve(JSON.parse(stdout) as BuiltImage[]);
    });
  });
}

/** Unpacks an image tarball under a temporary folder removed at the end of the test. */
export function openImage(t: Test, tarball: string): OpenedImage {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gk-image-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const unpacked = path.join(dir, 'tarball');
  const rootfs = path.join(dir, 'rootfs');
  mkdirSync(unpacked);
  mkdirSync(rootfs);
  execFileSync('tar', ['-xf', tarball, '-C', unpacked]);
  const manifest = JSON.parse(readFileSync(path.join(unpacked, 'manifest.json'), 'utf8')) as OpenedImage['manifest'];
  const configFile = path.join(unpacked, manifest[0]!.Config);
  const layer = path.join(unpacked, manifest[0]!.Layers[0]!);
  execFileSync('tar', ['--numeric-owner', '--same-owner', '-xpf', layer, '-C', rootfs]);
  return { manifest, configFile, config: JSON.parse(readFileSync(configFile, 'utf8')) as ImageConfig, layer, rootfs };
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export interface Bind {
  host: string;
  /** Where it appears in the container; the mount point must exist in the root filesystem. */
  at: string;
  readOnly?: boolean;
}

/**
 * Runs argv from the root filesystem in a mount namespace of its own: the root bound read-only, /tmp a tmpfs, /proc
 * and /dev from the host, the binds; then, with only the image's Env (and HOME from its /etc/passwd, as runtimes
 * add it), in its WorkingDir, as its numeric USER. Needs root (namespaces and mounts). The mount points (/proc, /dev
 * and the binds' targets) must exist in rootfs, as a container runtime creates them.
 */
export function runInImage(image: OpenedImage, argv: string[], binds: Bind[] = []): Started & { stop(): Promise<number | string> } {
  const r = image.rootfs;
  const [uid, gid] = image.config.config.User.split(':');
  const env = [...image.config.config.Env];
  if (!env.some((e) => e.startsWith('HOME='))) {
    const home = readFileSync(path.join(r, 'etc/passwd'), 'utf8').split('\n').map((l) => l.split(':')).find((f) => f[2] === uid)?.[5] ?? '/';
    env.push(`HOME=${home}`);
  }
  const script = [
    'set -eu',
    `mount --bind ${q(r)} ${q(r)}`,
    `mount -o remount,bind,ro ${q(r)}`,
    `mount -t tmpfs -o mode=1777,size=64m,nosuid,nodev tmpfs ${q(`${r}/tmp`)}`,
    `mount --rbind /proc ${q(`${r}/proc`)}`,
    `mount --rbind /dev ${q(`${r}/dev`)}`,
    ...binds.flatMap((b) => [
      `mount --bind ${q(b.host)} ${q(r + b.at)}`,
      ...(b.readOnly ? [`mount -o remount,bind,ro ${q(r + b.at)}`] : []),
    ]),
    // No fork from here on: the namespace's first process becomes the program (stop() signals it).
    `exec env -i ${env.map(q).join(' ')} unshare --root=${q(r)} --wd=${q(image.config.config.WorkingDir)} --setgid=${gid ?? uid} --setuid=${uid} -- ${argv.map(q).join(' ')}`,
  ].join('\n');
  const proc = start('unshare', ['--mount', '--propagation', 'private', '--fork', '--kill-child=SIGKILL', 'sh', '-c', script]);
  return {
    ...proc,
    /** SIGTERM to the program itself (the signal a kubelet sends), then its exit status. */
    async stop() {
      const pid = proc.child.pid!;
      let children = '';
      try {
        children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
      } catch {
        // already gone
      }
      for (const c of children.split(/\s+/).filter(Boolean)) process.kill(Number(c), 'SIGTERM');
      return proc.exited;
    },
  };
}

/** Creates the mount points a container runtime would (before the root becomes read-only). */
export function mountPoints(image: OpenedImage, ...paths: string[]): void {
  for (const p of ['/proc', '/dev', ...paths]) mkdirSync(path.join(image.rootfs, p), { recursive: true });
}
