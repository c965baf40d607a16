// `gatekeeper test` as `gator test`: objects from -f/--filename files and folders (repeatable), positional paths and
// standard input; the templates and constraints among them are loaded, every object is data.inventory and is reviewed
// at gator.gatekeeper.sh; results as gator prints them (text, -o json|yaml, --stats, --deny-only); exit 1 when a
// result denies or the input cannot be used (gator's codes), else 0.
import fs from 'node:fs';
import { Command, Option } from 'commander';
import pino from 'pino';
import { ENFORCEMENT_POINTS, PolicyEngine, type ReviewOptions, type ReviewRequest } from '../policy/engine.js';
import { loadObjects, missingKind, parseObjects, reviewFromAdmissionReview, reviewFromObject, sortObjects, splitApiVersion, type LoadedObject } from '../policy/load.js';
import { addEngineOptions, collect, engineOptions, type EngineFlags } from './engine-options.js';
import { formatResults, isDeny, sortResults, TARGET, type GatorResult, type StatsEntry } from './test-output.js';

interface TestFlags extends EngineFlags {
  filename: string[];
  output: string;
  denyOnly?: boolean;
  stats?: boolean;
  verbose?: boolean;
  inventory: boolean;
}

/** gator reads standard input unless it is a character device (a terminal, /dev/null): piped, redirected, a socket. */
function readStdin(): LoadedObject[] {
  let st: fs.Stats;
  try {
    st = fs.fstatSync(0);
  } catch {
    return [];
  }
  if (st.isCharacterDevice()) return [];
  return parseObjects(fs.readFileSync(0, 'utf8'), 'stdin');
}

const isAdmissionReview = (o: Record<string, any>) => o.kind === 'AdmissionReview' && splitApiVersion(o.apiVersion).group === 'admission.k8s.io';

async function test(engine: PolicyEngine, objects: LoadedObject[], flags: TestFlags, log: (line: string) => void): Promise<{ results: GatorResult[]; stats: StatsEntry[] }> {
  for (const o of objects) {
    const bad = missingKind(o.obj);
    if (bad) throw new Error(`reading ${o.source}: invalid request object: ${bad}`);
  }
  const files = sortObjects(objects);
  const added = await Promise.all(files.templates.map((t) => engine.upsertTemplate(t.obj)));
  added.forEach((r, i) => {
    if (r.errors.length) throw new Error(`auditing objects: adding template ${JSON.stringify(files.templates[i]!.obj.metadata?.name)}: ${r.errors.join('; ')}`);
  });
  for (const c of files.constraints) {
    try {
      engine.upsertConstraint(c.obj);
    } catch (e) {
      throw new Error(`auditing objects: adding constraint ${JSON.stringify(c.obj.metadata?.name)}: ${(e as Error).message}`);
    }
  }
  const namespaces = new Map<string, Record<string, any>>();
  for (const o of objects) {
    if (o.obj.kind === 'Namespace' && splitApiVersion(o.obj.apiVersion).group === '' && o.obj.metadata?.name) namespaces.set(o.obj.metadata.name, o.obj);
    if (flags.inventory && !isAdmissionReview(o.obj)) {
      try {
        engine.addInventory(o.obj);
      } catch {
        // an object without a name has no place in data.inventory; it is still reviewed
      }
    }
  }
  const results: GatorResult[] = [];
  const stats: StatsEntry[] = [];
  for (const o of objects) {
    const review: ReviewRequest = isAdmissionReview(o.obj) ? reviewFromAdmissionReview(o.obj) : reviewFromObject(o.obj);
    const target = (review.object ?? review.oldObject) as Record<string, any>;
    const opts: ReviewOptions = { enforcementPoint: ENFORCEMENT_POINTS.gator };
    // The Namespaces among the inputs are the ones namespaceSelector knows (also with --no-inventory), as in gator.
    if (review.namespace) opts.namespace = namespaces.get(review.namespace) ?? null;
    const r = await engine.review(review, opts);
    for (const v of r.violations) {
      const res: GatorResult = {
        target: TARGET,
        msg: v.msg,
        constraint: engine.getConstraint(v.constraint.kind, v.constraint.name)?.raw ?? { kind: v.constraint.kind, metadata: { name: v.constraint.name } },
        enforcementAction: v.constraint.enforcementAction,
        violatingObject: target,
        trace: null,
      };
      if (v.details !== undefined) res.metadata = { details: v.details };
      if (v.enforcementActions) res.scopedActions = v.enforcementActions;
      results.push(res);
    }
    const id = `${target?.apiVersion ?? ''}/${target?.kind ?? ''} ${target?.metadata?.namespace ? target.metadata.namespace + '/' : ''}${target?.metadata?.name ?? ''}`;
    const source = { type: 'engine', value: 'gatekeeper' };
    stats.push({
      scope: 'object',
      statsFor: id,
      stats: [
        { name: 'reviewRunTimeNS', value: Math.round(r.durationMs * 1e6), source },
        { name: 'constraintCount', value: r.evaluatedConstraints, source },
      ],
    });
    if (flags.verbose) log(`reviewed ${id} (${o.source}): ${r.evaluatedConstraints} constraint(s) evaluated, ${r.violations.length} result(s), ${r.durationMs.toFixed(2)} ms`);
  }
  return { results: sortResults(results), stats };
}

export function register(program: Command): void {
  const cmd = program
    .command('test')
    .description('evaluate resources against the ConstraintTemplates and constraints among them, as gator test; exit 1 when one is denied')
    .argument('[paths...]', 'files or folders of YAML/JSON (multi-document), like -f')
    .option('-f, --filename <path>', 'a file or folder of Kubernetes resources; repeatable (standard input is read too unless it is a terminal or /dev/null)', collect, [])
    .addOption(new Option('-o, --output <format>', 'output format (default: one line per result)').choices(['json', 'yaml', 'default']).default('default'))
    .option('--deny-only', 'print only the results that deny')
    .option('--stats', 'add per-object evaluation statistics (json and yaml output)')
    .option('-v, --verbose', 'print each reviewed object with its counts and time on standard error')
    .option('--no-inventory', 'do not offer the objects to referential policies as data.inventory');
  addEngineOptions(cmd, { logLevel: 'warn' });
  cmd.action(async (paths: string[], flags: TestFlags) => {
    try {
      let objects: LoadedObject[];
      try {
        objects = [...(await loadObjects([...flags.filename, ...paths])), ...readStdin()];
      } catch (e) {
        throw new Error(`reading: ${(e as Error).message}`);
      }
      if (!objects.length) throw new Error('no input data identified');
      const logger = pino({ level: flags.logLevel }, pino.destination(2));
      const engine = await PolicyEngine.create(engineOptions(flags, logger));
      const { results, stats } = await test(engine, objects, flags, (line) => console.error(line));
      const shown = flags.denyOnly ? results.filter(isDeny) : results;
      process.stdout.write(formatResults(flags.output, shown, flags.stats && flags.output !== 'default' ? stats : undefined));
      process.exitCode = results.some(isDeny) ? 1 : 0;
    } catch (e) {
      // gator exits 1 for unusable input as for a deny: the message says which.
      console.error(e instanceof Error ? e.message : String(e));
      process.exitCode = 1;
    }
  });
}
