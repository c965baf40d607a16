// Runs the pinned helm on the project's chart and parses what it renders.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { peerPath, repoRoot } from '../helpers/peers.js';

export const chartDir = path.join(repoRoot, 'charts/gk-exporter');
export const valuesDir = path.join(repoRoot, 'test/chart/values');
export const releaseNamespace = 'gk-system';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type K8sObject = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; [k: string]: any }; [k: string]: any };

export interface HelmResult {
  code: number;
  stdout: string;
  stderr: string;
}

let helmBin: string | undefined;
export function helmPath(): string {
  helmBin ??= peerPath('helm');
  return helmBin;
}

/** Runs helm; never throws on a non-zero exit (look at code). HELM_* dirs point into tmp so nothing leaks into $HOME. */
export function helm(args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<HelmResult> {
  return new Promise((resolve) => {
    execFile(
      helmPath(),
      args,
      {
        timeout: opts.timeoutMs ?? 120_000,
        maxBuffer: 64 * 1024 * 1024,
        env: {
          ...process.env,
          HELM_CACHE_HOME: path.join(repoRoot, '.tap/helm/cache'),
          HELM_CONFIG_HOME: path.join(repoRoot, '.tap/helm/config'),
          HELM_DATA_HOME: path.join(repoRoot, '.tap/helm/data'),
          ...opts.env,
        },
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** The objects of a multi-document YAML stream (empty documents dropped). */
export function parseObjects(text: string): K8sObject[] {
  return parseAllDocuments(text)
    .map((d) => {
      if (d.errors.length) throw new Error(`rendered YAML does not parse: ${d.errors[0]!.message}`);
      return d.toJS() as K8sObject | null;
    })
    .filter((o): o is K8sObject => o !== null && typeof o === 'object');
}

/** `helm template` with the given values files (names under test/chart/values/) and --set pairs; throws on failure. */
export async function render(valuesFiles: string[] = [], set: string[] = [], extra: string[] = []): Promise<K8sObject[]> {
  const r = await helm(templateArgs(valuesFiles, set, extra));
  if (r.code !== 0) throw new Error(`helm template failed (${r.code}): ${r.stderr}`);
  return parseObjects(r.stdout);
}

export function templateArgs(valuesFiles: string[] = [], set: string[] = [], extra: string[] = []): string[] {
  return [
    'template',
    'gk',
    chartDir,
    '--namespace',
    releaseNamespace,
    ...valuesFiles.flatMap((f) => ['-f', path.join(valuesDir, f)]),
    ...set.flatMap((s) => ['--set', s]),
    ...extra,
  ];
}

export function find(objects: K8sObject[], kind: string, nameSuffix: string): K8sObject {
  const o = objects.find((x) => x.kind === kind && x.metadata.name.endsWith(nameSuffix));
  if (!o) throw new Error(`no ${kind} named *${nameSuffix} among: ${objects.map((x) => `${x.kind}/${x.metadata.name}`).join(', ')}`);
  return o;
}

export function findAll(objects: K8sObject[], kind: string): K8sObject[] {
  return objects.filter((x) => x.kind === kind);
}

/** Every container of a pod template: init (native sidecars included) and regular. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function podContainers(workload: K8sObject): any[] {
  const spec = workload.spec.template.spec;
  return [...(spec.initContainers ?? []), ...(spec.containers ?? [])];
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function container(workload: K8sObject, name: string): any {
  const c = podContainers(workload).find((x) => x.name === name);
  if (!c) throw new Error(`${workload.metadata.name} has no container ${name}`);
  return c;
}
