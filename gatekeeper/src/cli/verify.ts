// `gatekeeper verify PATH...`: runs gator Suite files (a file, folders searched recursively, or several).
import { Command, InvalidArgumentError } from 'commander';
import pino from 'pino';
import { PolicyEngine } from '../policy/engine.js';
import { formatResult, summary } from '../verify/report.js';
import { SuiteRunner } from '../verify/runner.js';
import { readSuites } from '../verify/suite.js';

interface VerifyFlags {
  maxModuleMemory?: number;
  run?: string;
  verbose?: boolean;
  opaPath?: string;
  cacheDir?: string;
  compileConcurrency?: string;
  logLevel: string;
}

function parseMiB(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 4096) throw new InvalidArgumentError(`--max-module-memory must be an integer from 1 to 4096 (MiB), got ${JSON.stringify(v)}`);
  return n;
}

export function register(program: Command): void {
  program
    .command('verify')
    .description('run gator Suite files (test.gatekeeper.sh/v1alpha1): every case, its assertions, a summary; exit 1 on any failure')
    .argument('<paths...>', 'suite files or folders (searched recursively for kind: Suite)')
    .option('--run <regex>', 'only run tests/cases whose "test/case" name matches (the others count as skipped)')
    .option('-v, --verbose', 'print every case, not only failures')
    .option('--opa-path <file>', 'the opa binary used to compile templates (default: $GATEKEEPER_OPA_PATH, PATH, peer cache)')
    .option('--max-module-memory <MiB>', 'linear-memory cap of each template instance, MiB (default 1024)', parseMiB)
    .option('--cache-dir <dir>', 'compiled-template cache folder (default: $XDG_CACHE_HOME/gk-exporter/wasm)')
    .option('--compile-concurrency <n>', 'parallel opa builds (default: number of CPUs)')
    .option('--log-level <level>', 'pino log level (stderr)', 'warn')
    .action(async (paths: string[], flags: VerifyFlags) => {
      let run: RegExp | undefined;
      if (flags.run) {
        try {
          run = new RegExp(flags.run);
        } catch (e) {
          throw new Error(`--run: invalid regular expression: ${(e as Error).message}`);
        }
      }
      const concurrency = flags.compileConcurrency === undefined ? undefined : Number(flags.compileConcurrency);
      if (concurrency !== undefined && (!Number.isInteger(concurrency) || concurrency < 1)) {
        throw new Error(`--compile-concurrency must be a positive integer, got ${flags.compileConcurrency}`);
      }
      const logger = pino({ level: flags.logLevel }, pino.destination(2));
      const engine = await PolicyEngine.create({ opaPath: flags.opaPath, cacheDir: flags.cacheDir, maxModuleMemoryMiB: flags.maxModuleMemory, compileConcurrency: concurrency, logger });
      const suites = await readSuites(paths);
      if (!suites.length) throw new Error(`no Suite found in ${paths.join(', ')}`);
      const runner = new SuiteRunner(engine);
      await runner.precompile(suites);
      const results = await runner.run(suites, {
        run,
        onResult: (r) => {
          const line = formatResult(r, !!flags.verbose);
          if (line) console.log(line);
        },
      });
      const s = summary(results);
      console.log(s.line);
      process.exitCode = s.failed ? 1 : 0;
    });
}
