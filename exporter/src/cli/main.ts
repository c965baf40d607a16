#!/usr/bin/env -S NODE_OPTIONS="--max-semi-space-size=8 --v8-pool-size=1 ${NODE_OPTIONS}" node
// The `exporter` command: run (default), status, dead-letters list|retry|purge, sinks list|drop, queue check|recover,
// config check|defaults.
// The node options on the first line are the exporter's memory settings (measured in README "Benchmarks": a 16 MB young
// generation instead of 32, one V8 worker thread). They are put before the user's NODE_OPTIONS, so the user's compose
// with them and win over them; Dockerfile.exporter sets the same ones (test/chart/images.test.ts checks they agree).
import { Command, Option } from 'commander';
import { pino } from 'pino';
import { createRequire } from 'node:module';
import { ConfigError, envOverrides, loadCheckedConfig, readConfigFile, applyOverrides, type ConfigOverrides } from '../config/load.js';
import { addConfigCommands } from './config-commands.js';
import { startExporter } from './run.js';
import { formatStatus, queueStatus, statusProblems } from '../ops/status.js';
import { listDeadLetters, purgeDeadLetters, retryDeadLetters, type DeadLetterQuery } from '../ops/dead-letters.js';
import { METRIC_NAMES } from '../metrics/metrics.js';
import { dropSink, listSinks } from '../ops/sinks.js';
import { checkQueue, recoverQueue } from '../ops/repair.js';

/** `exporter status --exit-code` found a problem (1 is a failed command, 2 a usage error). */
const STATUS_PROBLEM_EXIT = 3;

function fail(message: string, code = 2): never {
  process.stderr.write(`exporter: ${message}\n`);
  process.exit(code);
}

/** The queue file an operations command works on: --queue, else the config's queue.path (with env overrides). */
function queueFile(opts: { queue?: string; config?: string; dataDir?: string }): string {
  if (opts.queue) return opts.queue;
  if (process.env['EXPORTER_QUEUE_PATH'] && !opts.config) return process.env['EXPORTER_QUEUE_PATH'];
  const file = opts.config ?? process.env['EXPORTER_CONFIG'];
  if (file) {
    const raw = applyOverrides(readConfigFile(file), process.env, {}) as { queue?: { path?: unknown } };
    if (typeof raw?.queue?.path !== 'string') fail(`${file}: queue.path: is required`);
    return raw.queue.path;
  }
  if (opts.dataDir) return `${opts.dataDir.replace(/\/$/, '')}/queue.db`;
  fail('say which queue: --queue PATH, --config FILE or --data-dir DIR');
}

const program = new Command('exporter')
  .description('Decision-log exporter: ndjson over a Unix socket in, durable SQLite queue, at-least-once delivery to sinks.')
  .showHelpAfterError();

program
  .command('run', { isDefault: true })
  .description('run the exporter (the default command)')
  .option('-c, --config <file>', 'config file, YAML or JSON (env EXPORTER_CONFIG)')
  .option('-d, --data-dir <dir>', 'without a config: embedded default under DIR (socket, queue, file sink) (env EXPORTER_DATA_DIR)')
  .option('--socket <path>', 'Unix socket to listen on (socket)')
  .option('--socket-mode <octal>', 'socket file mode (socketMode), default 0660')
  .option('--queue-path <path>', 'SQLite queue file (queue.path)')
  .option('--queue-max-bytes <size>', 'queue capacity, e.g. 1Gi (queue.maxBytes)')
  .addOption(new Option('--on-full <policy>', 'when the queue is full (queue.onFull)').choices(['block', 'drop-oldest']))
  .option('--metrics-address <host:port>', 'serve /metrics, /healthz, /readyz here (metrics.address)')
  .addOption(new Option('--log-level <level>', 'log level (log.level)').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']))
  .addHelpText(
    'after',
    `\nPrecedence: defaults < config file (or the --data-dir default) < environment < flags.\nEnvironment: ${Object.entries(envOverrides)
      .map(([k, v]) => `${k} (${v})`)
      .join(', ')}`,
  )
  .action(async (opts: { config?: string; dataDir?: string } & ConfigOverrides) => {
    let checked;
    try {
      checked = loadCheckedConfig({ configFile: opts.config, dataDir: opts.dataDir, flags: opts });
    } catch (e) {
      if (e instanceof ConfigError) fail(e.message);
      throw e;
    }
    const cfg = checked.config;
    const log = pino({ level: cfg.log.level, base: { svc: 'exporter' } });
    for (const w of checked.warnings) log.warn({ config: opts.config ?? process.env['EXPORTER_CONFIG'] }, w);
    let running;
    try {
      running = await startExporter(cfg, log);
    } catch (e) {
      log.fatal({ err: (e as Error).message }, 'cannot start');
      fail((e as Error).message, 1);
    }
    let signals = 0;
    const onSignal = (sig: string) => {
      if (++signals > 1) {
        log.warn({ signal: sig }, 'second signal: exiting now');
        process.exit(130);
      }
      running.stop().then(
        () => process.exit(0),
        (e: Error) => {
          log.error({ err: e.message }, 'shutdown failed');
          process.exit(1);
        },
      );
    };
    process.on('SIGTERM', () => onSignal('SIGTERM'));
    process.on('SIGINT', () => onSignal('SIGINT'));
  });

const output = () => new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text');
const queueOpts = (c: Command) =>
  c
    .option('-q, --queue <path>', 'queue file')
    .option('-c, --config <file>', "read the queue's path from this config")
    .option('-d, --data-dir <dir>', 'the queue of an embedded-default exporter');

queueOpts(
  program
    .command('status')
    .description('whether an exporter runs on the queue; per sink: state (up, down, not ready), depth, oldest age, delivered, last error, dead letters'),
)
  .addOption(output())
  .option('--exit-code', `exit ${STATUS_PROBLEM_EXIT} (reasons on stderr) when no exporter is running on the queue, a sink is down or not ready, or has dead letters`)
  .action((opts: { queue?: string; config?: string; dataDir?: string; output: string; exitCode?: boolean }) => {
    const s = queueStatus(queueFile(opts));
    process.stdout.write(opts.output === 'json' ? JSON.stringify(s, null, 2) + '\n' : formatStatus(s));
    const problems = opts.exitCode ? statusProblems(s) : [];
    if (problems.length) {
      process.stderr.write(problems.map((p) => `exporter status: ${p}\n`).join(''));
      process.exitCode = STATUS_PROBLEM_EXIT;
    }
  });

const dl = program.command('dead-letters').description('inspect, retry or purge dead letters');
const dlOpts = (c: Command) =>
  queueOpts(c)
    .option('-s, --sink <name>', 'only this sink (_ingest: lines rejected at ingest)')
    .option('-r, --reason <reason>', 'only this reason')
    .option('-n, --limit <n>', 'at most this many', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) fail(`--limit: must be a positive integer, got "${v}"`);
      return n;
    });

type DlOpts = { queue?: string; config?: string; dataDir?: string; output: string } & DeadLetterQuery;

const progress = (verb: string) => (done: number, total: number) => {
  if (process.stderr.isTTY) process.stderr.write(`\r${verb} ${done}/${total}`);
  else if (done === total || done % 10_000 === 0) process.stderr.write(`${verb} ${done}/${total}\n`);
};

dlOpts(dl.command('list').description('list dead letters (oldest first; default limit 100)'))
  .addOption(output())
  .action((opts: DlOpts) => {
    const items = listDeadLetters(queueFile(opts), opts);
    if (opts.output === 'json') {
      process.stdout.write(JSON.stringify(items, null, 2) + '\n');
      return;
    }
    for (const d of items) {
      process.stdout.write(
        `#${d.id} ${new Date(d.createdAt).toISOString()} sink=${d.sink ?? '_ingest'} reason=${d.reason}${d.decisionId ? ` decisionId=${d.decisionId}` : ''}${d.attempts ? ` attempts=${d.attempts}` : ''}\n  error: ${d.error}\n  raw${d.rawTruncated ? ' (truncated)' : ''}: ${d.raw.slice(0, 300)}\n`,
      );
    }
    if (!items.length) process.stdout.write('no dead letters\n');
  });

dlOpts(dl.command('retry').description("put dead letters back in their sink's stream (that sink only)"))
  .addOption(output())
  .action((opts: DlOpts) => {
    const r = retryDeadLetters(queueFile(opts), opts, progress('retry'));
    if (opts.output === 'json') process.stdout.write(JSON.stringify(r) + '\n');
    else process.stdout.write(`retried ${r.retried}${r.skipped ? `, skipped ${r.skipped} (rejected at ingest or truncated: cannot be resent)` : ''}\n`);
  });

dlOpts(dl.command('purge').description('delete dead letters'))
  .addOption(output())
  .action((opts: DlOpts) => {
    const r = purgeDeadLetters(queueFile(opts), opts, progress('purge'));
    if (opts.output === 'json') process.stdout.write(JSON.stringify(r) + '\n');
    else process.stdout.write(`purged ${r.purged}\n`);
  });

const sinksCmd = program.command('sinks').description("the sinks a queue knows; drop the backlog of one removed from the configuration");

queueOpts(sinksCmd.command('list').description('each sink: configured or removed, where it started, records pending (or still held, when removed)'))
  .addOption(output())
  .action((opts: { queue?: string; config?: string; dataDir?: string; output: string }) => {
    const items = listSinks(queueFile(opts));
    if (opts.output === 'json') return void process.stdout.write(JSON.stringify(items, null, 2) + '\n');
    for (const k of items) {
      process.stdout.write(
        `${k.sink} (${k.type}): ${k.configured ? `configured, ${k.pending} pending` : `removed, holds ${k.pending} queued records`}, startFrom ${k.startFrom ?? 'unknown'}\n`,
      );
    }
  });

queueOpts(sinksCmd.command('drop').argument('<name>', 'a sink removed from the configuration').description("drop a removed sink's queued backlog (says how many records)"))
  .addOption(output())
  .action((name: string, opts: { queue?: string; config?: string; dataDir?: string; output: string }) => {
    const r = dropSink(queueFile(opts), name);
    process.stdout.write(opts.output === 'json' ? JSON.stringify(r) + '\n' : `dropped sink ${r.sink}: ${r.dropped} queued records it held are no longer kept\n`);
  });

const queueCmd = program.command('queue').description('check a queue file, or recover from a damaged or lost one (not while an exporter runs on it)');

queueOpts(queueCmd.command('check').description("SQLite's integrity check, and whether the file is the queue its marker names; exit 1 on a problem"))
  .addOption(output())
  .action((opts: { queue?: string; config?: string; dataDir?: string; output: string }) => {
    const r = checkQueue(queueFile(opts));
    process.stdout.write(opts.output === 'json' ? JSON.stringify(r, null, 2) + '\n' : r.ok ? `${r.queue}: ok\n` : `${r.queue}: damaged\n${r.problems.map((p) => `  ${p}\n`).join('')}`);
    if (!r.ok) process.exitCode = 1;
  });

queueOpts(queueCmd.command('recover').description('salvage what SQLite can read into a new file (the old one is kept aside), or with --fresh start an empty queue'))
  .option('--fresh', 'move the old files aside and start an empty queue: the records they held are not delivered')
  .addOption(output())
  .action((opts: { queue?: string; config?: string; dataDir?: string; output: string; fresh?: boolean }) => {
    const r = recoverQueue(queueFile(opts), { fresh: opts.fresh ?? false });
    if (opts.output === 'json') return void process.stdout.write(JSON.stringify(r, null, 2) + '\n');
    const moved = r.movedAside.length ? `old files kept as ${r.movedAside.join(', ')}` : 'no old files';
    process.stdout.write(
      r.fresh
        ? `${r.queue}: ${moved}; the exporter starts an empty queue\n`
        : `${r.queue}: salvaged ${r.salvaged['records']} records, ${r.salvaged['sinks']} sink cursors, ${r.salvaged['dead_letters']} dead letters` +
            `${r.unreadable ? ` (${r.unreadable} unreadable places skipped)` : ''}` +
            `${r.damagedRows ? `; ${r.damagedRows} damaged rows of records moved to the dead letters (reason damaged_row)` : ''}; ${moved}\n`,
    );
  });

// yaml is loaded only when the command prints YAML (see config/load.ts).
addConfigCommands(program, (v) => (createRequire(import.meta.url)('yaml') as typeof import('yaml')).stringify(v));

program
  .command('metrics')
  .description('list the Prometheus metric names the exporter exposes')
  .action(() => {
    process.stdout.write(METRIC_NAMES.join('\n') + '\n');
  });

// An operations command piped into `head` (or anything that stops reading) ends quietly instead of crashing on EPIPE.
// Not `run`: its output is the log.
program.hook('preAction', (_program, command) => {
  if (command.name() === 'run') return;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(0);
      throw e;
    });
  }
});

program.parseAsync().catch((e: Error) => fail(e.message, 1));
