// The policy-engine flags every subcommand that loads policies takes, turning them into PolicyEngine.create options,
// and the small flag parsers the subcommands share.
import { InvalidArgumentError, type Command } from 'commander';
import type { Logger } from 'pino';
import type { EngineOptions } from '../policy/engine.js';

/** What PolicyEngine.create takes besides the logger; plain data, so it can be handed to worker threads. */
export type EngineSettings = Omit<EngineOptions, 'logger'>;

export interface EngineFlags {
  opaPath?: string;
  cacheDir?: string;
  compileConcurrency?: number;
  maxModuleMemory?: number;
  enableK8sNativeValidation?: boolean;
  celCostLimit?: number;
  defaultK8sNativeValidationFailurePolicy?: 'Fail' | 'Ignore';
  logLevel: string;
}

export const MAX_MODULE_MEMORY_LIMIT_MIB = 4096;

/** Repeatable option: every occurrence appended. */
export const collect = (v: string, prev: string[]): string[] => [...prev, v];

function integer(flag: string, allowZero: boolean) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0 || (!allowZero && n === 0)) {
      throw new InvalidArgumentError(`${flag} must be a ${allowZero ? 'non-negative' : 'positive'} integer, got ${JSON.stringify(v)}`);
    }
    return n;
  };
}

/** Parser of an integer flag that must be at least 1. */
export const positiveInt = (flag: string) => integer(flag, false);
/** Parser of an integer flag that may be 0. */
export const nonNegativeInt = (flag: string) => integer(flag, true);

function parseMiB(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > MAX_MODULE_MEMORY_LIMIT_MIB) {
    throw new InvalidArgumentError(`--max-module-memory must be an integer from 1 to ${MAX_MODULE_MEMORY_LIMIT_MIB} (MiB), got ${JSON.stringify(v)}`);
  }
  return n;
}

/** Go's boolean flag values, as Gatekeeper's --enable-k8s-native-validation takes them (a bare flag is true). */
export function parseGoBool(flag: string) {
  return (v: string | undefined): boolean => {
    if (v === undefined) return true;
    if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(v)) return true;
    if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(v)) return false;
    throw new InvalidArgumentError(`${flag} must be true or false, got ${JSON.stringify(v)}`);
  };
}

/**
 * Adds --opa-path, --cache-dir, --compile-concurrency, --max-module-memory, --enable-k8s-native-validation,
 * --default-k8s-native-validation-failure-policy, --cel-cost-limit and --log-level (default `logLevel`).
 */
export function addEngineOptions(cmd: Command, opts: { logLevel: 'warn' | 'info' }): Command {
  return cmd
    .option('--opa-path <file>', 'the opa binary used to compile templates (default: $GATEKEEPER_OPA_PATH, PATH, peer cache)')
    .option('--cache-dir <dir>', 'compiled-template cache folder (default: $XDG_CACHE_HOME/gk-exporter/wasm)')
    .option('--compile-concurrency <n>', 'parallel opa builds (default: number of CPUs)', positiveInt('--compile-concurrency'))
    .option('--max-module-memory <MiB>', `linear-memory cap of each template instance, MiB, 1 to ${MAX_MODULE_MEMORY_LIMIT_MIB} (default 1024)`, parseMiB)
    .option(
      '--enable-k8s-native-validation [bool]',
      'evaluate a template\'s K8sNativeValidation (CEL) block when it has one, as Gatekeeper does (default true); =false runs its Rego',
      parseGoBool('--enable-k8s-native-validation'),
    )
    .option(
      '--default-k8s-native-validation-failure-policy <policy>',
      'failure policy of a K8sNativeValidation source that sets none, Fail or Ignore (Gatekeeper\'s flag; default Fail)',
      (v: string) => {
        if (v !== 'Fail' && v !== 'Ignore') throw new InvalidArgumentError(`--default-k8s-native-validation-failure-policy must be Fail or Ignore, got ${JSON.stringify(v)}`);
        return v;
      },
    )
    .option('--cel-cost-limit <n>', 'cost budget of one CEL evaluation (one constraint, one review) (default 1000000, Kubernetes\' per-call limit)', positiveInt('--cel-cost-limit'))
    .option('--log-level <level>', 'pino log level (fatal, error, warn, info, debug, trace or silent)', opts.logLevel);
}

/** The engine settings the flags give; the ones not given are left to PolicyEngine's defaults. */
export function engineSettings(flags: EngineFlags): EngineSettings {
  return {
    ...(flags.opaPath ? { opaPath: flags.opaPath } : {}),
    ...(flags.cacheDir ? { cacheDir: flags.cacheDir } : {}),
    ...(flags.compileConcurrency !== undefined ? { compileConcurrency: flags.compileConcurrency } : {}),
    ...(flags.maxModuleMemory !== undefined ? { maxModuleMemoryMiB: flags.maxModuleMemory } : {}),
    ...(flags.enableK8sNativeValidation !== undefined ? { enableK8sNativeValidation: flags.enableK8sNativeValidation } : {}),
    ...(flags.celCostLimit !== undefined ? { celCostLimit: flags.celCostLimit } : {}),
    ...(flags.defaultK8sNativeValidationFailurePolicy ? { celDefaultFailurePolicy: flags.defaultK8sNativeValidationFailurePolicy } : {}),
  };
}

/** PolicyEngine.create options from the flags. */
export function engineOptions(flags: EngineFlags, logger: Logger): EngineOptions {
  return { ...engineSettings(flags), logger };
}

/** Gatekeeper's --enable-generator-resource-expansion (default true): the webhook and the audit expand generators. */
export function addExpansionOption(cmd: Command): Command {
  return cmd.option(
    '--enable-generator-resource-expansion [bool]',
    'review Deployments, CronJobs... also as the resources their ExpansionTemplates imply, as Gatekeeper does (default true)',
    parseGoBool('--enable-generator-resource-expansion'),
  );
}
