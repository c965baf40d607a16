// The engine in a cluster: one process runs the operations it is given (webhook, audit, status), like Gatekeeper's
// --operation flag. Both in one process suits small installs; larger ones run webhook replicas and an audit pod.
import http from 'node:http';
import os from 'node:os';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import type { DecisionExport } from '../export/decision-export.js';
import { PolicyEngine, type EngineOptions } from '../policy/engine.js';
import { WebhookMetrics } from '../webhook/metrics.js';
import { WebhookServer } from '../webhook/server.js';
import { loadTls, resolveTlsFiles, watchTls } from '../webhook/tls.js';
import { ClusterAudit } from './audit.js';
import { clusterLifecycle, type ClusterLifecycleSettings } from '../audit/lifecycle/options.js';
import { AuditMetrics } from './audit-metrics.js';
import { CertRotator } from './certs.js';
import { KubeClient } from './client.js';
import { ConfigController } from './config-controller.js';
import { ExpansionController } from './expansion-controller.js';
import { SyncSetController } from './syncset-controller.js';
import { DynamicExemptions } from './exemptions.js';
import { startViolationEvents, type EventSettings } from './events-setup.js';
import { LeaderElector } from './leader.js';
import { NamespaceCache } from './namespace-cache.js';
import { PolicyController } from './policy-controller.js';
import { PolicyMirror } from './policy-mirror.js';
import { resourceChecker } from './resource-checker.js';
import { VapGenerator } from './vap/generator.js';
import type { EvalPool } from '../webhook/eval-pool.js';

export const OPERATIONS = ['webhook', 'audit', 'status'] as const;
export type Operation = (typeof OPERATIONS)[number];

export interface ManagerOptions {
  operations: Operation[];
  kubeconfig?: string;
  context?: string;
  /** Namespace of the Config, the certificate Secret and the leader Lease. */
  namespace: string;
  /** This replica's identity (status.byPod id, lease holder). */
  podName: string;
  configName: string;

  // webhook
  port: number;
  host?: string;
  exemptNamespaces: string[];
  logDenies: boolean;
  /** Evaluate admission reviews on this many worker threads, each with its own copy of the policies; 0: on the main thread. */
  evalWorkers?: number;
  maxRequestBytes: number;
  evaluationTimeoutMs: number;
  /** Generate and rotate the serving certificate in a Secret; false: read it from certDir (mounted). */
  certRotation: boolean;
  certDir?: string;
  certSecretName: string;
  /** Names the certificate is valid for (the Service DNS names, or 127.0.0.1 for a webhook on loopback). */
  certHosts: string[];
  validatingWebhookConfigurations: string[];

  // audit
  auditIntervalSeconds: number;
  auditChunkSize: number;
  constraintViolationsLimit: number;
  auditFromCache: boolean;
  auditMatchKindOnly: boolean;
  leaderElection: boolean;
  leaderLeaseName: string;

  /** ValidatingAdmissionPolicy generation defaults (Gatekeeper's --default-create-vap-*); absent: both false. */
  vap?: { defaultCreatePolicy: boolean; defaultCreateBinding: boolean };

  /** Gatekeeper's --enable-generator-resource-expansion: ExpansionTemplates apply in the webhook and the audit (default true). */
  generatorExpansion?: boolean;
  /** Gatekeeper's --emit-admission-events, --emit-audit-events and their placement. */
  events?: EventSettings;
  /** violation_opened / violation_resolved after each audit, the state in ConfigMaps of `namespace`. */
  lifecycle?: ClusterLifecycleSettings;
  /** Port of /metrics, /healthz and /readyz (all operations); 0: none. */
  metricsPort: number;
  /** PolicyEngine.create options but the logger. */
  engine?: Omit<EngineOptions, 'logger'>;
  exporter?: DecisionExport;
  /** More metrics served on /metrics (the export client's counters). */
  extraMetrics?: Registry;
  logger: Logger;
}

export interface Manager {
  readonly engine: PolicyEngine;
  readonly policies: PolicyController;
  readonly audit?: ClusterAudit;
  readonly webhookPort?: number;
  readonly metricsPort?: number;
  ready(): boolean;
  stop(): Promise<void>;
}

export async function startManager(o: ManagerOptions): Promise<Manager> {
  const { logger } = o;
  const has = (op: Operation) => o.operations.includes(op);
  if (!has('webhook') && !has('audit')) throw new Error('--operation: give webhook, audit or both');
  const client = await KubeClient.load({ ...(o.kubeconfig ? { kubeconfig: o.kubeconfig } : {}), ...(o.context ? { context: o.context } : {}), logger });
  const engine = await PolicyEngine.create({ ...o.engine, logger });
  const evalWorkers = has('webhook') ? (o.evalWorkers ?? 0) : 0;
  // With workers, every policy change goes through the mirror so that they follow the engine.
  const mirror = evalWorkers > 0 ? new PolicyMirror(engine) : undefined;
  let pool: EvalPool | undefined;
  const webhookMetrics = new WebhookMetrics();
  const auditMetrics = new AuditMetrics();
  const exemptions = new DynamicExemptions(o.exemptNamespaces);
  // namespaceSelector reads every Namespace from its own watch, whatever the Config syncs (as Gatekeeper's webhook does).
  const namespaces = new NamespaceCache(client, { logger });
  const events = o.events && startViolationEvents(client, { ...o.events, admission: o.events.admission && has('webhook'), audit: o.events.audit && has('audit') }, o.namespace, logger);
  const stoppers: Array<() => Promise<void> | void> = [];
  let readyFlag = false;
  let stopping = false;

  // Generated by every process, as each manages the CRDs (Gatekeeper's "generate" operation).
  const vap = new VapGenerator(client, {
    defaultCreatePolicy: o.vap?.defaultCreatePolicy ?? false,
    defaultCreateBinding: o.vap?.defaultCreateBinding ?? false,
    ...(o.engine?.celDefaultFailurePolicy ? { defaultFailurePolicy: o.engine.celDefaultFailurePolicy } : {}),
    scope: { exemptNamespaces: o.exemptNamespaces },
    logger,
  });
  const policies = new PolicyController(client, {
    engine: mirror ?? engine,
    podId: o.podName,
    operations: [...o.operations].sort(),
    // Every webhook replica reconciles the CRDs (idempotent server-side apply), as Gatekeeper's pods do.
    manageCrds: has('webhook') || has('audit'),
    writeStatus: has('status') || has('webhook'),
    vap,
    logger,
    onChange: (s) =>
      webhookMetrics.setPolicyCounts(
        { active: s.templates.filter((t) => !t.errors.length).length, error: s.templates.filter((t) => t.errors.length).length },
        s.constraints.map((c) => ({ action: c.enforcementAction, status: c.error ? 'error' : 'active' })),
      ),
  });
  const config = new ConfigController(client, {
    engine: mirror ?? engine,
    namespace: o.namespace,
    name: o.configName,
    logger,
    onExclusions: (x) => {
      try {
        exemptions.setConfigured(x.webhook);
      } catch (e) {
        logger.error({ err: (e as Error).message }, 'Config spec.match: bad namespace pattern for the webhook');
      }
      void vap.setExcludedNamespaces(x.webhook);
    },
  });

  const syncSets = new SyncSetController(client, config.watches, { logger });
  const expansion =
    o.generatorExpansion === false
      ? undefined
      : new ExpansionController(client, { podId: o.podName, operations: [...o.operations].sort(), writeStatus: has('status') || has('webhook'), logger });

  // Health and metrics answer from the start; /readyz turns 200 once policies are loaded.
  let metricsServer: http.Server | undefined;
  let metricsPort: number | undefined;
  if (o.metricsPort > 0) {
    const registry = Registry.merge([webhookMetrics.registry, auditMetrics.registry, ...(events ? [events.metrics.registry] : []), ...(o.extraMetrics ? [o.extraMetrics] : [])]);
    metricsServer = http.createServer((req, res) => {
      const url = (req.url ?? '/').split('?')[0];
      if (url === '/healthz') return void res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      if (url === '/readyz') {
        return void (readyFlag && !stopping
          ? res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n')
          : res.writeHead(503, { 'content-type': 'text/plain' }).end('not ready: templates and constraints not loaded yet\n'));
      }
      if (url === '/metrics') {
        registry.metrics().then(
          (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
          (e) => res.writeHead(500).end(String(e)),
        );
        return;
      }
      res.writeHead(404, { 'content-type': 'text/plain' }).end('serves /metrics, /healthz, /readyz\n');
    });
    await new Promise<void>((resolve, reject) => {
      metricsServer!.once('error', reject);
      metricsServer!.listen(o.metricsPort, o.host, () => resolve());
    });
    metricsPort = (metricsServer.address() as AddressInfo).port;
    stoppers.push(() => new Promise<void>((r) => metricsServer!.close(() => r())));
  }

  let webhook: WebhookServer | undefined;
  let webhookPort: number | undefined;
  if (has('webhook')) {
    let tls: { key: Buffer; cert: Buffer };
    if (o.certRotation) {
      const rotator = new CertRotator(client, {
        namespace: o.namespace,
        secretName: o.certSecretName,
        hosts: o.certHosts,
        validatingWebhooks: o.validatingWebhookConfigurations,
        logger,
        onCertificate: (b) => {
          webhook?.setCertificate({ key: Buffer.from(b.keyPem), cert: Buffer.from(b.certPem) });
          if (webhook) logger.info('serving certificate rotated');
        },
      });
      const b = await rotator.start();
      tls = { key: Buffer.from(b.keyPem), cert: Buffer.from(b.certPem) };
      stoppers.push(() => rotator.stop());
    } else {
      const files = resolveTlsFiles({ ...(o.certDir ? { certDir: o.certDir } : {}) });
      const m = await loadTls(files);
      tls = { key: m.key, cert: m.cert };
      const stopWatch = watchTls(
        files,
        10_000,
        (n) => {
          webhook?.setCertificate(n);
          logger.info({ subject: n.subject, validTo: n.validTo }, 'serving certificate reloaded');
        },
        (e) => logger.warn({ err: e.message }, 'serving certificate not reloaded'),
      );
      stoppers.push(stopWatch);
    }
    webhook = new WebhookServer({
      // Until the workers are up (policies loaded), the main thread evaluates.
      engine: { review: (req, opts) => (pool ?? engine).review(req, opts) },
      logger,
      metrics: webhookMetrics,
      exemptions,
      tls,
      maxRequestBytes: o.maxRequestBytes,
      deadlineMs: o.evaluationTimeoutMs,
      logDenies: o.logDenies,
      isReady: () => readyFlag && !stopping,
      namespaces,
      ...(expansion ? { expander: () => expansion.expander } : {}),
      ...(o.exporter ? { exporter: o.exporter } : {}),
      ...(events?.admission ? { onViolations: events.admission } : {}),
      gatekeeperResources: resourceChecker(await PolicyEngine.create({ ...o.engine, logger }), policies),
    });
    webhookPort = await webhook.listen(o.port, o.host);
    logger.info({ port: webhookPort }, 'webhook listening');
  }

  await namespaces.start();
  stoppers.push(() => namespaces.stop());
  await config.start();
  stoppers.push(() => config.stop());
  await syncSets.start();
  stoppers.push(() => syncSets.stop());
  if (expansion) {
    await expansion.start();
    stoppers.push(() => expansion.stop());
  }
  await policies.start();
  stoppers.push(() => policies.stop());
  if (mirror) {
    const started = await mirror.startWorkers(evalWorkers, o.engine ?? {}, logger);
    pool = started;
    stoppers.push(() => started.close());
    logger.info({ evalWorkers }, 'evaluation workers started');
  }

  let audit: ClusterAudit | undefined;
  let elector: LeaderElector | undefined;
  if (has('audit')) {
    let leading = !o.leaderElection;
    audit = new ClusterAudit(client, {
      engine,
      policies,
      config,
      intervalSeconds: o.auditIntervalSeconds,
      chunkSize: o.auditChunkSize,
      violationsLimit: o.constraintViolationsLimit,
      fromCache: o.auditFromCache,
      matchKindOnly: o.auditMatchKindOnly,
      namespaces,
      ...(expansion ? { expander: () => expansion.expander } : {}),
      writeStatus: true,
      isLeader: () => leading,
      ...(o.exporter ? { exporter: o.exporter } : {}),
      metrics: auditMetrics,
      ...(events?.audit ? { onViolation: events.audit } : {}),
      ...(o.lifecycle ? { lifecycle: clusterLifecycle(client, o.lifecycle, o.namespace, logger) } : {}),
      logger,
    });
    if (o.leaderElection) {
      elector = new LeaderElector(
        client,
        { namespace: o.namespace, name: o.leaderLeaseName, identity: o.podName, logger },
        {
          onStartedLeading: () => {
            leading = true;
            void audit!.runOnce().catch((e) => logger.error({ err: (e as Error).message }, 'audit failed'));
          },
          onStoppedLeading: () => (leading = false),
        },
      );
      elector.start();
    }
    audit.start();
  }
  readyFlag = true;
  logger.info({ operations: o.operations, webhookPort, metricsPort }, 'ready');

  return {
    engine,
    policies,
    ...(audit ? { audit } : {}),
    ...(webhookPort !== undefined ? { webhookPort } : {}),
    ...(metricsPort !== undefined ? { metricsPort } : {}),
    ready: () => readyFlag && !stopping,
    async stop() {
      if (stopping) return;
      stopping = true;
      // Not ready first (the API server stops sending), the lease released at once so another replica audits,
      // the webhook drains, then the controllers and the client.
      await elector?.stop();
      await audit?.stop();
      if (webhook) await closeWebhook(webhook, o.evaluationTimeoutMs + 1000);
      await events?.close();
      for (const s of stoppers.reverse()) await Promise.resolve(s()).catch((e) => logger.warn({ err: (e as Error).message }, 'stop step failed'));
      await client.close();
    },
  };
}

/**
 * Stops accepting connections and lets the reviews in flight finish. Past their deadline nothing useful is left in
 * flight, so connections still open then are closed: the API server keeps some open that Node does not count as idle,
 * and waiting for them held a stop for over a minute.
 */
async function closeWebhook(webhook: WebhookServer, graceMs: number): Promise<void> {
  const force = setTimeout(() => webhook.server.closeAllConnections(), graceMs);
  await webhook.close();
  clearTimeout(force);
}

export function defaultPodName(): string {
  return process.env['POD_NAME'] || os.hostname();
}
