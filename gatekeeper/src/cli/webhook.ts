// `gatekeeper webhook`: the standalone validating admission webhook, policies from files.
import { Command } from 'commander';
import pino from 'pino';
import { PolicyEngine } from '../policy/engine.js';
import { addExportOptions, openDecisionExport, type ExportFlags } from '../export/cli-options.js';
import { WebhookMetrics } from '../webhook/metrics.js';
import { NamespaceExemptions } from '../webhook/namespaces.js';
import { PolicyFolder, type PolicyState } from '../webhook/policy-folder.js';
import { WebhookServer } from '../webhook/server.js';
import { EvalPool } from '../webhook/eval-pool.js';
import type { Reviewer } from '../webhook/validate.js';
import { loadTls, resolveTlsFiles, watchTls } from '../webhook/tls.js';
import { addEngineOptions, addExpansionOption, collect, engineOptions, engineSettings, nonNegativeInt, type EngineFlags } from './engine-options.js';
import { expanderOf, type Expander } from '../expansion/expansion.js';
import { loadObjects } from '../policy/load.js';
import { addServingOptions, type ServingFlags } from './serving-options.js';
import { addExemptionOptions, exemptNamespacePatterns, type ExemptionFlags } from './exemption-options.js';

export const WEBHOOK_DEFAULTS = {
  policyPollIntervalMs: 2000,
};

interface WebhookFlags extends ExportFlags, EngineFlags, ExemptionFlags, ServingFlags {
  policies: string[];
  tlsCertFile?: string;
  tlsPrivateKeyFile?: string;
  insecurePlainHttp?: boolean;
  policyPollIntervalMs: number;
  enableGeneratorResourceExpansion?: boolean;
}

export function register(program: Command): void {
  const cmd = program
    .command('webhook')
    .description('serve the validating admission webhook (POST /v1/admit, /v1/admitlabel) for templates and constraints in files')
    .requiredOption('--policies <path>', 'folder or file of ConstraintTemplates, constraints and ExpansionTemplates (YAML/JSON; repeatable); reloaded on change', collect, [])
    .option('--tls-cert-file <file>', 'serving certificate (PEM)')
    .option('--tls-private-key-file <file>', 'its private key (PEM)')
    .option('--insecure-plain-http', 'serve plain HTTP without TLS: local use only, the API server requires HTTPS')
    .option('--policy-poll-interval-ms <n>', 'how often the policy files are checked for changes besides file-system events (0: events only)', nonNegativeInt('--policy-poll-interval-ms'), WEBHOOK_DEFAULTS.policyPollIntervalMs);
  addServingOptions(cmd);
  addExemptionOptions(cmd);
  addEngineOptions(cmd, { logLevel: 'info' });
  addExpansionOption(cmd);
  addExportOptions(cmd, { admission: true });
  cmd.action(async (flags: WebhookFlags) => {
    try {
      await runWebhook(flags);
    } catch (e) {
      process.stderr.write(`gatekeeper webhook: ${(e as Error).message}\n`);
      process.exit(1);
    }
  });
}

async function runWebhook(flags: WebhookFlags): Promise<void> {
  const logger = pino({ level: flags.logLevel, base: { component: 'webhook' } });
  const exemptions = new NamespaceExemptions(exemptNamespacePatterns(flags));
  let tls: Awaited<ReturnType<typeof loadTls>> | undefined;
  let tlsFiles: ReturnType<typeof resolveTlsFiles> | undefined;
  if (!flags.insecurePlainHttp) {
    tlsFiles = resolveTlsFiles(flags);
    tls = await loadTls(tlsFiles);
  } else if (flags.tlsCertFile || flags.certDir) {
    throw new Error('--insecure-plain-http and a certificate (--cert-dir / --tls-cert-file) exclude each other');
  }

  const metrics = new WebhookMetrics();
  const updateGauges = (s: PolicyState) => {
    metrics.setPolicyCounts(
      { active: s.templates.filter((t) => !t.errors.length).length, error: s.templates.filter((t) => t.errors.length).length },
      s.constraints.map((c) => ({ action: c.enforcementAction, status: c.error ? 'error' : 'active' })),
    );
  };
  const onIngested = (status: 'active' | 'error', seconds: number) => {
    metrics.templateIngestions.inc({ status });
    metrics.templateIngestionDuration.observe({ status }, seconds);
  };
  let loads = 0;
  // The ExpansionTemplates of the folder: the PolicyFolder's, or with evaluation workers read again here on each reload.
  const expanding = flags.enableGeneratorResourceExpansion !== false;
  let expander: (() => Expander | undefined) | undefined;
  let workerExpander: Expander | undefined;
  const readExpander = async () => {
    try {
      const objects = (await loadObjects(flags.policies)).map((o) => o.obj);
      workerExpander = expanderOf(objects, (name, message) => logger.error({ expansionTemplate: name, err: message }, 'ExpansionTemplate not applied'));
    } catch (e) {
      logger.error({ err: (e as Error).message }, 'ExpansionTemplates not reloaded; keeping the previous ones');
    }
  };
  const onState = (s: PolicyState) => {
    if (expanding && flags.evalWorkers > 0) void readExpander();
    updateGauges(s);
    if (loads++ > 0) metrics.policyReloads.inc({ status: s.templates.some((t) => t.errors.length) || s.constraints.some((c) => c.error) ? 'error' : 'active' });
  };
  const exporter = await openDecisionExport(flags, logger, 'webhook', metrics.registry);

  // Evaluation starts once the policies are loaded; until then /readyz says 503 and reviews are answered with an error.
  let reviewer: Reviewer | undefined;
  const server = new WebhookServer({
    engine: {
      review: (req, opts) => (reviewer ? reviewer.review(req, opts) : Promise.reject(new Error('policies are not loaded yet'))),
    },
    logger,
    metrics,
    exemptions,
    ...(tls ? { tls: { key: tls.key, cert: tls.cert } } : {}),
    maxRequestBytes: flags.maxRequestBytes,
    deadlineMs: flags.evaluationTimeoutMs,
    logDenies: flags.logDenies === true,
    isReady: () => reviewer !== undefined,
    expander: () => expander?.(),
    ...(exporter ? { exporter } : {}),
  });
  // Listen first so /healthz answers while templates compile.
  const port = await server.listen(flags.port, flags.host);
  logger.info({ port, tls: !!tls, ...(tls ? { subject: tls.subject, validTo: tls.validTo } : {}) }, 'webhook listening');

  let closePolicies: () => Promise<void>;
  let state: PolicyState;
  if (flags.evalWorkers > 0) {
    const started = await EvalPool.start(
      flags.evalWorkers,
      { paths: flags.policies, pollIntervalMs: flags.policyPollIntervalMs, logLevel: flags.logLevel, engine: engineSettings(flags) },
      logger,
      { onState, onIngested },
    );
    state = started.state;
    onState(state);
    if (expanding) await readExpander();
    expander = () => workerExpander;
    reviewer = started.pool;
    closePolicies = () => started.pool.close();
  } else {
    const engine = await PolicyEngine.create(engineOptions(flags, logger));
    const folder = new PolicyFolder({ paths: flags.policies, engine, logger, pollIntervalMs: flags.policyPollIntervalMs, onChange: onState });
    folder.onTemplateIngested = onIngested;
    state = await folder.load();
    folder.watch();
    if (expanding) expander = () => folder.expander;
    reviewer = engine;
    closePolicies = () => folder.close();
  }
  logger.info(
    {
      templates: state.templates.length,
      templateErrors: state.templates.filter((t) => t.errors.length).length,
      constraints: state.constraints.length,
      constraintErrors: state.constraints.filter((c) => c.error).length,
      evalWorkers: flags.evalWorkers,
    },
    'policies loaded; ready',
  );
  const stopTls = tlsFiles
    ? watchTls(
        tlsFiles,
        10_000,
        (m) => {
          server.setCertificate(m);
          logger.info({ subject: m.subject, validTo: m.validTo }, 'serving certificate reloaded');
        },
        (e) => logger.warn({ err: e.message }, 'serving certificate not reloaded'),
      )
    : () => {};

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    stopTls();
    await server.close();
    await closePolicies();
    await exporter?.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}
