// `gatekeeper test` as `gator test`: objects from -f/--filename files and folders (repeatable), positional paths and
// standard input; the templates and constraints among them are loaded, every object is data.inventory and is reviewed
// at gator.gatekeeper.sh; results as gator prints them (text, -o json|yaml, --stats, --deny-only); exit 1 when a
// result denies or the input cannot be used (gator's codes), else 0.
import { Command, Option } from 'commander';
import pino from 'pino';
import { ExpansionError, expanderFor, type Expander } from '../expansion/expansion.js';
import { reviewResultants } from '../expansion/review-resultants.js';
import { ENFORCEMENT_POINTS, PolicyEngine, type ReviewOptions, type ReviewRequest, type ReviewResult } from '../policy/engine.js';
import { reviewFromAdmissionReview, reviewFromObject, sortObjects, splitApiVersion, type LoadedObject } from '../policy/load.js';
import { readInputs } from './inputs.js';
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

const DEFAULT_NAMESPACE = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } };

const isAdmissionReview = (o: Record<string, any>) => o.kind === 'AdmissionReview' && splitApiVersion(o.apiVersion).group === 'admission.k8s.io';

async function test(engine: PolicyEngine, objects: LoadedObject[], flags: TestFlags, log: (line: string) => void): Promise<{ results: GatorResult[]; stats: StatsEntry[] }> {
  for (const o of objects) {
    // gator's AddData refuses these (pkg/target: "resource <name> has no version|kind").
    const { group, version } = splitApiVersion(o.obj.apiVersion);
    const kind = typeof o.obj.kind === 'string' ? o.obj.kind : '';
    const missing = !version ? 'version' : !kind ? 'kind' : undefined;
    if (missing) {
      const name = typeof o.obj.metadata?.name === 'string' ? o.obj.metadata.name : '';
      throw new Error(`auditing objects: adding data of GVK "${group}/${version}, Kind=${kind}" (${o.source}): invalid request object: resource ${name} has no ${missing}`);
    }
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
  let expander: Expander;
  try {
    expander = expanderFor(objects.map((o) => o.obj));
  } catch (e) {
    throw new Error(`auditing objects: error creating expander: ${(e as Error).message}`);
  }
  const results: GatorResult[] = [];
  const stats: StatsEntry[] = [];
  const source = { type: 'engine', value: 'gatekeeper' };
  const review = async (req: ReviewRequest): Promise<ReviewResult> => {
    const opts: ReviewOptions = { enforcementPoint: ENFORCEMENT_POINTS.gator };
    // The Namespaces among the inputs are the ones namespaceSelector knows (also with --no-inventory); gator assumes
    // that "default" exists.
    if (req.namespace) opts.namespace = namespaces.get(req.namespace) ?? (req.namespace === 'default' ? DEFAULT_NAMESPACE : null);
    return engine.review(req, opts);
  };
  for (const o of objects) {
    const req: ReviewRequest = isAdmissionReview(o.obj) ? reviewFromAdmissionReview(o.obj) : reviewFromObject(o.obj);
    const target = (req.object ?? req.oldObject) as Record<string, any>;
    const r = await review(req);
    const violations = [...r.violations];
    let evaluated = r.evaluatedConstraints;
    let durationMs = r.durationMs;
    if (!isAdmissionReview(o.obj)) {
      try {
        const implied = await reviewResultants({ review }, expander, o.obj, {});
        violations.push(...implied.violations);
        evaluated += implied.evaluatedConstraints;
        durationMs += implied.durationMs;
      } catch (e) {
        if (!(e instanceof ExpansionError)) throw e;
        throw new Error(`auditing objects: expanding resource ${target?.metadata?.name ?? ''}: ${e.message}`);
      }
    }
    for (const v of violations) {
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
    stats.push({
      scope: 'object',
      statsFor: id,
      stats: [
        { name: 'reviewRunTimeNS', value: Math.round(durationMs * 1e6), source },
        { name: 'constraintCount', value: evaluated, source },
      ],
    });
    if (flags.verbose) log(`reviewed ${id} (${o.source}): ${evaluated} constraint(s) evaluated, ${violations.length} result(s), ${durationMs.toFixed(2)} ms`);
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
      const objects = await readInputs([...flags.filename, ...paths]);
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
