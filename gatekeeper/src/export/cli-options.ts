// The export flags shared by `gatekeeper run`, `webhook` and `audit`, and opening the exporter's client from them.
import path from 'node:path';
import { DEFAULT_WRITE_HOLD_MS, ExportClient } from '@gk-exporter/exporter/client';
import type { ClusterIdentity } from '@gk-exporter/exporter/record';
import { InvalidArgumentError, type Command } from 'commander';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { DecisionExport } from './decision-export.js';
import { recordSource } from './records.js';
import { parseFieldList } from './redact.js';

export const DEFAULT_EXPORT_SOCKET = '/var/run/gk-exporter/exporter.sock';

export interface ExportFlags {
  exportSocket?: string;
  enableViolationExport?: boolean;
  exportAllowed?: boolean;
  exportObject?: boolean;
  exportOmit?: string;
  exportRedact?: string;
  exportObjectRedact?: string;
  exportBufferRecords?: number;
  /** true by default for the serving commands (run, webhook); false with --no-export-spill; undefined for the audit CLI. */
  exportSpill?: boolean;
  exportSpillPath?: string;
  exportSpillMaxBytes?: number;
  exportDropLogIntervalMs?: number;
  exportWriteHoldMs?: number;
  exportFlushTimeoutMs?: number;
  clusterName?: string;
  exportNamespaceLabels?: string;
  clusterLabel?: string[];
}

export const EXPORT_DEFAULTS = {
  bufferRecords: 10_000,
  spillMaxBytes: 256 * 1024 * 1024,
  dropLogIntervalMs: 10_000,
  flushTimeoutMs: 10_000,
};

/** Where records overflow to by default: beside the exporter's socket, one file per component (locked while in use). */
export function defaultSpillPath(socket: string, component: string): string {
  return path.join(path.dirname(socket), 'engine-spill', `${component}.ndjson`);
}

/** A flag's integer: positive, or with orZero also 0. */
function integerFlag(flag: string, { orZero = false } = {}) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < (orZero ? 0 : 1)) throw new InvalidArgumentError(`${flag} must be a ${orZero ? 'non-negative' : 'positive'} integer, got ${JSON.stringify(v)}`);
    return n;
  };
}

function nonEmpty(flag: string) {
  return (v: string) => {
    if (!v.trim()) throw new InvalidArgumentError(`${flag} must not be empty`);
    return v;
  };
}

/** A label key (optional DNS prefix and "/", then a name of up to 63 characters) and value, as Kubernetes checks them. */
const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_PREFIX = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

function collectLabel(v: string, previous: string[]): string[] {
  const eq = v.indexOf('=');
  const key = eq < 0 ? '' : v.slice(0, eq);
  const value = eq < 0 ? '' : v.slice(eq + 1);
  if (eq < 0 || !isLabelKey(key)) {
    throw new InvalidArgumentError(`--cluster-label takes key=value with a Kubernetes label key (e.g. region=eu-west-1), got ${JSON.stringify(v)}`);
  }
  if (value && !LABEL_NAME.test(value)) {
    throw new InvalidArgumentError(`--cluster-label ${key}: the value must be empty or up to 63 letters, digits, "-", "_" or ".", starting and ending alphanumeric, got ${JSON.stringify(value)}`);
  }
  if (previous.some((p) => p.slice(0, p.indexOf('=')) === key)) throw new InvalidArgumentError(`--cluster-label ${key} is given twice`);
  return [...previous, v];
}

function isLabelKey(key: string): boolean {
  const slash = key.lastIndexOf('/');
  return LABEL_NAME.test(key.slice(slash + 1)) && (slash < 0 || LABEL_PREFIX.test(key.slice(0, slash)));
}

export function parseLabelKeys(value: string | undefined, flag: string): string[] {
  const keys = (value ?? '').split(',').map((k) => k.trim()).filter(Boolean);
  const bad = keys.find((k) => !isLabelKey(k));
  if (bad !== undefined) throw new Error(`${flag}: ${JSON.stringify(bad)} is not a Kubernetes label key (e.g. team or example.com/team)`);
  return [...new Set(keys)];
}

/** The cluster identity the flags give (labels as key=value strings, already checked). */
export function clusterIdentity(flags: Pick<ExportFlags, 'clusterName' | 'clusterLabel'>): ClusterIdentity {
  const id: ClusterIdentity = {};
  if (flags.clusterName) id.name = flags.clusterName;
  if (flags.clusterLabel?.length) {
    id.labels = Object.fromEntries(flags.clusterLabel.map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  }
  return id;
}

/** Paths inside an exported object redacted unless --export-object-redact says otherwise: Secret and ConfigMap contents. */
export const DEFAULT_OBJECT_REDACT = 'data,stringData,binaryData';

export function addExportOptions(cmd: Command, opts: { admission: boolean }): Command {
  cmd
    .option('--export-socket <path>', 'stream decision records to the exporter listening on this Unix socket')
    .option(
      '--enable-violation-export [bool]',
      `Gatekeeper's flag, accepted (also as =true/=false): export, to --export-socket (default ${DEFAULT_EXPORT_SOCKET}, or $GK_EXPORT_SOCKET)`,
      (v: string) => {
        if (v !== 'true' && v !== 'false') throw new InvalidArgumentError(`--enable-violation-export takes true or false, got ${JSON.stringify(v)}`);
        return v === 'true';
      },
    )
    .option('--export-omit <fields>', 'comma-separated record fields (dotted paths) left out of every record, e.g. resourceLabels,requestUserGroups')
    .option('--export-redact <fields>', 'comma-separated record fields (dotted paths) replaced by "[redacted]", e.g. details,requestUsername')
    .option('--export-buffer-records <n>', `records held in memory until the exporter acknowledges them (default ${EXPORT_DEFAULTS.bufferRecords}); past it they go to the spill file`, integerFlag('--export-buffer-records'))
    .option(
      '--export-spill-path <file>',
      `overflow file for records the memory buffer cannot hold (exporter down or slow); replayed on reconnect and by the next process${opts.admission ? ' (default <socket dir>/engine-spill/<component>.ndjson)' : ''}`,
    )
    .option('--export-spill-max-bytes <n>', `overflow file capacity in bytes (default ${EXPORT_DEFAULTS.spillMaxBytes}, 256 MiB); past it records are dropped, logged and counted`, integerFlag('--export-spill-max-bytes'))
    .option('--export-drop-log-interval-ms <n>', `at most one warning per this many ms about dropped records (default ${EXPORT_DEFAULTS.dropLogIntervalMs})`, integerFlag('--export-drop-log-interval-ms'))
    .option(
      '--export-write-hold-ms <n>',
      `after a small write to the exporter (under 32 records), the next waits until this many ms after it, gathering the records sent meanwhile, so the exporter wakes once for several reviews (default ${DEFAULT_WRITE_HOLD_MS}; 0: a write every tick)`,
      integerFlag('--export-write-hold-ms', { orZero: true }),
    )
    .option('--cluster-name <name>', 'the cluster\'s name, written into every record (source.cluster.name) so consumers tell clusters apart', nonEmpty('--cluster-name'))
    .option('--cluster-label <key=value>', 'a label of the cluster written into every record (source.cluster.labels); repeatable', collectLabel, [])
    .option('--export-namespace-labels <keys>', 'comma-separated label keys of the reviewed object\'s namespace copied into its records as namespaceLabels, for routing per tenant, e.g. team,env (default: none)')
    .option('--export-flush-timeout-ms <n>', `on shutdown, how long to wait for the exporter to acknowledge what was sent (default ${EXPORT_DEFAULTS.flushTimeoutMs}); the rest stays in the spill file`, integerFlag('--export-flush-timeout-ms'));
  if (opts.admission) {
    cmd
      // The serving commands overflow to disk by default; the one-shot audit waits for the exporter instead (back-pressure).
      .option('--no-export-spill', 'no overflow file: records the memory buffer cannot hold are dropped (logged and counted)')
      .option('--no-export-allowed', 'export admission_decision records only for reviews that were denied or had violations')
      .option('--export-object', 'include the reviewed object in admission_decision records (off by default, as in Gatekeeper)')
      .option(
        '--export-object-redact <paths>',
        'comma-separated paths inside the exported object replaced by "[redacted]" (listed in redactedPaths; * matches any key or element)',
        DEFAULT_OBJECT_REDACT,
      );
  }
  return cmd;
}

/**
 * Undefined when export is off. Throws with a clear message on a bad flag. processName names the default spill file
 * (the records' source.component goes by the record: DecisionExport).
 */
export async function openDecisionExport(
  flags: ExportFlags,
  logger: Logger,
  processName: string,
  registry?: Registry,
): Promise<DecisionExport | undefined> {
  const socket = flags.exportSocket ?? (flags.enableViolationExport ? process.env['GK_EXPORT_SOCKET'] || DEFAULT_EXPORT_SOCKET : undefined);
  if (!socket) return undefined;
  const fieldPolicy = { omit: parseFieldList(flags.exportOmit, '--export-omit'), redact: parseFieldList(flags.exportRedact, '--export-redact') };
  const objectRedact = parseFieldList(flags.exportObjectRedact ?? DEFAULT_OBJECT_REDACT, '--export-object-redact', { wildcard: true });
  if (flags.exportSpill === false && flags.exportSpillPath) throw new Error('--no-export-spill and --export-spill-path exclude each other');
  const spillPath = flags.exportSpillPath
    ? path.resolve(flags.exportSpillPath)
    : flags.exportSpill === true
      ? defaultSpillPath(path.resolve(socket), processName)
      : undefined;
  const client = new ExportClient({
    socketPath: socket,
    buffer: { maxRecords: flags.exportBufferRecords ?? EXPORT_DEFAULTS.bufferRecords },
    ...(spillPath ? { spill: { path: spillPath, maxBytes: flags.exportSpillMaxBytes ?? EXPORT_DEFAULTS.spillMaxBytes } } : {}),
    dropLogIntervalMs: flags.exportDropLogIntervalMs ?? EXPORT_DEFAULTS.dropLogIntervalMs,
    writeHoldMs: flags.exportWriteHoldMs ?? DEFAULT_WRITE_HOLD_MS,
    ...(registry ? { registry } : {}),
    logger,
  });
  try {
    await client.opened();
  } catch (e) {
    await client.close();
    throw new Error(`--export-spill-path: ${(e as Error).message}`);
  }
  logger.info({ socket, spill: spillPath ?? 'off', omit: fieldPolicy.omit, redact: fieldPolicy.redact }, 'exporting decisions');
  return new DecisionExport(
    client,
    {
      includeAllowed: flags.exportAllowed !== false,
      includeObject: flags.exportObject === true,
      objectRedact,
      fieldPolicy,
      source: recordSource(undefined, clusterIdentity(flags)),
      namespaceLabelKeys: parseLabelKeys(flags.exportNamespaceLabels, '--export-namespace-labels'),
      flushTimeoutMs: flags.exportFlushTimeoutMs ?? EXPORT_DEFAULTS.flushTimeoutMs,
    },
    logger,
  );
}
