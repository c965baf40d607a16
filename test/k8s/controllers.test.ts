// The cluster building blocks against a real kube-apiserver: leader election on a Lease, the certificate rotator,
// discovery, and the informer's list + watch.
import { X509Certificate } from 'node:crypto';
import t from 'tap';
import { CertRotator, generateBundle, type CertBundle } from '../../gatekeeper/src/k8s/certs.js';
import { KubeClient } from '../../gatekeeper/src/k8s/client.js';
import { discoverResources } from '../../gatekeeper/src/k8s/discovery.js';
import { Informer } from '../../gatekeeper/src/k8s/informer.js';
import { LeaderElector } from '../../gatekeeper/src/k8s/leader.js';
import { waitFor } from '../helpers/process.js';
import { startKube, type KubeCluster } from '../peers/kube.js';

let kube: KubeCluster;
let client: KubeClient;

t.before(async () => {
  kube = await startKube();
  client = await KubeClient.load({ kubeconfig: kube.kubeconfig });
  await kube.kubectlOk(['create', 'namespace', 'gk']);
});
t.teardown(async () => {
  await client?.close();
  await kube?.stop();
});

t.test('leader election: one leader; a released lease passes to the other replica at once', async (t) => {
  const events: string[] = [];
  const elector = (id: string) =>
    new LeaderElector(client, { namespace: 'gk', name: 'audit-leader', identity: id, leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 300 }, {
      onStartedLeading: () => events.push(`${id} leads`),
      onStoppedLeading: () => events.push(`${id} stops`),
    });
  const a = elector('a');
  a.start();
  await waitFor('a leads', () => a.isLeader, 20_000);
  const b = elector('b');
  b.start();
  await new Promise((r) => setTimeout(r, 1500));
  t.notOk(b.isLeader, 'b waits while a renews');
  const lease = JSON.parse(await kube.kubectlOk(['get', 'lease', '-n', 'gk', 'audit-leader', '-o', 'json']));
  t.equal(lease.spec.holderIdentity, 'a');
  t.match(lease.spec.renewTime, /\.\d{6}Z$/, 'MicroTime');

  await a.stop(); // graceful: releases the lease; b takes it well before the 15 s lease would expire
  const started = Date.now();
  await waitFor('b leads', () => b.isLeader, 10_000);
  t.ok(Date.now() - started < 10_000, 'taken over before expiry');
  await b.stop();
  t.same(events, ['a leads', 'a stops', 'b leads', 'b stops']);
});

t.test('cert rotator: creates the Secret, injects the caBundle, replaces a certificate close to expiry', async (t) => {
  await kube.kubectlOk(['apply', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingWebhookConfiguration',
      metadata: { name: 'rotator-test' },
      webhooks: [{
        name: 'v.example.com',
        admissionReviewVersions: ['v1'],
        clientConfig: { url: 'https://127.0.0.1:1/v1/admit' },
        rules: [{ apiGroups: ['example.com'], apiVersions: ['v1'], operations: ['CREATE'], resources: ['nothings'] }],
        failurePolicy: 'Ignore',
        sideEffects: 'None',
      }],
    }),
  });
  // A Secret whose certificate expires in 10 days: inside the 90-day look-ahead, so it must be replaced (CA kept).
  const old = generateBundle(['svc.gk.svc'], { caValidityMs: 5 * 365 * 86_400_000, certValidityMs: 10 * 86_400_000 });
  const enc = (s: string) => Buffer.from(s).toString('base64');
  await kube.kubectlOk(['apply', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls', metadata: { name: 'webhook-cert', namespace: 'gk' },
      data: { 'ca.crt': enc(old.caPem), 'ca.key': enc(old.caKeyPem), 'tls.crt': enc(old.certPem), 'tls.key': enc(old.keyPem) },
    }),
  });
  const seen: CertBundle[] = [];
  const rotator = new CertRotator(client, {
    namespace: 'gk',
    secretName: 'webhook-cert',
    hosts: ['svc.gk.svc', '127.0.0.1'],
    validatingWebhooks: ['rotator-test'],
    onCertificate: (b) => seen.push(b),
  });
  const b = await rotator.start();
  t.not(b.certPem, old.certPem, 'the expiring certificate was replaced');
  t.equal(b.caPem, old.caPem, 'the CA, still valid, was kept');
  const cert = new X509Certificate(b.certPem);
  t.ok(cert.checkHost('svc.gk.svc') && cert.checkIP('127.0.0.1'), 'valid for every host');
  t.ok(cert.verify(new X509Certificate(b.caPem).publicKey), 'signed by the CA');
  t.ok(Date.parse(cert.validTo) > Date.now() + 365 * 86_400_000, 'long-lived');
  const secret = JSON.parse(await kube.kubectlOk(['get', 'secret', '-n', 'gk', 'webhook-cert', '-o', 'json']));
  t.equal(Buffer.from(secret.data['tls.crt'], 'base64').toString(), b.certPem, 'written to the Secret');
  const vwc = JSON.parse(await kube.kubectlOk(['get', 'validatingwebhookconfiguration', 'rotator-test', '-o', 'json']));
  t.equal(vwc.webhooks[0].clientConfig.caBundle, enc(b.caPem), 'caBundle injected');

  // Deleting the Secret makes the controller write a fresh one, with a new CA, and inject that.
  await kube.kubectlOk(['delete', 'secret', '-n', 'gk', 'webhook-cert']);
  await waitFor('new certificate', () => seen.length >= 2, 30_000);
  const fresh = seen[seen.length - 1]!;
  t.not(fresh.caPem, b.caPem, 'new CA');
  await waitFor('new caBundle', async () => JSON.parse(await kube.kubectlOk(['get', 'validatingwebhookconfiguration', 'rotator-test', '-o', 'json'])).webhooks[0].clientConfig.caBundle === enc(fresh.caPem), 30_000);
  t.pass('caBundle follows the new CA');
  await rotator.stop();
});

t.test('discovery finds listable kinds, including CRDs, at preferred versions', async (t) => {
  const { resources, failed } = await discoverResources(client);
  t.same(failed, []);
  const find = (group: string, kind: string) => resources.find((r) => r.group === group && r.kind === kind);
  t.match(find('', 'ConfigMap'), { version: 'v1', plural: 'configmaps', namespaced: true, groupVersion: 'v1' });
  t.match(find('apps', 'Deployment'), { version: 'v1', plural: 'deployments', groupVersion: 'apps/v1' });
  t.match(find('', 'Namespace'), { namespaced: false });
  t.notOk(resources.some((r) => r.plural.includes('/')), 'no subresources');
});

t.test('informer: paged list, then add/update/delete from the watch, with kind and apiVersion set', async (t) => {
  for (let i = 0; i < 7; i++) await kube.kubectlOk(['create', 'configmap', `inf-${i}`, '-n', 'gk', '--from-literal=i=' + i]);
  const log: string[] = [];
  const informer = new Informer(client, { path: '/api/v1/namespaces/gk/configmaps', pageSize: 3, stamp: { apiVersion: 'v1', kind: 'ConfigMap' } }, {
    add: (o) => void log.push(`add ${o.metadata.name} ${o.apiVersion}/${o.kind}`),
    update: (o) => void log.push(`update ${o.metadata.name}`),
    delete: (o) => void log.push(`delete ${o.metadata.name}`),
  }).start();
  await informer.synced;
  t.equal(informer.list().length, 7, 'all pages listed');
  t.ok(log.every((l) => l.endsWith('v1/ConfigMap')), 'stamped');
  log.length = 0;
  await kube.kubectlOk(['create', 'configmap', 'inf-new', '-n', 'gk']);
  await kube.kubectlOk(['label', 'configmap', 'inf-0', '-n', 'gk', 'x=y']);
  await kube.kubectlOk(['delete', 'configmap', 'inf-1', '-n', 'gk']);
  await waitFor('watch events', () => log.length >= 3, 20_000);
  t.same(log, ['add inf-new v1/ConfigMap', 'update inf-0', 'delete inf-1']);
  t.equal(informer.list().length, 7);
  await informer.stop();
});

t.test('informer: survives an API server restart and sees the changes made after it', async (t) => {
  const seen: string[] = [];
  const informer = new Informer(client, { path: '/api/v1/namespaces/gk/configmaps' }, {
    add: (o) => void seen.push(`add ${o.metadata.name}`),
    delete: (o) => void seen.push(`delete ${o.metadata.name}`),
  }).start();
  await informer.synced;
  seen.length = 0;
  await kube.restartApiserver();
  await kube.kubectlOk(['create', 'configmap', 'after-restart', '-n', 'gk']);
  await kube.kubectlOk(['delete', 'configmap', 'inf-2', '-n', 'gk']);
  await waitFor('events after the restart', () => seen.includes('add after-restart') && seen.includes('delete inf-2'), 60_000);
  t.ok(informer.get('gk/after-restart'), 'in the cache');
  t.notOk(informer.get('gk/inf-2'), 'gone from the cache');
  await informer.stop();
});
