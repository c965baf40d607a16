// `gatekeeper run` (alias `controller`): the engine in a Kubernetes cluster — admission webhook, audit and status
// controllers on the cluster's ConstraintTemplates, constraints and Config, selected with --operation like Gatekeeper.
import { Command, InvalidArgumentError } from 'commander';
import pino from 'pino';
import { Registry } from 'prom-client';
import { addExportOptions, openDecisionExport, type ExportFlags } from '../export/cli-options.js';
import { OPERATIONS, defaultPodName, startManager, type Operation } from '../k8s/manager.js';
import { addEngineOptions, addExpansionOption, collect, engineSettings, nonNegativeInt, positiveInt, type EngineFlags } from './engine-options.js';
import { addServingOptions, type ServingFlags } from './serving-options.js';
import { addExemptionOptions, exemptNamespacePatterns, type ExemptionFlags } from './exemption-options.js';
import { addVapOptions, vapSettings, type VapFlags } from '../k8s/vap/options.js';
import { addEventOptions, eventSettings, type EventFlags } from '../k8s/events-setup.js';
import { addClusterLifecycleOptions, clusterLifecycleSettings, type LifecycleFlags } from '../audit/lifecycle/options.js';

export const RUN_DEFAULTS = {
  metricsPort: 8888,
  namespace: 'gatekeeper-system',
  configName: 'config',
  certSecretName: 'gatekeeper-webhook-server-cert',
  serviceName: 'gatekeeper-webhook-service',
  validatingWebhookConfiguration: 'gatekeeper-validating-webhook-configuration',
  auditIntervalSeconds: 60,
  auditChunkSize: 500,
  constraintViolationsLimit: 20,
  leaderLeaseName: 'gatekeeper-audit-leader',
};

interface RunFlags extends ExportFlags, EngineFlags, ExemptionFlags, ServingFlags, VapFlags, EventFlags, LifecycleFlags {
  operation: string[];
  enableGeneratorResourceExpansion?: boolean;
  kubeconfig?: string;
  context?: string;
  namespace: string;
  podName: string;
  configName: string;
  disableCertRotation?: boolean;
  certSecretName: string;
  certServiceName: string;
  certHost: string[];
  validatingWebhookConfigurationName: string[];
  auditInterval: number;
  auditChunkSize: number;
  constraintViolationsLimit: number;
  auditFromCache?: boolean;
  auditMatchKindOnly?: boolean;
  leaderElection: boolean;
  leaderLeaseName: string;
  metricsPort: number;
}

function operation(v: string, prev: string[] | undefined): string[] {
  const list = v.split(',').map((s) => s.trim()).filter(Boolean);
  for (const op of list) {
    if (!(OPERATIONS as readonly string[]).includes(op)) throw new InvalidArgumentError(`unknown operation "${op}": use ${OPERATIONS.join(', ')}`);
  }
  return [...(prev ?? []), ...list];
}

export function register(program: Command): void {
  const cmd = program
    .command('run')
    .alias('controller')
    .description('run in a Kubernetes cluster: the admission webhook, the audit, or both, driven by ConstraintTemplates, constraints and Config')
    .option('--operation <op>', `what this process does (repeatable or comma-separated): ${OPERATIONS.join(', ')}; default all`, operation)
    .option('--kubeconfig <file>', 'kubeconfig file (default: $KUBECONFIG, then the in-cluster service account, then ~/.kube/config)')
    .option('--context <name>', 'kubeconfig context')
    .option('--namespace <ns>', 'namespace of the Config, the certificate Secret and the leader Lease (default $POD_NAMESPACE or gatekeeper-system)', process.env['POD_NAMESPACE'] || RUN_DEFAULTS.namespace)
    .option('--pod-name <name>', 'identity of this replica in status.byPod and the lease (default $POD_NAME or the host name)', defaultPodName())
    .option('--config-name <name>', 'name of the Config object', RUN_DEFAULTS.configName)
    .option('--disable-cert-rotation', 'do not generate certificates: read tls.crt and tls.key from --cert-dir (mounted, e.g. by cert-manager)')
    .option('--cert-secret-name <name>', 'Secret holding the generated CA and serving certificate', RUN_DEFAULTS.certSecretName)
    .option('--cert-service-name <name>', 'Service in front of the webhook; the certificate is valid for <name>.<namespace>.svc', RUN_DEFAULTS.serviceName)
    .option('--cert-host <name>', 'extra DNS name or IP address for the generated certificate (repeatable; e.g. 127.0.0.1)', collect, [])
    .option(
      '--validating-webhook-configuration-name <name>',
      `ValidatingWebhookConfiguration whose caBundle is kept current (repeatable; default ${RUN_DEFAULTS.validatingWebhookConfiguration})`,
      collect,
      [],
    )
    .option('--audit-interval <seconds>', 'seconds between audits; 0 disables the audit loop', nonNegativeInt('--audit-interval'), RUN_DEFAULTS.auditIntervalSeconds)
    .option('--audit-chunk-size <n>', 'page size when listing objects to audit', positiveInt('--audit-chunk-size'), RUN_DEFAULTS.auditChunkSize)
    .option(
      '--constraint-violations-limit <n>',
      "violations kept in each constraint's status (all are exported)",
      nonNegativeInt('--constraint-violations-limit'),
      RUN_DEFAULTS.constraintViolationsLimit,
    )
    .option('--audit-from-cache', 'audit only the kinds synced by the Config (spec.sync.syncOnly), from the watch caches')
    .option('--audit-match-kind-only', 'list only the kinds some constraint matches')
    .option('--no-leader-election', 'audit in every replica instead of only in the holder of the lease')
    .option('--leader-lease-name <name>', 'coordination.k8s.io Lease of the audit leader', RUN_DEFAULTS.leaderLeaseName)
    .option('--metrics-port <n>', 'port of /metrics, /healthz and /readyz (0: off)', nonNegativeInt('--metrics-port'), RUN_DEFAULTS.metricsPort);
  addServingOptions(cmd);
  addExemptionOptions(cmd);
  addVapOptions(cmd);
  addEventOptions(cmd);
  addClusterLifecycleOptions(cmd);
  addEngineOptions(cmd, { logLevel: 'info' });
  addExpansionOption(cmd);
  addExportOptions(cmd, { admission: true });
  cmd.action(async (flags: RunFlags) => {
    try {
      await run(flags);
    } catch (e) {
      process.stderr.write(`gatekeeper run: ${(e as Error).message}\n`);
      process.exit(1);
    }
  });
}

async function run(flags: RunFlags): Promise<void> {
  const logger = pino({ level: flags.logLevel, base: { component: 'gatekeeper', pod: flags.podName } });
  const operations = [...new Set(flags.operation?.length ? flags.operation : OPERATIONS)] as Operation[];
  if (flags.disableCertRotation && !flags.certDir) throw new Error('--disable-cert-rotation needs --cert-dir (holding tls.crt and tls.key)');
  const exportMetrics = new Registry();
  const exporter = await openDecisionExport(flags, logger, 'gatekeeper', exportMetrics);
  const manager = await startManager({
    operations,
    ...(flags.kubeconfig ? { kubeconfig: flags.kubeconfig } : {}),
    ...(flags.context ? { context: flags.context } : {}),
    namespace: flags.namespace,
    podName: flags.podName,
    configName: flags.configName,
    port: flags.port,
    ...(flags.host ? { host: flags.host } : {}),
    exemptNamespaces: exemptNamespacePatterns(flags),
    logDenies: flags.logDenies === true,
    evalWorkers: flags.evalWorkers,
    maxRequestBytes: flags.maxRequestBytes,
    evaluationTimeoutMs: flags.evaluationTimeoutMs,
    certRotation: !flags.disableCertRotation,
    ...(flags.certDir ? { certDir: flags.certDir } : {}),
    certSecretName: flags.certSecretName,
    certHosts: [
      `${flags.certServiceName}.${flags.namespace}.svc`,
      `${flags.certServiceName}.${flags.namespace}.svc.cluster.local`,
      ...flags.certHost,
    ],
    validatingWebhookConfigurations: flags.validatingWebhookConfigurationName.length
      ? flags.validatingWebhookConfigurationName
      : [RUN_DEFAULTS.validatingWebhookConfiguration],
    auditIntervalSeconds: flags.auditInterval,
    auditChunkSize: flags.auditChunkSize,
    constraintViolationsLimit: flags.constraintViolationsLimit,
    auditFromCache: flags.auditFromCache === true,
    auditMatchKindOnly: flags.auditMatchKindOnly === true,
    leaderElection: flags.leaderElection !== false,
    leaderLeaseName: flags.leaderLeaseName,
    metricsPort: flags.metricsPort,
    vap: vapSettings(flags),
    events: eventSettings(flags),
    generatorExpansion: flags.enableGeneratorResourceExpansion !== false,
    ...(clusterLifecycleSettings(flags) ? { lifecycle: clusterLifecycleSettings(flags)! } : {}),
    engine: engineSettings(flags),
    ...(exporter ? { exporter, extraMetrics: exportMetrics } : {}),
    logger,
  });
  const stop = async (signal: string) => {
    logger.info({ signal }, 'stopping');
    const force = setTimeout(() => process.exit(1), 30_000);
    force.unref();
    await manager.stop();
    await exporter?.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}
