// The violation lifecycle's flags: `gatekeeper audit` keeps the state in a file, `gatekeeper run` in ConfigMaps of its
// namespace (proto-docs/record.md#violation-lifecycle explains the choice).
import { InvalidArgumentError, type Command } from 'commander';
import type { Logger } from 'pino';
import { positiveInt } from '../../cli/engine-options.js';
import type { KubeClient } from '../../k8s/client.js';
import { ConfigMapLifecycleStore } from './configmap-store.js';
import { FileLifecycleStore } from './file-store.js';
import { DEFAULT_MAX_PAIRS, ViolationLifecycle } from './lifecycle.js';

export const LIFECYCLE_DEFAULTS = { configMap: 'gatekeeper-violation-lifecycle', shards: 4, maxPairs: DEFAULT_MAX_PAIRS };
/** The chart grants the audit its state ConfigMaps by name, indexes 0 to 63. */
export const MAX_SHARDS = 64;

function shardCount(v: string): number {
  const n = positiveInt('--violation-lifecycle-shards')(v);
  if (n > MAX_SHARDS) throw new InvalidArgumentError(`--violation-lifecycle-shards: at most ${MAX_SHARDS}, got ${n}`);
  return n;
}

export interface LifecycleFlags {
  violationLifecycle?: boolean;
  violationLifecycleState?: string;
  violationLifecycleConfigmap?: string;
  violationLifecycleShards?: number;
  violationLifecycleMaxPairs?: number;
}

const MAX_PAIRS_HELP = 'open (constraint, resource) pairs the lifecycle keeps at most; new ones past it are not opened (logged)';

/** `gatekeeper audit`: the state file turns the lifecycle on. */
export function addFileLifecycleOptions(cmd: Command): void {
  cmd
    .option('--violation-lifecycle-state <file>', 'send violation_opened / violation_resolved against the state kept in this file (created 0600)')
    .option('--violation-lifecycle-max-pairs <n>', MAX_PAIRS_HELP, positiveInt('--violation-lifecycle-max-pairs'), LIFECYCLE_DEFAULTS.maxPairs);
}

/** `gatekeeper run`: the state in ConfigMaps "<name>-<i>" of --namespace. */
export function addClusterLifecycleOptions(cmd: Command): void {
  cmd
    .option('--violation-lifecycle', 'send violation_opened / violation_resolved after each audit, the state kept in ConfigMaps of --namespace')
    .option('--violation-lifecycle-configmap <name>', 'prefix of the state ConfigMaps ("<name>-0" …)', LIFECYCLE_DEFAULTS.configMap)
    .option('--violation-lifecycle-shards <n>', `state ConfigMaps, 1-${MAX_SHARDS} (each holds at most 900 KiB gzipped)`, shardCount, LIFECYCLE_DEFAULTS.shards)
    .option('--violation-lifecycle-max-pairs <n>', MAX_PAIRS_HELP, positiveInt('--violation-lifecycle-max-pairs'), LIFECYCLE_DEFAULTS.maxPairs);
}

export function fileLifecycle(f: LifecycleFlags, logger: Logger): ViolationLifecycle | undefined {
  if (!f.violationLifecycleState) return undefined;
  return new ViolationLifecycle({ store: new FileLifecycleStore(f.violationLifecycleState), maxPairs: f.violationLifecycleMaxPairs ?? LIFECYCLE_DEFAULTS.maxPairs, logger });
}

export interface ClusterLifecycleSettings {
  configMap: string;
  shards: number;
  maxPairs: number;
}

export function clusterLifecycleSettings(f: LifecycleFlags): ClusterLifecycleSettings | undefined {
  if (!f.violationLifecycle) return undefined;
  return {
    configMap: f.violationLifecycleConfigmap ?? LIFECYCLE_DEFAULTS.configMap,
    shards: f.violationLifecycleShards ?? LIFECYCLE_DEFAULTS.shards,
    maxPairs: f.violationLifecycleMaxPairs ?? LIFECYCLE_DEFAULTS.maxPairs,
  };
}

export function clusterLifecycle(client: KubeClient, s: ClusterLifecycleSettings, namespace: string, logger: Logger): ViolationLifecycle {
  return new ViolationLifecycle({ store: new ConfigMapLifecycleStore(client, { namespace, name: s.configMap, shards: s.shards }), maxPairs: s.maxPairs, logger });
}
