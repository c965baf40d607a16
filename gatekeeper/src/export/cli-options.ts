// The export flags shared by `gatekeeper webhook` and `gatekeeper audit`, and opening the exporter's client from them.
import { InvalidArgumentError, type Command } from 'commander';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { DecisionExport } from './decision-export.js';
import { DEFAULT_BUFFER_RECORDS, openRecordSender } from './open-client.js';
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
  exportSpillPath?: string;
  exportSpillMaxBytes?: number;
  exportFlushTimeoutMs?: number;
}

function positive(flag: string) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`${flag} must be a positive integer, got ${JSON.stringify(v)}`);
    return n;
  };
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
    .option('--export-buffer-records <n>', `records held in memory until the exporter acknowledges them (default ${DEFAULT_BUFFER_RECORDS}); past it they spill or are dropped (counted)`, positive('--export-buffer-records'))
    .option('--export-spill-path <file>', 'when the memory buffer is full, append records to this file instead of dropping them (replayed on reconnect and by the next process)')
    .option('--export-spill-max-bytes <n>', 'spill file capacity (default 256 MiB)', positive('--export-spill-max-bytes'))
    .option('--export-flush-timeout-ms <n>', 'on shutdown, how long to wait for the exporter to acknowledge what was sent (default 10000)', positive('--export-flush-timeout-ms'));
  if (opts.admission) {
    cmd
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

/** Undefined when export is off. Throws with a clear message on a bad flag. */
export async function openDecisionExport(
  flags: ExportFlags,
  logger: Logger,
  component = 'gatekeeper',
  registry?: Registry,
): Promise<DecisionExport | undefined> {
  const socket = flags.exportSocket ?? (flags.enableViolationExport ? process.env['GK_EXPORT_SOCKET'] || DEFAULT_EXPORT_SOCKET : undefined);
  if (!socket) return undefined;
  const fieldPolicy = { omit: parseFieldList(flags.exportOmit, '--export-omit'), redact: parseFieldList(flags.exportRedact, '--export-redact') };
  const client = openRecordSender(socket, logger, {
    flushTimeoutMs: flags.exportFlushTimeoutMs ?? 10_000,
    ...(flags.exportBufferRecords ? { bufferRecords: flags.exportBufferRecords } : {}),
    ...(flags.exportSpillPath ? { spillPath: flags.exportSpillPath } : {}),
    ...(flags.exportSpillMaxBytes ? { spillMaxBytes: flags.exportSpillMaxBytes } : {}),
    ...(registry ? { registry } : {}),
  });
  logger.info({ socket, omit: fieldPolicy.omit, redact: fieldPolicy.redact }, 'exporting decisions');
  const objectRedact = parseFieldList(flags.exportObjectRedact ?? DEFAULT_OBJECT_REDACT, '--export-object-redact', { wildcard: true });
  return new DecisionExport(
    client,
    { includeAllowed: flags.exportAllowed !== false, includeObject: flags.exportObject === true, objectRedact, fieldPolicy, source: recordSource(component) },
    logger,
  );
}
