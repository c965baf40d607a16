// The network and mount namespace the real cluster lives in, and the clean-up of everything started inside it.
// A holder process (`unshare --mount --net sleep infinity`) keeps the namespaces; every cluster process enters them with
// nsenter. Inside, /run, /var/lib and /var/log are fresh tmpfs (the kubelet and containerd write there by fixed paths),
// the only interfaces are lo (carrying the node address) and the pods' bridge, so nothing reaches or clashes with the
// host. Teardown kills by pid (the cgroup tree, then whatever still has the namespaces), removes the cgroups, then ends
// the holder: its mounts, interfaces and iptables rules go with the namespaces.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const CGROUP_FS = '/sys/fs/cgroup';

// Kernel settings the kubelet insists on (pkg/kubelet/cm setupKernelTunables) are machine-wide: inside the mount
// namespace a file already holding the expected value is bound over each one that differs, so the host's stay as they are.
const KUBELET_SYSCTLS: Record<string, string> = {
  'vm/overcommit_memory': '1',
  'vm/panic_on_oom': '0',
  'kernel/panic': '10',
  'kernel/panic_on_oops': '1',
  'kernel/keys/root_maxkeys': '1000000',
  'kernel/keys/root_maxbytes': '25000000',
};

export interface NamespaceOptions {
  dir: string;
  nodeIp: string;
  serviceCidr: string;
  cgroupRoot: string;
  tmpfsSize?: string;
}

export class ClusterNamespace {
  private holder: ChildProcess | undefined;
  private nsIds: string[] = [];

  constructor(private readonly opts: NamespaceOptions) {}

  get holderPid(): number {
    if (!this.holder?.pid) throw new Error('cluster namespace: not started');
    return this.holder.pid;
  }

  async create(): Promise<void> {
    if (process.getuid?.() !== 0) throw new Error('the real cluster needs root (namespaces, mounts, cgroups, iptables): run the cluster tests as root');
    const ours = readlinkSync('/proc/self/ns/net');
    // --pdeathsig: should the test process die without a teardown, the holder (hence the namespaces) goes with it.
    this.holder = spawn('setpriv', ['--pdeathsig', 'SIGKILL', 'unshare', '--mount', '--net', '--propagation', 'private', 'sleep', 'infinity'], { stdio: 'ignore' });
    const pid = this.holder.pid;
    if (!pid) throw new Error('cluster namespace: unshare did not start');
    const until = Date.now() + 10_000;
    for (;;) {
      if (this.holder.exitCode !== null) throw new Error(`cluster namespace: unshare exited with ${this.holder.exitCode}`);
      const ns = (() => {
        try {
          return readlinkSync(`/proc/${pid}/ns/net`);
        } catch {
          return ours;
        }
      })();
      if (ns !== ours) break;
      if (Date.now() > until) throw new Error('cluster namespace: unshare never entered a new network namespace');
      await new Promise((r) => setTimeout(r, 20));
    }
    this.nsIds = [readlinkSync(`/proc/${pid}/ns/net`), readlinkSync(`/proc/${pid}/ns/mnt`)];
    writeFileSync(path.join(this.opts.dir, 'holder.pid'), `${pid}\n`);

    const sysctlDir = path.join(this.opts.dir, 'sysctl');
    mkdirSync(sysctlDir, { recursive: true });
    const binds: string[] = [];
    for (const [key, want] of Object.entries(KUBELET_SYSCTLS)) {
      if (readFileSync(`/proc/sys/${key}`, 'utf8').trim() === want) continue;
      const file = path.join(sysctlDir, key.replace(/\//g, '.'));
      writeFileSync(file, `${want}\n`);
      binds.push(`mount --bind -o ro ${file} /proc/sys/${key}`);
    }
    const size = this.opts.tmpfsSize ?? '4g';
    await this.sh(
      [
        'set -e',
        `mount -t tmpfs -o mode=0755,size=${size} gk-run /run`,
        `mount -t tmpfs -o mode=0755,size=${size} gk-var-lib /var/lib`,
        `mount -t tmpfs -o mode=0755,size=${size} gk-var-log /var/log`,
        'ip link set lo up',
        `ip addr add ${this.opts.nodeIp}/32 dev lo`,
        // The node (the API server calling a webhook Service) reaches ClusterIPs; kube-proxy's DNAT does the rest.
        `ip route add ${this.opts.serviceCidr} dev lo src ${this.opts.nodeIp}`,
        'echo 1 > /proc/sys/net/ipv4/ip_forward',
        ...binds,
      ].join('\n'),
    );
    this.createCgroupRoot();
  }

  /** cmd and args that run `cmd` inside the namespaces (killed if the test process dies). */
  wrap(cmd: string, args: string[]): [string, string[]] {
    return ['setpriv', ['--pdeathsig', 'SIGKILL', 'nsenter', '-t', String(this.holderPid), '-m', '-n', '--', cmd, ...args]];
  }

  /** Runs a shell script inside the namespaces; throws with its stderr on failure. */
  async sh(script: string, timeoutMs = 60_000): Promise<string> {
    const [cmd, args] = this.wrap('sh', ['-c', script]);
    try {
      const { stdout } = await run(cmd, args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 });
      return stdout;
    } catch (e) {
      const err = e as { stderr?: string; message: string };
      throw new Error(`in the cluster namespace, ${script.split('\n')[0]}...: ${err.stderr?.trim() || err.message}`);
    }
  }

  private hierarchies(): string[] {
    return readdirSync(CGROUP_FS).filter((h) => existsSync(path.join(CGROUP_FS, h, 'cgroup.procs')));
  }

  /** The kubelet wants its cgroupRoot to exist in every hierarchy; cpuset needs cpus and mems before it holds tasks. */
  private createCgroupRoot(): void {
    for (const h of this.hierarchies()) {
      const dir = path.join(CGROUP_FS, h, this.opts.cgroupRoot);
      mkdirSync(dir, { recursive: true });
      if (h === 'cpuset') {
        for (const f of ['cpuset.cpus', 'cpuset.mems']) writeFileSync(path.join(dir, f), readFileSync(path.join(CGROUP_FS, h, f), 'utf8'));
      }
    }
  }

  /** Every cgroup folder of the cluster, deepest first. */
  cgroupDirs(): string[] {
    const out: string[] = [];
    const walk = (dir: string) => {
      let entries;
      try {
        entries = readdirSync(dir, { withFileTypes: true });
      } catch (e) {
        // Removed between its parent's listing and its own (the kubelet or containerd cleaning up as we kill): gone.
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw e;
      }
      for (const e of entries) if (e.isDirectory()) walk(path.join(dir, e.name));
      out.push(dir);
    };
    for (const h of this.hierarchies()) {
      const root = path.join(CGROUP_FS, h, this.opts.cgroupRoot);
      if (existsSync(root)) walk(root);
    }
    return out;
  }

  /** Removes the cluster's cgroups, deepest first, retrying while tasks finish exiting; returns those left. */
  async removeCgroups(timeoutMs: number): Promise<string[]> {
    const until = Date.now() + timeoutMs;
    let left = this.cgroupDirs();
    while (left.length && Date.now() < until) {
      for (const dir of left) {
        try {
          rmdirSync(dir);
        } catch {
          /* busy a moment longer: tasks still exiting */
        }
      }
      left = this.cgroupDirs();
      if (left.length) await new Promise((r) => setTimeout(r, 100));
    }
    return left;
  }

  /** Pids in the cluster's cgroup tree. */
  cgroupPids(): number[] {
    const pids = new Set<number>();
    for (const dir of this.cgroupDirs()) {
      try {
        for (const p of readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n')) if (p) pids.add(Number(p));
      } catch {
        /* removed meanwhile */
      }
    }
    return [...pids];
  }

  /** Processes (other than the holder) that are in the cluster's network or mount namespace. */
  namespacePids(): number[] {
    const out: number[] = [];
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      const pid = Number(name);
      if (pid === this.holder?.pid || pid === process.pid) continue;
      try {
        if (this.nsIds.includes(readlinkSync(`/proc/${pid}/ns/net`)) || this.nsIds.includes(readlinkSync(`/proc/${pid}/ns/mnt`))) out.push(pid);
      } catch {
        /* gone */
      }
    }
    return out;
  }

  /** Kills every container (the cgroup tree) by pid, until none is left or the deadline passes. */
  async killContainers(timeoutMs = 20_000): Promise<void> {
    await killUntilGone(() => this.cgroupPids(), timeoutMs);
  }

  /** Kills every process still in the namespaces, removes the cgroups, ends the holder; returns what could not go. */
  async destroy(timeoutMs = 20_000): Promise<{ processes: number[]; cgroups: string[] }> {
    await killUntilGone(() => [...this.cgroupPids(), ...this.namespacePids()], timeoutMs);
    await this.removeCgroups(timeoutMs);
    if (this.holder && this.holder.exitCode === null && this.holder.signalCode === null) {
      const exited = new Promise((r) => this.holder!.once('exit', r));
      this.holder.kill('SIGKILL');
      await exited;
    }
    return { processes: this.namespacePids(), cgroups: this.cgroupDirs() };
  }

  /** Last resort when the test process exits without a teardown: at least no process is left behind. */
  killAllSync(): void {
    for (const pid of [...this.cgroupPids(), ...this.namespacePids()]) tryKill(pid, 'SIGKILL');
    this.holder?.kill('SIGKILL');
  }
}

function tryKill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    /* already gone */
  }
}

async function killUntilGone(list: () => number[], timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const pids = list();
    if (!pids.length) return;
    if (Date.now() > until) return;
    for (const pid of pids) tryKill(pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * A test process killed outright (SIGKILL) cannot tear its cluster down: the holder and the components die with it
 * (--pdeathsig), but the pods' shims and containers are daemons. Before a new cluster starts, every cluster folder whose
 * holder is gone is cleaned: its containers (its cgroup tree) and shims (their command line names its containerd socket)
 * killed by pid, its cgroups removed, the folder deleted. A live cluster (another test file's) is left alone.
 */
export async function reapStaleClusters(tmpDir = '/tmp'): Promise<string[]> {
  const reaped: string[] = [];
  for (const name of readdirSync(tmpDir)) {
    if (!name.startsWith('gk-cluster-')) continue;
    const dir = path.join(tmpDir, name);
    let holder = 0;
    try {
      holder = Number(readFileSync(path.join(dir, 'holder.pid'), 'utf8'));
    } catch {
      continue; // still being created, or not ours
    }
    if (holder && existsSync(`/proc/${holder}`) && /^sleep\0infinity/.test(readFileSync(`/proc/${holder}/cmdline`, 'utf8'))) continue;
    const cgroupRoot = `/gk-cluster-${name.slice('gk-cluster-'.length).toLowerCase()}`;
    const ns = new ClusterNamespace({ dir, nodeIp: '', serviceCidr: '', cgroupRoot });
    const socket = path.join(dir, 'containerd');
    const strays = () => {
      const pids = [...ns.cgroupPids()];
      for (const p of readdirSync('/proc')) {
        if (!/^\d+$/.test(p)) continue;
        try {
          if (readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(socket)) pids.push(Number(p));
        } catch {
          /* gone */
        }
      }
      return pids;
    };
    await killUntilGone(strays, 20_000);
    await ns.removeCgroups(20_000);
    rmSync(dir, { recursive: true, force: true });
    reaped.push(dir);
  }
  return reaped;
}
