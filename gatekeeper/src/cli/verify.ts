// `gatekeeper verify PATH...`: runs gator Suite files (a file, folders searched recursively, or several).
import { Command } from 'commander';
import pino from 'pino';
import { PolicyEngine } from '../policy/engine.js';
import { addEngineOptions, engineOptions, type EngineFlags } from './engine-options.js';
import { formatResult, summary } from '../verify/report.js';
import { SuiteRunner } from '../verify/runner.js';
import { readSuites } from '../verify/suite.js';

interface VerifyFlags extends EngineFlags {
  run?: string;
  verbose?: boolean;
}

export function register(program: Command): void {
  const cmd = program
    .command('verify')
    .description('run gator Suite files (test.gatekeeper.sh/v1alpha1): every case, its assertions, a summary; exit 1 on any failure')
    .argument('<paths...>', 'suite files or folders (searched recursively for kind: Suite)')
    .option('--run <regex>', 'only run tests/cases whose "test/case" name matches (the others count as skipped)')
    .option('-v, --verbose', 'print every case, not only failures');
  addEngineOptions(cmd, { logLevel: 'warn' });
  cmd.action(async (paths: string[], flags: VerifyFlags) => {
    let run: RegExp | undefined;
    if (flags.run) {
      try {
        run = new RegExp(flags.run);
      } catch (e) {
        throw new Error(`--run: invalid regular expression: ${(e as Error).message}`);
      }
    }
    const logger = pino({ level: flags.logLevel }, pino.destination(2));
    const engine = await PolicyEngine.create(engineOptions(flags, logger));
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
