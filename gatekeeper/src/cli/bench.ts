// `gatekeeper bench` as `gator bench`: latency and throughput of reviewing the objects of some files against the
// templates and constraints among them; --save a baseline, --compare against one (exit 1 on a regression).
import fs from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import pino from 'pino';
import { ENGINE, runBench } from '../bench/run.js';
import { compare, formatComparison, formatResults, loadBaseline, saveResults } from '../bench/report.js';
import { addEngineOptions, collect, engineSettings, nonNegativeInt, positiveInt, type EngineFlags } from './engine-options.js';
import { readInputs } from './inputs.js';

interface BenchFlags extends EngineFlags {
  filename: string[];
  engine: string;
  iterations: number;
  warmup: number;
  concurrency: number;
  output: string;
  save?: string;
  compare?: string;
  threshold: number;
  minThreshold: number;
}

const UNITS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, μs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** A Go duration ("1ms", "1.5s", "2m30s", "0") in nanoseconds. */
export function parseGoDuration(v: string): number {
  if (v === '0') return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/gy;
  let total = 0;
  let end = 0;
  for (let m = re.exec(v); m; m = re.exec(v)) {
    total += Number(m[1]) * UNITS[m[2]!]!;
    end = re.lastIndex;
  }
  if (!v || end !== v.length) throw new InvalidArgumentError(`invalid duration ${JSON.stringify(v)} (e.g. 500us, 1ms, 1.5s)`);
  return total;
}

function percent(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`--threshold must be a non-negative number, got ${JSON.stringify(v)}`);
  return n;
}

export function register(program: Command): void {
  const cmd = program
    .command('bench')
    .description('benchmark reviewing the objects of the inputs against the templates and constraints among them, as gator bench')
    .argument('[paths...]', 'files or folders of YAML/JSON, like -f')
    .option('-f, --filename <path>', 'a file or folder of ConstraintTemplates, constraints and resources; repeatable', collect, [])
    .addOption(new Option('-e, --engine <engine>', `policy engine to benchmark (this engine evaluates Rego as WebAssembly)`).choices([ENGINE]).default(ENGINE))
    .option('-n, --iterations <n>', 'measured iterations over every object (use at least 1000 for a meaningful P99)', positiveInt('--iterations'), 1000)
    .option('--warmup <n>', 'unmeasured iterations first', nonNegativeInt('--warmup'), 10)
    .option('-c, --concurrency <n>', 'reviews in flight, each on its own evaluation worker thread (1: on this thread)', positiveInt('--concurrency'), 1)
    .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json', 'yaml']).default('table'))
    .option('--save <file>', 'save the results as a baseline (.json, or .yaml/.yml)')
    .option('--compare <file>', 'compare against a saved baseline; exit 1 on a regression')
    .option('--threshold <percent>', 'regression threshold, percent', percent, 10)
    .option('--min-threshold <duration>', 'ignore latency regressions smaller than this absolute change (e.g. 1ms)', parseGoDuration, 0);
  addEngineOptions(cmd, { logLevel: 'warn' });
  cmd.action(async (paths: string[], flags: BenchFlags) => {
    try {
      const inputs = [...flags.filename, ...paths];
      if (!inputs.length) throw new Error('at least one --filename must be specified');
      if (flags.compare && !fs.existsSync(flags.compare)) throw new Error(`baseline file does not exist: ${flags.compare}`);
      if (flags.warmup > flags.iterations) console.error(`Warning: warmup (${flags.warmup}) exceeds iterations (${flags.iterations}). Consider reducing warmup.\n`);
      if (flags.iterations < 1000) console.error(`Warning: ${flags.iterations} iterations may not provide statistically meaningful P99 metrics. Consider using at least 1000 iterations.\n`);
      const logger = pino({ level: flags.logLevel }, pino.destination(2));
      const objects = await readInputs(inputs);
      const engine = engineSettings(flags);
      let results;
      try {
        results = [await runBench(objects, { iterations: flags.iterations, warmup: flags.warmup, concurrency: flags.concurrency, engine, logger })];
      } catch (e) {
        throw new Error(`benchmark failed: ${(e as Error).message}`);
      }
      process.stdout.write(formatResults(results, flags.output));
      if (flags.save) {
        saveResults(results, flags.save);
        console.error(`\nResults saved to: ${flags.save}`);
      }
      if (flags.compare) {
        const comparisons = compare(loadBaseline(flags.compare), results, flags.threshold, flags.minThreshold);
        if (!comparisons.length) console.error('\nWarning: No matching engines found for comparison');
        else {
          process.stdout.write(`\n${formatComparison(comparisons, flags.threshold)}`);
          if (comparisons.some((c) => !c.passed)) process.exitCode = 1;
        }
      }
    } catch (e) {
      console.error((e as Error).message);
      process.exitCode = 1;
    }
  });
}
