// The flags of the admission webhook's server, declared once for `gatekeeper run` and `gatekeeper webhook`.
import type { Command } from 'commander';
import { nonNegativeInt, positiveInt } from './engine-options.js';

export const SERVING_DEFAULTS = {
  port: 8443,
  maxRequestBytes: 10 * 1024 * 1024,
  evaluationTimeoutMs: 2500,
};

export interface ServingFlags {
  port: number;
  host?: string;
  certDir?: string;
  logDenies?: boolean;
  maxRequestBytes: number;
  evaluationTimeoutMs: number;
  evalWorkers: number;
}

export function addServingOptions(cmd: Command): Command {
  return cmd
    .option('--port <n>', 'webhook port (0: any free port, logged)', nonNegativeInt('--port'), SERVING_DEFAULTS.port)
    .option('--host <addr>', 'address to bind the webhook (and metrics) servers (default: all interfaces)')
    .option('--cert-dir <dir>', 'folder holding the serving certificate, tls.crt and tls.key (as Gatekeeper mounts its Secret)')
    .option('--log-denies', 'log every deny, warn and dryrun violation with the fields Gatekeeper logs')
    .option('--max-request-bytes <n>', 'largest accepted request body; larger ones get 413', positiveInt('--max-request-bytes'), SERVING_DEFAULTS.maxRequestBytes)
    .option(
      '--evaluation-timeout-ms <n>',
      'per-request evaluation deadline; past it the review is answered with an error (code 500)',
      positiveInt('--evaluation-timeout-ms'),
      SERVING_DEFAULTS.evaluationTimeoutMs,
    )
    .option(
      '--eval-workers <n>',
      "evaluate reviews on this many worker threads (each holds its own copy of the policies and synced data); 0: on the main thread",
      nonNegativeInt('--eval-workers'),
      0,
    );
}
