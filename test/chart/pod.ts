// Runs the containers of a rendered pod template as local processes, the way a kubelet would wire them: each volume a
// folder (shared by name between containers, filled from its Secret or ConfigMap), each named container port a free
// local port, the downward-API env vars, native sidecars (init containers with restartPolicy Always) started first and
// stopped last, and the probes polled over HTTP. Paths and ports are rewritten in the args and in mounted files.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { request } from 'undici';
import { bins } from '../helpers/peers.js';
import { freePort } from '../helpers/ports.js';
import { start, type Started } from '../helpers/process.js';
import type { K8sObject } from './helm.js';

/* eslint-disable @typescript-eslint/no-explicit-any */

export interface RunningContainer {
  name: string;
  proc: Started;
  /** Container port name -> local port. */
  ports: Record<string, number>;
}

export interface SimulatedPod {
  /** Volume name -> local folder. */
  volumes: Record<string, string>;
  containers: RunningContainer[];
  /** Rewrites a path inside a container to the local folder of its volume. */
  localPath(containerPath: string): string;
  port(container: string, name: string): number;
  /** Stops regular containers first, then sidecars (reverse start order); resolves with each exit code. */
  stop(): Promise<Record<string, number | string>>;
}

export interface SimulateOptions {
  /** Scratch folder for the volumes. */
  dir: string;
  /** Objects of the release (to fill Secret and ConfigMap volumes). */
  objects: K8sObject[];
  podName: string;
  namespace: string;
  /** Extra env for every container (e.g. KUBECONFIG standing in for the projected service account token). */
  env?: Record<string, string>;
  /** How a container's image maps to a local program: its entry point ("node <bin>"). */
  entryPoints?: Record<string, string[]>;
  /**
   * Folders standing in for a StatefulSet's claims (volumeClaimTemplates), by claim name: pass the same folder to the
   * next pod of the same ordinal, as Kubernetes reattaches the claim. Default: a new folder under dir.
   */
  claims?: Record<string, string>;
}

const defaultEntryPoints: Record<string, string[]> = {
  exporter: [process.execPath, bins.exporter],
  manager: [process.execPath, bins.gatekeeper],
};

async function probe(port: number, p: string): Promise<number> {
  const r = await request(`http://127.0.0.1:${port}${p}`).catch(() => undefined);
  await r?.body.text();
  return r?.statusCode ?? 0;
}

export async function simulatePod(workload: K8sObject, o: SimulateOptions): Promise<SimulatedPod> {
  const spec = workload.spec.template.spec;
  const volumes: Record<string, string> = {};
  const mountsOf = new Map<string, Array<{ from: string; to: string }>>();
  const entryPoints = { ...defaultEntryPoints, ...o.entryPoints };

  // A StatefulSet's claims: a folder each (given, to stand for a reattached claim, or new).
  for (const c of (workload.spec.volumeClaimTemplates ?? []) as any[]) {
    const dir = o.claims?.[c.metadata.name] ?? path.join(o.dir, 'claims', c.metadata.name);
    await mkdir(dir, { recursive: true });
    volumes[c.metadata.name] = dir;
  }
  // Volumes: a folder each, filled like the kubelet fills them.
  for (const v of spec.volumes as any[]) {
    const dir = path.join(o.dir, 'volumes', v.name);
    await mkdir(dir, { recursive: true });
    volumes[v.name] = dir;
    const source = v.secret ? o.objects.find((x) => x.kind === 'Secret' && x.metadata.name === v.secret.secretName) : undefined;
    if (source?.data) for (const [k, val] of Object.entries(source.data)) await writeFile(path.join(dir, k), Buffer.from(String(val), 'base64'));
    const cm = v.configMap ? o.objects.find((x) => x.kind === 'ConfigMap' && x.metadata.name === v.configMap.name) : undefined;
    if (cm?.data) for (const [k, val] of Object.entries(cm.data)) await writeFile(path.join(dir, k), String(val));
  }

  const all: any[] = [...(spec.initContainers ?? []), ...spec.containers];
  // Ports: every declared container port gets a free local one; the containers of a pod share them.
  const portMap = new Map<number, number>();
  const ports: Record<string, Record<string, number>> = {};
  for (const c of all) {
    ports[c.name] = {};
    for (const p of c.ports ?? []) {
      if (!portMap.has(p.containerPort)) portMap.set(p.containerPort, await freePort());
      ports[c.name]![p.name] = portMap.get(p.containerPort)!;
    }
    mountsOf.set(
      c.name,
      (c.volumeMounts ?? []).map((m: any) => ({ from: m.mountPath.replace(/\/$/, ''), to: volumes[m.name]! })),
    );
  }

  const escape = (x: string) => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const rewrite = (container: string, text: string): string => {
    // One pass over every mount path (longest first), so a rewritten path is never rewritten again (e.g. by /tmp).
    const mounts = [...mountsOf.get(container)!].sort((a, b) => b.from.length - a.from.length);
    let out = mounts.length
      ? text.replace(new RegExp(`(^|[=\\s"'])(${mounts.map((m) => escape(m.from)).join('|')})(?=/|$|[\\s"'])`, 'gm'), (_, pre: string, from: string) => pre + mounts.find((m) => m.from === from)!.to)
      : text;
    for (const [from, to] of portMap) {
      out = out.replace(new RegExp(`(0\\.0\\.0\\.0:|=|:)${from}\\b`, 'g'), (_, pre: string) => `${pre === '0.0.0.0:' ? '127.0.0.1:' : pre}${to}`);
    }
    return out;
  };

  // Mounted config files see the same rewriting as args (they name paths and ports inside the pod).
  for (const c of all) {
    for (const m of c.volumeMounts ?? []) {
      const v = (spec.volumes as any[]).find((x) => x.name === m.name);
      if (!v?.configMap) continue;
      for (const f of Object.keys(o.objects.find((x) => x.kind === 'ConfigMap' && x.metadata.name === v.configMap.name)?.data ?? {})) {
        const file = path.join(volumes[m.name]!, f);
        await writeFile(file, rewrite(c.name, await readFile(file, 'utf8')));
      }
    }
  }

  const envOf = (c: any): Record<string, string> => {
    const env: Record<string, string> = {};
    for (const e of c.env ?? []) {
      if (e.value !== undefined) env[e.name] = e.value;
      else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.name') env[e.name] = o.podName;
      else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.namespace') env[e.name] = o.namespace;
    }
    return env;
  };

  const running: RunningContainer[] = [];
  const waitProbe = async (c: any, rc: RunningContainer, kind: 'startupProbe' | 'readinessProbe') => {
    const pr = c[kind]?.httpGet;
    if (!pr) return;
    const port = typeof pr.port === 'number' ? portMap.get(pr.port)! : rc.ports[pr.port]!;
    const until = Date.now() + 120_000;
    for (;;) {
      if (rc.proc.child.exitCode !== null || rc.proc.child.signalCode !== null) throw new Error(`${c.name} exited: ${rc.proc.output().slice(-3000)}`);
      if ((await probe(port, pr.path)) === 200) return;
      if (Date.now() > until) throw new Error(`${c.name} ${kind} ${pr.path} never answered 200: ${rc.proc.output().slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  const launch = (c: any): RunningContainer => {
    const entry = entryPoints[c.name];
    if (!entry) throw new Error(`no local entry point for container ${c.name}`);
    const args = (c.args as string[]).map((a) => rewrite(c.name, a));
    const proc = start(entry[0]!, [...entry.slice(1), ...args], { env: { ...process.env, ...envOf(c), ...o.env } });
    const rc = { name: c.name, proc, ports: ports[c.name]! };
    running.push(rc);
    return rc;
  };

  // Native sidecars first, each up (startup probe) before the next container starts; then the regular containers.
  for (const c of spec.initContainers ?? []) {
    if (c.restartPolicy !== 'Always') throw new Error(`init container ${c.name} is not a sidecar: not simulated`);
    await waitProbe(c, launch(c), 'startupProbe');
  }
  for (const c of spec.containers) launch(c);
  for (const c of all) {
    const rc = running.find((r) => r.name === c.name)!;
    await waitProbe(c, rc, 'startupProbe');
    await waitProbe(c, rc, 'readinessProbe');
  }

  return {
    volumes,
    containers: running,
    localPath: (p: string) => {
      for (const [, list] of mountsOf) for (const m of list) if (p === m.from || p.startsWith(m.from + '/')) return m.to + p.slice(m.from.length);
      throw new Error(`${p} is on no volume`);
    },
    port: (container, name) => ports[container]![name]!,
    async stop() {
      const codes: Record<string, number | string> = {};
      const grace = (spec.terminationGracePeriodSeconds ?? 30) * 1000;
      const regular = running.filter((r) => spec.containers.some((c: any) => c.name === r.name));
      const sidecars = running.filter((r) => !regular.includes(r)).reverse();
      for (const group of [regular, sidecars]) {
        await Promise.all(
          group.map(async (r) => {
            const kill = setTimeout(() => r.proc.child.kill('SIGKILL'), grace);
            codes[r.name] = await r.proc.kill('SIGTERM');
            clearTimeout(kill);
          }),
        );
      }
      return codes;
    },
  };
}
