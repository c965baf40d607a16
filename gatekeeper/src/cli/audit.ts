// `gatekeeper audit`: evaluates objects from files against the templates and constraints from files, once.
import { Command, Option } from 'commander';
import pino from 'pino';
import { PolicyEngine } from '../policy/engine.js';
import { loadPolicyFiles } from '../policy/load.js';
import { flattenObjects, formatAuditText, runAudit, type AuditProgress } from '../audit/run-audit.js';
import { addExportOptions, openDecisionExport, type ExportFlags } from '../export/cli-options.js';
import { PolicyFolder } from '../webhook/policy-folder.js';
import { addEngineOptions, addExpansionOption, collect, engineOptions, nonNegativeInt, type EngineFlags } from './engine-options.js';
import { addFileLifecycleOptions, fileLifecycle, type LifecycleFlags } from '../audit/lifecycle/options.js';

export const AUDIT_DEFAULTS = { constraintViolationsLimit: 20 };

interface AuditFlags extends ExportFlags, EngineFlags, LifecycleFlags {
  policies: string[];
  resources: string[];
  output: 'text' | 'json';
  constraintViolationsLimit: number;
  progress?: boolean;
  failOnViolation?: boolean;
  inventory: boolean;
  enableGeneratorResourceExpansion?: boolean;
}

export function register(program: Command): void {
  const cmd = program
    .command('audit')
    .description('evaluate every object under --resources against every matching constraint under --policies; print a summary per constraint')
    .requiredOption('--policies <path>', 'folder or file of ConstraintTemplates, constraints and ExpansionTemplates (repeatable)', collect, [])
    .requiredOption('--resources <path>', 'folder or file of objects to audit (YAML/JSON, multi-document, List kinds; repeatable)', collect, [])
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
    .option(
      '--constraint-violations-limit <n>',
      'violations listed per constraint (the export is never capped)',
      nonNegativeInt('--constraint-violations-limit'),
      AUDIT_DEFAULTS.constraintViolationsLimit,
    )
    .option('--progress', 'report progress on stderr every 2 s (default: when stderr is a terminal)')
    .option('--no-inventory', 'do not offer the audited objects to referential policies as data.inventory')
    .option('--fail-on-violation', 'exit with status 3 when any deny violation is found');
  addFileLifecycleOptions(cmd);
  addEngineOptions(cmd, { logLevel: 'warn' });
  addExpansionOption(cmd);
  addExportOptions(cmd, { admission: false });
  cmd.action(async (flags: AuditFlags) => {
    try {
      process.exitCode = await runAuditCommand(flags);
    } catch (e) {
      process.stderr.write(`gatekeeper audit: ${(e as Error).message}\n`);
      process.exitCode = 1;
    }
  });
}

async function runAuditCommand(flags: AuditFlags): Promise<number> {
  const logger = pino({ level: flags.logLevel, base: { component: 'audit' } }, pino.destination(2));
  const engine = await PolicyEngine.create(engineOptions(flags, logger));
  const folder = new PolicyFolder({ paths: flags.policies, engine, logger, pollIntervalMs: 0 });
  const state = await folder.load();
  for (const t of state.templates) for (const e of t.errors) process.stderr.write(`template ${t.kind}: ${e}\n`);
  for (const c of state.constraints) if (c.error) process.stderr.write(`constraint ${c.kind}/${c.name}: ${c.error}\n`);

  const loaded = await loadPolicyFiles(flags.resources);
  const objects = flattenObjects(loaded.others.map((o) => o.obj));
  if (flags.inventory) for (const o of objects) engine.addInventory(o);

  const exporter = await openDecisionExport(flags, logger, 'audit');
  const showProgress = flags.progress ?? process.stderr.isTTY;
  const lifecycle = fileLifecycle(flags, logger);
  const report = await runAudit({
    engine,
    source: [{ objects }],
    expectedObjects: objects.length,
    logger,
    violationsLimit: flags.constraintViolationsLimit,
    ...(flags.enableGeneratorResourceExpansion !== false ? { expander: folder.expander } : {}),
    ...(exporter ? { exporter } : {}),
    ...(lifecycle ? { lifecycle } : {}),
    ...(showProgress ? { onProgress: (p: AuditProgress) => process.stderr.write(`audited ${p.objects}/${p.expectedObjects} objects, ${p.violations} violations\n`) } : {}),
  });
  const delivered = (await exporter?.close()) ?? true;
  await folder.close();
  process.stdout.write(flags.output === 'json' ? JSON.stringify(report, null, 2) + '\n' : formatAuditText(report, flags.constraintViolationsLimit));
  if (!delivered) {
    process.stderr.write('gatekeeper audit: the exporter did not acknowledge every record (see --export-flush-timeout-ms)\n');
    return 1;
  }
  if (report.errors.length) return 1;
  if (flags.failOnViolation && (report.violationsByAction['deny'] ?? 0) > 0) return 3;
  return 0;
}
