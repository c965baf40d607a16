// A wrong value fails `helm template` (hence `helm install`) with a message that names the key and what is allowed.
import t from 'tap';
import { helm, templateArgs } from './helm.js';

const sink = ['exporter.enabled=true', 'exporter.sinks[0].name=siem', 'exporter.sinks[0].type=http', 'exporter.sinks[0].url=https://siem.example.com'];

const cases: Array<{ what: string; set: string[]; message: RegExp }> = [
  { what: 'an unknown onFull policy', set: [...sink, 'exporter.queue.onFull=bogus'], message: /exporter\/queue\/onFull.*'block', 'drop-oldest'/ },
  { what: 'a misspelt key', set: ['exporter.enabeld=true'], message: /additional properties 'enabeld' not allowed/ },
  { what: 'an unknown sink type', set: [...sink, 'exporter.sinks[0].type=ftp'], message: /exporter\/sinks\/0\/type.*'http', 'file', 'kafka', 'dapr'/ },
  { what: 'an http sink without url', set: ['exporter.enabled=true', 'exporter.sinks[0].name=siem', 'exporter.sinks[0].type=http'], message: /missing property 'url'/ },
  {
    what: 'a kafka sink without a topic',
    set: ['exporter.enabled=true', 'exporter.sinks[0].name=k', 'exporter.sinks[0].type=kafka', 'exporter.sinks[0].brokers[0]=kafka:9092'],
    message: /missing property 'topic'/,
  },
  { what: 'a dapr sink without its component', set: ['exporter.enabled=true', 'exporter.sinks[0].name=d', 'exporter.sinks[0].type=dapr', 'exporter.sinks[0].topic=t'], message: /missing property 'component'/ },
  { what: 'the exporter on without sinks', set: ['exporter.enabled=true'], message: /exporter\.sinks is empty: add at least one sink/ },
  {
    what: 'two sinks with one name',
    set: [...sink, 'exporter.sinks[1].name=siem', 'exporter.sinks[1].type=http', 'exporter.sinks[1].url=https://other.example.com'],
    message: /exporter\.sinks\[1\]: the name "siem" is used by another sink/,
  },
  {
    what: 'a queue and the engine overflow larger than their emptyDir',
    set: [...sink, 'exporter.queue.webhook.persistence.enabled=false', 'exporter.queue.webhook.maxBytes=900Mi'],
    message: /exporter\.queue\.webhook\.maxBytes \(900Mi\) plus exporter\.engineSpill\.maxBytes \(128Mi\) must be smaller than exporter\.queue\.webhook\.sizeLimit \(1Gi\)/,
  },
  {
    what: 'a queue and the engine overflow larger than their claim',
    set: [...sink, 'exporter.queue.webhook.maxBytes=2Gi'],
    message: /exporter\.queue\.webhook\.maxBytes \(2Gi\) plus exporter\.engineSpill\.maxBytes \(128Mi\) must be smaller than exporter\.queue\.webhook\.persistence\.size \(2Gi\)/,
  },
  { what: 'a malformed size', set: [...sink, 'exporter.queue.webhook.sizeLimit=lots'], message: /exporter\/queue\/webhook\/sizeLimit/ },
  {
    what: 'a file sink outside its volume',
    set: ['exporter.enabled=true', 'exporter.sinks[0].name=f', 'exporter.sinks[0].type=file', 'exporter.sinks[0].path=/etc/decisions.ndjson'],
    message: /file sink's path must be under exporter\.fileSinkMountPath/,
  },
  { what: 'a port clash between exporter and engine', set: [...sink, 'exporter.metricsPort=8888'], message: /exporter\.metricsPort \(8888\) clashes/ },
  {
    what: 'one Dapr app id for both pods',
    set: [...sink, 'exporter.dapr.appIds.webhook=audit', 'exporter.dapr.appIds.audit=audit'],
    message: /exporter\.dapr\.appIds: the webhook and the audit need different Dapr app ids/,
  },
  { what: 'a cluster label that is no label key', set: ['cluster.labels.-bad=x'], message: /cluster\.labels: "-bad" is not a Kubernetes label key/ },
  { what: 'a cluster label value too long', set: [`cluster.labels.region=${'x'.repeat(64)}`], message: /cluster\/labels\/region/ },
  { what: 'a failurePolicy typo', set: ['webhook.failurePolicy=ignore'], message: /webhook\/failurePolicy.*'Ignore', 'Fail'/ },
  { what: 'a webhook timeout above the API server maximum', set: ['webhook.timeoutSeconds=31'], message: /webhook\/timeoutSeconds.*maximum/ },
  { what: 'a privileged container', set: ['containerSecurityContext.allowPrivilegeEscalation=true'], message: /containerSecurityContext\/allowPrivilegeEscalation/ },
  { what: 'a writable root filesystem', set: ['containerSecurityContext.readOnlyRootFilesystem=false'], message: /readOnlyRootFilesystem/ },
  { what: 'a PDB that blocks every drain', set: ['webhook.replicas=1'], message: /minAvailable \(1\) must be below webhook\.replicas \(1\).*podDisruptionBudget\.enabled=false/ },
  { what: 'an existing TLS secret without its CA', set: ['webhook.tls.mode=existingSecret', 'webhook.tls.existingSecret=mine'], message: /webhook\/tls\/caBundle/ },
  { what: 'an alert threshold out of range', set: ['prometheusRule.rules.queueNearCapacity.ratio=80'], message: /queueNearCapacity\/ratio.*maximum/ },
  { what: 'a ServiceMonitor without metrics Services', set: ['serviceMonitor.enabled=true', 'metricsService.enabled=false'], message: /serviceMonitor\.enabled needs metricsService\.enabled/ },
];

for (const c of cases) {
  t.test(`fails on ${c.what}`, async (t) => {
    const r = await helm(templateArgs([], c.set));
    t.not(r.code, 0, 'helm template exits non-zero');
    t.match(r.stderr, c.message, 'with a message naming the key');
    t.equal(r.stdout.trim(), '', 'and renders nothing');
  });
}

t.test('the same values with the mistake fixed render', async (t) => {
  const r = await helm(templateArgs([], [...sink, 'exporter.queue.onFull=drop-oldest', 'webhook.replicas=1', 'webhook.podDisruptionBudget.enabled=false']));
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /onFull: drop-oldest/);
});
