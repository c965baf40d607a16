// helm lint and helm template (the pinned helm) on the chart: what each set of values renders, checked object by object.
import { X509Certificate } from 'node:crypto';
import path from 'node:path';
import t, { type Test } from 'tap';
import { parse as parseYaml } from 'yaml';
import { repoRoot } from '../helpers/peers.js';
import { container, find, findAll, helm, podContainers, render, chartDir, valuesDir, releaseNamespace, type K8sObject } from './helm.js';

const { checkConfig } = (await import(path.join(repoRoot, 'exporter/dist/config/load.js'))) as {
  checkConfig(raw: unknown): { config: { sinks: Array<{ name: string; type: string }>; socket: string }; warnings: string[] };
};
/** The rendered config as the exporter reads it; the chart writes only current keys (no deprecation warning). */
function resolveConfig(raw: unknown, t: Test) {
  const { config, warnings } = checkConfig(raw);
  t.same(warnings, [], 'no deprecated key or form in the rendered config');
  return config;
}
const { sinkTypes } = (await import(path.join(repoRoot, 'exporter/dist/sinks/registry.js'))) as { sinkTypes: Record<string, unknown> };

const scenarios = [
  'exporter-http.yaml',
  'exporter-file.yaml',
  'exporter-kafka.yaml',
  'exporter-dapr.yaml',
  'exporter-multi.yaml',
  'exporter-pvc.yaml',
  'exporter-emptydir.yaml',
  'exporter-classic-sidecar.yaml',
  'monitoring.yaml',
];

/** The webhook is a StatefulSet when its queue is persistent (the default with the exporter on), else a Deployment. */
const workloads = (objs: K8sObject[]) => ({
  webhook: objs.find((o) => o.kind === 'StatefulSet' && o.metadata.name.endsWith('-controller-manager')) ?? find(objs, 'Deployment', '-controller-manager'),
  audit: find(objs, 'Deployment', '-audit'),
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function checkRestricted(t: Test, where: string, pod: any, c: any) {
  t.equal(pod.securityContext.runAsNonRoot, true, `${where}: pod runs as non-root`);
  t.equal(pod.securityContext.seccompProfile.type, 'RuntimeDefault', `${where}: pod seccomp RuntimeDefault`);
  const sc = c.securityContext;
  t.equal(sc.runAsNonRoot, true, `${where}: runAsNonRoot`);
  t.ok(sc.runAsUser > 0, `${where}: numeric non-root UID`);
  t.equal(sc.readOnlyRootFilesystem, true, `${where}: read-only root filesystem`);
  t.equal(sc.allowPrivilegeEscalation, false, `${where}: no privilege escalation`);
  t.same(sc.capabilities.drop, ['ALL'], `${where}: all capabilities dropped`);
  t.notOk(sc.capabilities.add, `${where}: no capability added`);
  t.equal(sc.seccompProfile.type, 'RuntimeDefault', `${where}: container seccomp RuntimeDefault`);
  for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe']) t.ok(c[probe]?.httpGet, `${where}: has an HTTP ${probe}`);
}

t.test('helm lint passes, strict, for the defaults and every scenario', async (t) => {
  for (const values of [undefined, ...scenarios]) {
    const r = await helm(['lint', '--strict', chartDir, '--namespace', releaseNamespace, ...(values ? ['-f', path.join(valuesDir, values)] : [])]);
    t.equal(r.code, 0, `helm lint ${values ?? '(defaults)'}: ${r.stdout.split('\n').filter((l) => /\[(ERROR|WARNING)\]/.test(l)).join('; ')}${r.stderr}`);
  }
});

t.test('defaultCreateVAPForTemplates / defaultCreateVAPBindingForConstraints reach both processes', async (t) => {
  const { webhook, audit } = workloads(await render([], ['defaultCreateVAPForTemplates=false', 'defaultCreateVAPBindingForConstraints=false']));
  for (const w of [webhook, audit]) {
    const args: string[] = container(w, 'manager').args;
    t.ok(args.includes('--default-create-vap-for-templates=false') && args.includes('--default-create-vap-binding-for-constraints=false'));
  }
});

t.test('the defaults install the engine like Gatekeeper: webhook, audit, RBAC, webhook configuration, no exporter', async (t) => {
  const objs = await render();
  const { webhook, audit } = workloads(objs);
  t.equal(webhook.spec.replicas, 3, 'three webhook replicas');
  t.equal(audit.spec.replicas, 1, 'one audit replica');
  t.same(
    podContainers(webhook).map((c) => c.name),
    ['manager'],
    'no exporter when exporter.enabled is false',
  );
  t.notOk(objs.some((o) => o.kind === 'ConfigMap'), 'no exporter ConfigMap');
  for (const [name, w] of Object.entries({ webhook, audit })) {
    checkRestricted(t, name, w.spec.template.spec, container(w, 'manager'));
    t.ok(w.spec.template.spec.volumes.some((v: { name: string; emptyDir?: unknown }) => v.name === 'tmp' && v.emptyDir), `${name}: writable /tmp on an emptyDir`);
  }
  const args: string[] = container(webhook, 'manager').args;
  t.ok(args.includes('--operation=webhook') && args.includes('--port=8443') && args.includes('--cert-dir=/certs'), 'webhook flags');
  t.ok(args.includes(`--exempt-namespace=${releaseNamespace}`), 'the release namespace is exempt');
  t.notOk(args.some((a) => a.startsWith('--export-socket')), 'no export flags without the exporter');
  const auditArgs: string[] = container(audit, 'manager').args;
  t.ok(['--operation=audit', '--audit-interval=60', '--constraint-violations-limit=20', '--audit-chunk-size=500'].every((a) => auditArgs.includes(a)), 'audit flags');
  const vapDefaults = ['--default-create-vap-for-templates=true', '--default-create-vap-binding-for-constraints=true'];
  t.ok(vapDefaults.every((a) => args.includes(a) && auditArgs.includes(a)), "ValidatingAdmissionPolicy generation on, Gatekeeper v3.23's defaults");

  const anti = webhook.spec.template.spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm;
  t.equal(anti.topologyKey, 'kubernetes.io/hostname', 'webhook replicas spread over nodes');
  t.same(anti.labelSelector.matchLabels, webhook.spec.selector.matchLabels, 'anti-affinity selects the webhook pods');
  const pdb = find(objs, 'PodDisruptionBudget', '-controller-manager');
  t.equal(pdb.spec.minAvailable, 1);
  t.same(pdb.spec.selector.matchLabels, webhook.spec.selector.matchLabels, 'the PDB covers the webhook pods');

  const svc = find(objs, 'Service', '-webhook-service');
  t.same(svc.spec.selector, webhook.spec.selector.matchLabels, 'the webhook Service selects the webhook pods');
  t.equal(svc.spec.ports[0].port, 443);
  t.equal(svc.spec.ports[0].targetPort, 'webhook-server');
  t.ok(container(webhook, 'manager').ports.some((p: { name: string }) => p.name === 'webhook-server'), 'the named target port exists');

  const vwc = find(objs, 'ValidatingWebhookConfiguration', '-validating-webhook-configuration');
  const [validation, label] = vwc.webhooks;
  t.equal(validation.name, 'validation.gatekeeper.sh');
  t.equal(validation.failurePolicy, 'Ignore');
  t.equal(validation.timeoutSeconds, 3);
  t.equal(validation.sideEffects, 'None');
  t.equal(validation.clientConfig.service.name, svc.metadata.name);
  t.equal(validation.clientConfig.service.path, '/v1/admit');
  t.same(validation.namespaceSelector.matchExpressions[0], { key: 'admission.gatekeeper.sh/ignore', operator: 'DoesNotExist' });
  t.same(validation.namespaceSelector.matchExpressions[1].values, [releaseNamespace, 'kube-system'], 'exempt namespaces skipped by the API server');
  t.equal(label.name, 'check-ignore-label.gatekeeper.sh');
  t.equal(label.clientConfig.service.path, '/v1/admitlabel');
  t.equal(label.failurePolicy, 'Fail');
  t.same(label.rules[0].resources, ['namespaces']);

  // The generated CA is the one in caBundle, and it signed a serving certificate valid for the Service's DNS name.
  const secret = find(objs, 'Secret', '-webhook-server-cert');
  const ca = new X509Certificate(Buffer.from(validation.clientConfig.caBundle, 'base64'));
  const cert = new X509Certificate(Buffer.from(secret.data['tls.crt'], 'base64'));
  t.equal(secret.data['ca.crt'], validation.clientConfig.caBundle, 'caBundle is the Secret ca.crt');
  t.equal(label.clientConfig.caBundle, validation.clientConfig.caBundle, 'both webhooks trust the same CA');
  t.ok(cert.verify(ca.publicKey), 'the serving certificate is signed by the CA');
  t.equal(cert.checkHost(`${svc.metadata.name}.${releaseNamespace}.svc`), `${svc.metadata.name}.${releaseNamespace}.svc`, 'valid for the Service DNS name');
  t.same(
    webhook.spec.template.spec.volumes.find((v: { name: string }) => v.name === 'cert').secret.secretName,
    secret.metadata.name,
    'the webhook mounts that Secret',
  );

  // Least privilege: one ServiceAccount per component; only the audit reads everything; nobody writes secrets or RBAC.
  const roles = findAll(objs, 'ClusterRole');
  t.equal(roles.length, 2);
  for (const role of roles) {
    for (const rule of role.rules) {
      const writes = rule.verbs.filter((v: string) => !['get', 'list', 'watch'].includes(v));
      if (writes.length) {
        t.notOk(rule.apiGroups.includes('*') || rule.resources.includes('*') && rule.apiGroups.includes(''), `${role.metadata.name}: no write on everything`);
        t.notOk(rule.resources.includes('secrets'), `${role.metadata.name}: no write on secrets`);
        t.notOk(rule.apiGroups.includes('rbac.authorization.k8s.io'), `${role.metadata.name}: no RBAC writes`);
      }
    }
  }
  const webhookRole = find(objs, 'ClusterRole', '-webhook');
  t.notOk(
    webhookRole.rules.some((r: { apiGroups: string[]; resources: string[] }) => r.apiGroups.includes('*') && r.resources.includes('*')),
    'the webhook cannot read every resource',
  );
  for (const role of findAll(objs, 'Role')) {
    t.equal(role.metadata.namespace, releaseNamespace, `${role.metadata.name}: namespaced to the release`);
    t.same(role.rules.map((r: { resources: string[] }) => r.resources).flat(), ['leases'], `${role.metadata.name}: only leader-election leases`);
  }
  t.same(findAll(objs, 'Role').map((r) => r.metadata.name), ['gk-gk-exporter-audit'], 'only the audit has a namespaced Role (its leader Lease)');
  t.notOk(findAll(objs, 'ClusterRole').some((r) => r.rules.some((x: { apiGroups: string[] }) => x.apiGroups.includes('coordination.k8s.io'))), 'no cluster-wide lease access');
  t.ok(auditArgs.some((a) => a.startsWith('--leader-lease-name=gk-gk-exporter-')), 'the audit lease is named for the release');
  for (const [name, w] of Object.entries({ webhook, audit })) {
    const port = container(w, 'manager').ports.find((p: { name: string }) => p.name === 'metrics').containerPort;
    t.ok((container(w, 'manager').args as string[]).includes(`--metrics-port=${port}`), `${name}: probes and metrics on --metrics-port`);
  }
  t.ok(container(webhook, 'manager').args.includes('--disable-cert-rotation'), 'the engine does not rotate the chart-provided certificate');
  t.equal(webhook.spec.template.spec.serviceAccountName, find(objs, 'ServiceAccount', '-webhook').metadata.name);
  t.equal(audit.spec.template.spec.serviceAccountName, find(objs, 'ServiceAccount', '-audit').metadata.name);
});

for (const values of scenarios) {
  t.test(`exporter sidecar, ${values}`, async (t) => {
    const objs = await render([values]);
    const raw = parseYaml(await import('node:fs/promises').then((fs) => fs.readFile(path.join(valuesDir, values), 'utf8')));
    const native = raw.exporter.nativeSidecar !== false;
    const configMap = find(objs, 'ConfigMap', '-exporter-config');
    for (const [component, w] of Object.entries(workloads(objs))) {
      const spec = w.spec.template.spec;
      const exporter = container(w, 'exporter');
      const manager = container(w, 'manager');
      if (native) {
        t.ok(spec.initContainers.includes(exporter), `${component}: the exporter is an init container`);
        t.equal(exporter.restartPolicy, 'Always', `${component}: ... with restartPolicy Always (a native sidecar)`);
      } else {
        t.ok(spec.containers.includes(exporter), `${component}: the exporter is a regular container`);
      }
      checkRestricted(t, `${component}/exporter`, spec, exporter);
      // Kubernetes credentials reach the engine only, never the sidecar that talks to external systems.
      t.equal(spec.automountServiceAccountToken, false, `${component}: no automounted token`);
      t.ok(manager.volumeMounts.some((m: { name: string; mountPath: string }) => m.name === 'kube-api-access' && m.mountPath === '/var/run/secrets/kubernetes.io/serviceaccount'), `${component}: the engine gets the API token`);
      t.notOk(exporter.volumeMounts.some((m: { name: string }) => m.name === 'kube-api-access'), `${component}: the exporter does not`);
      const tokenSource = spec.volumes.find((v: { name: string }) => v.name === 'kube-api-access').projected.sources[0].serviceAccountToken;
      t.ok(tokenSource.expirationSeconds > 0, `${component}: a bound, expiring token`);
      t.same(exporter.livenessProbe.httpGet, { path: '/healthz', port: 'exporter-prom' }, `${component}: exporter liveness on /healthz`);
      t.same(exporter.readinessProbe.httpGet, { path: '/readyz', port: 'exporter-prom' }, `${component}: exporter readiness on /readyz`);

      // The socket: one volume, mounted by both containers at the same place, where both programs look for it.
      const socketMountE = exporter.volumeMounts.find((m: { name: string }) => m.name === 'export-socket');
      const socketMountM = manager.volumeMounts.find((m: { name: string }) => m.name === 'export-socket');
      t.ok(socketMountE && socketMountM, `${component}: both containers mount the socket volume`);
      t.equal(socketMountE.mountPath, socketMountM.mountPath, `${component}: at the same path`);
      t.ok(spec.volumes.some((v: { name: string; emptyDir?: unknown }) => v.name === 'export-socket' && v.emptyDir), `${component}: socket volume is an emptyDir`);
      const config = parseYaml(configMap.data[`${component}.yaml`]);
      const socketFlag = (manager.args as string[]).find((a) => a.startsWith('--export-socket='))!.split('=')[1];
      t.equal(socketFlag, config.socket, `${component}: the engine writes where the exporter listens`);
      t.equal(path.dirname(config.socket), socketMountE.mountPath, `${component}: the socket is on the shared volume`);
      t.ok((manager.args as string[]).includes('--enable-violation-export'), `${component}: export enabled in the engine`);

      // The config is the one the container reads, and the exporter itself accepts it.
      const configArg = (exporter.args as string[]).find((a) => a.startsWith('--config='))!.split('=')[1]!;
      const configMount = exporter.volumeMounts.find((m: { name: string }) => m.name === 'exporter-config');
      t.equal(path.dirname(configArg), configMount.mountPath, `${component}: --config points into the mounted ConfigMap`);
      t.equal(path.basename(configArg), `${component}.yaml`);
      t.equal(spec.volumes.find((v: { name: string }) => v.name === 'exporter-config').configMap.name, configMap.metadata.name);
      const unregistered = (config.sinks as Array<{ type: string }>).filter((s) => !(s.type in sinkTypes)).map((s) => s.type);
      if (unregistered.length) {
        t.skip(`${component}: the exporter has no ${unregistered.join(', ')} sink module yet, its config cannot be checked by it`, () => {});
      } else {
        const resolved = resolveConfig(config, t);
        t.same(
          resolved.sinks.map((s) => s.name),
          raw.exporter.sinks.map((s: { name: string }) => s.name),
          `${component}: the exporter accepts the rendered config, every sink in it`,
        );
      }
      const queueMount = exporter.volumeMounts.find((m: { name: string }) => m.name === 'exporter-queue');
      t.equal(path.dirname(config.queue.path), queueMount.mountPath, `${component}: the queue file is on the queue volume`);
      t.equal(config.metrics.address, `0.0.0.0:${exporter.ports[0].containerPort}`, `${component}: metrics served on the declared port`);

      // Enough time to flush: the exporter's shutdown timeout fits in the pod's grace period, with room for the engine.
      const shutdownSeconds = Number(String(config.shutdownTimeout).replace(/s$/, ''));
      t.ok(shutdownSeconds >= 30, `${component}: the exporter gets ${shutdownSeconds}s to deliver at shutdown`);
      t.ok(spec.terminationGracePeriodSeconds >= shutdownSeconds + 15, `${component}: grace period ${spec.terminationGracePeriodSeconds}s covers it`);
      t.ok(exporter.resources?.limits?.memory, `${component}: exporter has a memory limit`);
      t.match(w.spec.template.metadata.annotations['checksum/exporter-config'], /^[0-9a-f]{64}$/, `${component}: rolls on config change`);

      // The engine's overflow file: on the queue volume, mounted at the same place in both containers, bounded.
      const engineQueueMount = manager.volumeMounts.find((m: { name: string }) => m.name === 'exporter-queue');
      t.equal(engineQueueMount?.mountPath, queueMount.mountPath, `${component}: the engine mounts the queue volume where the exporter does`);
      const spillFlag = (manager.args as string[]).find((a) => a.startsWith('--export-spill-path='))!.split('=')[1]!;
      t.equal(spillFlag, `${queueMount.mountPath}/engine-spill/${component}.ndjson`, `${component}: the overflow file is on it`);
      t.ok((manager.args as string[]).includes('--export-spill-max-bytes=134217728'), `${component}: bounded by exporter.engineSpill.maxBytes (128Mi)`);

      // Pod lifecycle: a persistent queue outlives the pod; an emptyDir one is drained at shutdown.
      const webhookPersistent = raw.exporter.queue?.webhook?.persistence?.enabled !== false;
      if (component === 'webhook') {
        t.equal(w.kind, webhookPersistent ? 'StatefulSet' : 'Deployment', `webhook: a ${w.kind}`);
        t.equal(config.shutdownDrain, !webhookPersistent, `webhook: drain at shutdown ${!webhookPersistent}`);
      }
      if (component === 'webhook' && webhookPersistent) {
        t.notOk(spec.volumes.some((v: { name: string }) => v.name === 'exporter-queue'), 'webhook: the queue volume is no pod volume...');
        const claim = w.spec.volumeClaimTemplates.find((c: { metadata: { name: string } }) => c.metadata.name === 'exporter-queue');
        t.equal(claim.spec.resources.requests.storage, '2Gi', '... but a claim per replica');
        t.same(w.spec.persistentVolumeClaimRetentionPolicy, { whenDeleted: 'Retain', whenScaled: 'Retain' }, 'claims outlive pods and scale-downs');
        t.equal(w.spec.serviceName, find(objs, 'Service', '-webhook-service').metadata.name);
        t.equal(w.spec.podManagementPolicy, 'Parallel');
      } else if (component === 'audit' && raw.exporter.queue?.audit?.persistence?.enabled) {
        t.equal(config.shutdownDrain, false, 'audit: no drain with a persistent queue');
      } else if (component === 'audit') {
        t.equal(config.shutdownDrain, true, 'audit: drain at shutdown (emptyDir)');
      }
      const queueVolume = spec.volumes.find((v: { name: string }) => v.name === 'exporter-queue');
      if (component === 'webhook' && webhookPersistent) {
        // checked above
      } else if (component === 'audit' && raw.exporter.queue?.audit?.persistence?.enabled) {
        const pvc = find(objs, 'PersistentVolumeClaim', '-audit-queue');
        t.equal(queueVolume.persistentVolumeClaim.claimName, pvc.metadata.name, 'audit queue on the PVC');
        t.equal(pvc.spec.resources.requests.storage, raw.exporter.queue.audit.persistence.size);
        t.equal(pvc.metadata.annotations['helm.sh/resource-policy'], 'keep', 'undelivered records survive an uninstall');
        t.equal(w.spec.strategy.type, 'Recreate', 'a ReadWriteOnce queue rolls out with Recreate');
      } else {
        t.ok(queueVolume.emptyDir?.sizeLimit, `${component}: queue on an emptyDir with a size limit (${queueVolume.emptyDir?.sizeLimit})`);
      }

      const secretName = raw.exporter.existingSecret;
      const secretVolume = spec.volumes.find((v: { name: string }) => v.name === 'exporter-secrets');
      if (secretName) {
        t.equal(secretVolume.secret.secretName, secretName, `${component}: credentials from the existing Secret`);
        const mount = exporter.volumeMounts.find((m: { name: string }) => m.name === 'exporter-secrets');
        t.equal(mount.readOnly, true);
        t.notOk(manager.volumeMounts.some((m: { name: string }) => m.name === 'exporter-secrets'), `${component}: the engine does not see them`);
        const text = JSON.stringify(config.sinks);
        t.notMatch(text, /secretKey/, `${component}: every secretKey reference is resolved`);
        for (const m of text.matchAll(/"file":"([^"]+)"/g)) t.equal(path.dirname(m[1]!), mount.mountPath, `${component}: ${m[1]} is in the mounted Secret`);
      } else {
        t.notOk(secretVolume, `${component}: no Secret volume without exporter.existingSecret`);
      }

      const annotations = w.spec.template.metadata.annotations ?? {};
      const usesDapr = raw.exporter.sinks.some((s: { type: string }) => s.type === 'dapr');
      if (usesDapr) {
        t.equal(annotations['dapr.io/enabled'], 'true', `${component}: Dapr sidecar requested`);
        t.equal(annotations['dapr.io/app-id'], `gk-gk-exporter-${component}`, `${component}: its own Dapr app id`);
        t.equal(annotations['dapr.io/metrics-port'], '9999', `${component}: Dapr metrics moved off the health port`);
        t.equal(annotations['dapr.io/sidecar-seccomp-profile-type'], 'RuntimeDefault');
        t.equal(annotations['dapr.io/block-shutdown-duration'], config.shutdownTimeout, `${component}: daprd waits for the exporter to flush`);
        t.equal(annotations['dapr.io/app-port'], String(exporter.ports[0].containerPort));
      } else {
        t.notOk(Object.keys(annotations).some((k) => k.startsWith('dapr.io/')), `${component}: no Dapr annotations without a Dapr sink`);
      }
      if (raw.exporter.sinks.some((s: { type: string }) => s.type === 'file')) {
        const mount = exporter.volumeMounts.find((m: { name: string }) => m.name === 'exporter-file-sinks');
        for (const s of config.sinks.filter((x: { type: string }) => x.type === 'file')) t.ok(s.path.startsWith(mount.mountPath + '/'), `${component}: file sink writes to its volume`);
      }
    }
    const metrics = find(objs, 'Service', '-webhook-metrics');
    t.equal(metrics.spec.publishNotReadyAddresses, true, 'terminating pods stay scrape targets (the shutdown drain is seen)');
    t.ok(metrics.spec.ports.some((p: { name: string; targetPort: string }) => p.name === 'exporter-prom' && p.targetPort === 'exporter-prom'), 'the metrics Service exposes the exporter');
  });
}

t.test('tls.mode rotate: the engine manages the certificate, with rights on exactly its Secret and webhook configuration', async (t) => {
  const objs = await render([], ['webhook.tls.mode=rotate']);
  const { webhook } = workloads(objs);
  const args: string[] = container(webhook, 'manager').args;
  const secret = find(objs, 'Secret', '-webhook-server-cert');
  const vwc = find(objs, 'ValidatingWebhookConfiguration', '-validating-webhook-configuration');
  const svc = find(objs, 'Service', '-webhook-service');
  t.notOk(args.includes('--disable-cert-rotation'), 'the engine rotates');
  t.ok(args.includes(`--cert-secret-name=${secret.metadata.name}`));
  t.ok(args.includes(`--cert-service-name=${svc.metadata.name}`));
  t.ok(args.includes(`--validating-webhook-configuration-name=${vwc.metadata.name}`));
  t.notOk(secret.data, 'the chart creates the Secret empty');
  t.notOk(vwc.webhooks.some((w: { clientConfig: { caBundle?: string } }) => w.clientConfig.caBundle), 'the engine injects the caBundle');
  t.notOk(webhook.spec.template.spec.volumes.some((v: { name: string }) => v.name === 'cert'), 'nothing mounted');
  const role = findAll(objs, 'Role').find((r) => r.metadata.name.endsWith('-webhook'))!;
  t.same(role.rules, [{ apiGroups: [''], resources: ['secrets'], resourceNames: [secret.metadata.name], verbs: ['get', 'list', 'watch', 'update', 'patch'] }]);
  const clusterRole = find(objs, 'ClusterRole', '-webhook');
  const vwcRule = clusterRole.rules.find((r: { resources: string[] }) => r.resources.includes('validatingwebhookconfigurations'));
  t.same(vwcRule.resourceNames, [vwc.metadata.name], 'only its own webhook configuration');
});

t.test('several sinks render into one config, in order, with their own keys', async (t) => {
  const objs = await render(['exporter-multi.yaml']);
  const config = parseYaml(find(objs, 'ConfigMap', '-exporter-config').data['webhook.yaml']);
  t.same(
    config.sinks.map((s: { name: string; type: string }) => `${s.name}:${s.type}`),
    ['siem:http', 'events:kafka', 'pubsub:dapr', 'archive:file'],
  );
  t.same(config.sinks[0].bearerToken, { file: '/etc/gk-exporter/secrets/siem-token' });
  t.same(config.sinks[0].headers['X-Tenant'], { file: '/etc/gk-exporter/secrets/tenant' });
  t.same(config.sinks[1].sasl.password, { file: '/etc/gk-exporter/secrets/kafka-password' });
  t.equal(config.sinks[1].sasl.username, 'exporter', 'plain values are left alone');
  t.equal(config.queue.onFull, 'drop-oldest');
});

t.test('cluster.* and exporter.namespaceLabels become the engine\'s --cluster-name, --cluster-label and --export-namespace-labels, in both pods', async (t) => {
  const objs = await render(['exporter-http.yaml'], ['cluster.name=prod-eu', 'cluster.labels.region=eu-west-1', 'cluster.labels.tier=gold']);
  for (const [component, w] of Object.entries(workloads(objs))) {
    const args = (container(w, 'manager').args as string[]).filter((a) => a.startsWith('--cluster-'));
    t.same(args, ['--cluster-name=prod-eu', '--cluster-label=region=eu-west-1', '--cluster-label=tier=gold'], component);
  }
  const defaults = await render(['exporter-http.yaml']);
  t.notOk((container(workloads(defaults).webhook, 'manager').args as string[]).some((a) => a.startsWith('--cluster-')), 'none by default');
  const tenants = await render(['exporter-http.yaml'], ['exporter.namespaceLabels={team,env}']);
  for (const [component, w] of Object.entries(workloads(tenants))) {
    t.ok((container(w, 'manager').args as string[]).includes('--export-namespace-labels=team,env'), `${component}: exporter.namespaceLabels`);
  }
});

t.test('extraConfig adds exporter settings under the ones the chart owns', async (t) => {
  const objs = await render(['exporter-http.yaml'], ['exporter.extraConfig.queue.synchronous=full', 'exporter.extraConfig.queue.maxAge=7d', 'exporter.extraConfig.socket=/elsewhere.sock']);
  const config = parseYaml(find(objs, 'ConfigMap', '-exporter-config').data['webhook.yaml']);
  t.equal(config.queue.synchronous, 'full', 'added');
  t.equal(config.queue.maxAge, '7d', 'added');
  t.equal(config.queue.onFull, 'block', "the chart's own queue keys kept");
  t.equal(config.socket, '/var/run/gk-exporter/exporter.sock', 'the socket the engine uses cannot be moved away');
  t.equal(resolveConfig(config, t).sinks.length, 1, 'the exporter accepts it');
});

t.test('monitoring: ServiceMonitor scrapes both metrics ports of both components', async (t) => {
  const objs = await render(['monitoring.yaml']);
  const sm = find(objs, 'ServiceMonitor', '');
  t.equal(sm.metadata.labels.release, 'prometheus', 'extra labels for the Prometheus selector');
  const services = findAll(objs, 'Service').filter((s) => Object.entries(sm.spec.selector.matchLabels).every(([k, v]) => s.metadata.labels[k] === v));
  t.same(services.map((s) => s.metadata.name).sort(), ['gk-gk-exporter-audit-metrics', 'gk-gk-exporter-webhook-metrics']);
  for (const ep of sm.spec.endpoints) {
    for (const svc of services) t.ok(svc.spec.ports.some((p: { name: string }) => p.name === ep.port), `${svc.metadata.name} has port ${ep.port}`);
  }
  t.same(sm.spec.endpoints.map((e: { port: string }) => e.port), ['metrics', 'exporter-prom']);
  t.ok(find(objs, 'PrometheusRule', ''));
});

t.test("the chart's CRDs are the engine's (gatekeeper/crds/), so helm installs what the engine expects", async (t) => {
  const { readdir, readFile } = await import('node:fs/promises');
  const engineDir = path.join(repoRoot, 'gatekeeper/crds');
  const engine = (await readdir(engineDir)).filter((f) => f.endsWith('.yaml')).sort();
  const chart = (await readdir(path.join(chartDir, 'crds'))).filter((f) => f.endsWith('.yaml')).sort();
  t.ok(engine.length >= 2, `the engine ships ${engine.length} CRDs`);
  t.same(chart, engine, 'the same files (resync with: cp gatekeeper/crds/*.yaml charts/gk-exporter/crds/)');
  for (const f of engine) {
    t.same(
      parseYaml(await readFile(path.join(chartDir, 'crds', f), 'utf8')),
      parseYaml(await readFile(path.join(engineDir, f), 'utf8')),
      `${f}: identical (resync with: cp gatekeeper/crds/*.yaml charts/gk-exporter/crds/)`,
    );
  }
});
