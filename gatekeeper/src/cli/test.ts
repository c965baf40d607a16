// `gatekeeper test FILES...` (like gator test): templates, constraints and objects from the same files; every object
// is reviewed against every matching constraint; violations printed as text or JSON; exit 1 when any is a deny.
import { Command, Option } from 'commander';
import pino from 'pino';
import { ENFORCEMENT_POINTS, PolicyEngine, type Violation } from '../policy/engine.js';
import { loadPolicyFiles, reviewFromAdmissionReview, reviewFromObject, splitApiVersion } from '../policy/load.js';
import { addEngineOptions, engineOptions, type EngineFlags } from './engine-options.js';

interface TestFlags extends EngineFlags {
  output: 'text' | 'json';
  inventory: boolean;
}

interface ObjectViolations {
  object: { apiVersion?: string; kind?: string; namespace?: string; name?: string; source: string };
  violations: Violation[];
}

export function register(program: Command): void {
  const cmd = program
    .command('test')
    .description('evaluate the manifests in FILES against the templates and constraints among them and print the violations')
    .argument('<paths...>', 'files or folders of YAML/JSON (multi-document) holding templates, constraints and objects')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
    .option('--no-inventory', 'do not offer the objects to referential policies as data.inventory');
  addEngineOptions(cmd, { logLevel: 'warn' });
  cmd.action(async (paths: string[], flags: TestFlags) => {
    const logger = pino({ level: flags.logLevel }, pino.destination(2));
    const engine = await PolicyEngine.create(engineOptions(flags, logger));
    const files = await loadPolicyFiles(paths);
    const problems: string[] = [];
    const results = await Promise.all(files.templates.map((t) => engine.upsertTemplate(t.obj)));
    results.forEach((r, i) => r.errors.forEach((e) => problems.push(`${files.templates[i]!.source}: ${e}`)));
    for (const c of files.constraints) {
      try {
        engine.upsertConstraint(c.obj);
      } catch (e) {
        problems.push(`${c.source}: ${(e as Error).message}`);
      }
    }
    if (flags.inventory) {
      for (const o of files.others) {
        if (o.obj.kind === 'AdmissionReview') continue;
        try {
          engine.addInventory(o.obj);
        } catch {
          // objects without a name cannot be in the inventory; they are still reviewed
        }
      }
    }
    const out: ObjectViolations[] = [];
    for (const o of files.others) {
      const isReview = o.obj.kind === 'AdmissionReview' && splitApiVersion(o.obj.apiVersion).group === 'admission.k8s.io';
      const review = isReview ? reviewFromAdmissionReview(o.obj) : reviewFromObject(o.obj);
      const r = await engine.review(review, { enforcementPoint: ENFORCEMENT_POINTS.gator });
      if (!r.violations.length) continue;
      const target = (isReview ? review.object ?? review.oldObject : o.obj) as any;
      out.push({
        object: { apiVersion: target?.apiVersion, kind: target?.kind, namespace: target?.metadata?.namespace, name: target?.metadata?.name, source: o.source },
        violations: r.violations,
      });
    }
    for (const p of problems) console.error(`error: ${p}`);
    if (flags.output === 'json') {
      // policyJson is the record's serialised copy of policy: the constraint is printed with policy alone.
      const printed = (v: Violation) => ({ ...v.constraint, policyJson: undefined });
      console.log(JSON.stringify(out.flatMap((o) => o.violations.map((v) => ({ object: o.object, constraint: printed(v), enforcementAction: v.enforcementAction, msg: v.msg, details: v.details }))), null, 2));
    } else {
      for (const o of out) {
        const id = `${o.object.kind ?? '?'} ${o.object.namespace ? o.object.namespace + '/' : ''}${o.object.name ?? '?'}`;
        for (const v of o.violations) console.log(`${id} (${o.object.source}): [${v.constraint.name}] ${v.msg} (${v.constraint.kind}, ${v.enforcementAction})`);
      }
      const count = out.reduce((n, o) => n + o.violations.length, 0);
      console.log(`${count} violation(s) in ${out.length} object(s) of ${files.others.length}`);
    }
    const denied = out.some((o) => o.violations.some((v) => v.enforcementAction === 'deny'));
    process.exitCode = problems.length ? 2 : denied ? 1 : 0;
  });
}
