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

/** The image's environment, plus HOME from its /etc/passwd when it sets none (as container runtimes add it). */
function imageEnv(image: OpenedImage): string[] {
  const env = [...image.config.config.Env];
  if (!env.some((e) => e.startsWith('HOME='))) {
    const uid = image.config.config.User.split(':')[0];
    const home = readFileSync(path.join(image.rootfs, 'etc/passwd'), 'utf8').split('\n').map((l) => l.split(':')).find((f) => f[2] === uid)?.[5] ?? '/';
    env.push(`HOME=${home}`);
  }
  return env;
}

/** The command that runs argv inside the (already mounted) root: only the image's env, its WORKDIR, its USER. */
function asImageUser(image: OpenedImage, argv: string[]): string[] {
  const [uid, gid] = image.config.config.User.split(':');
  return ['env', '-i', ...imageEnv(image), 'unshare', `--root=${image.rootfs}`, `--wd=${image.config.config.WorkingDir}`, `--setgid=${gid ?? uid}`, `--setuid=${uid}`, '--', ...argv];
}

export type InImage = Started & {
  /** SIGTERM to the program itself (the signal a kubelet sends), then its exit status. */
  stop(): Promise<number | string>;
  /** Runs another command beside it, in its namespaces, the same way (as a health check or `kubectl exec` does). */
  exec(argv: string[]): Promise<{ code: number | string; out: string }>;
};

/**
 * Runs argv from the root filesystem in a mount namespace of its own (and, with ownNetwork, a network namespace with
 * only its loopback): the root bound read-only, /tmp a tmpfs, /proc and /dev from the host, the binds; then as
 * asImageUser says. Needs root (namespaces and mounts). The mount points (/proc, /dev and the binds' targets) must
 * exist in rootfs, as a container runtime creates them.
 */
export function runInImage(image: OpenedImage, argv: string[], binds: Bind[] = [], opts: { ownNetwork?: boolean } = {}): InImage {
  const r = image.rootfs;
  const script = [
    'set -eu',
    ...(opts.ownNetwork ? ['ip link set lo up'] : []),
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
    `exec ${asImageUser(image, argv).map(q).join(' ')}`,
  ].join('\n');
  const proc = start('unshare', ['--mount', ...(opts.ownNetwork ? ['--net'] : []), '--propagation', 'private', '--fork', '--kill-child=SIGKILL', 'sh', '-c', script]);
  const program = () => {
    const pid = proc.child.pid!;
    try {
      return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number)[0];
    } catch {
      return undefined; // already gone
    }
  };
  return {
    ...proc,
    async stop() {
      const pid = program();
      if (pid) process.kill(pid, 'SIGTERM');
      return proc.exited;
    },
    async exec(execArgv: string[]) {
      const pid = program();
      if (!pid) throw new Error(`the program is not running: ${proc.output().slice(-2000)}`);
      const nsenter = ['--target', String(pid), '--mount', ...(opts.ownNetwork ? ['--net'] : []), '--', ...asImageUser(image, execArgv)];
      const other = start('nsenter', nsenter);
      const code = await other.exited;
      return { code, out: other.output() };
    },
  };
}

/** Creates the mount points a container runtime would (before the root becomes read-only). */
export function mountPoints(image: OpenedImage, ...paths: string[]): void {
  for (const p of ['/proc', '/dev', ...paths]) mkdirSync(path.join(image.rootfs, p), { recursive: true });
}
