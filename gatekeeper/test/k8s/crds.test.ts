import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { constraintCrd, staticCrdManifests } from '../../src/k8s/crds.js';

const crdsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../crds');

t.test('gatekeeper/crds/*.yaml are what crds.ts generates', async (t) => {
  for (const [name, text] of Object.entries(await staticCrdManifests())) {
    const onDisk = await readFile(path.join(crdsDir, name), 'utf8');
    t.equal(onDisk, text, `${name} is stale: run node --import tsx gatekeeper/src/k8s/write-crds.ts`);
  }
});

t.test('constraint CRD: names, scope, versions and the parameters schema of the template', async (t) => {
  const crd: any = constraintCrd({
    kind: 'K8sRequiredLabels',
    templateName: 'k8srequiredlabels',
    parametersSchema: { properties: { labels: { type: 'array', items: { type: 'string' } } } },
  });
  t.equal(crd.metadata.name, 'k8srequiredlabels.constraints.gatekeeper.sh');
  t.same(crd.spec.names, { kind: 'K8sRequiredLabels', listKind: 'K8sRequiredLabelsList', plural: 'k8srequiredlabels', singular: 'k8srequiredlabels', categories: ['constraint', 'constraints'] });
  t.equal(crd.spec.scope, 'Cluster');
  t.same(crd.spec.versions.map((v: any) => [v.name, v.storage, v.subresources]), [['v1beta1', true, { status: {} }], ['v1alpha1', false, { status: {} }]]);
  const spec = crd.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties;
  t.same(spec.parameters, { type: 'object', properties: { labels: { type: 'array', items: { type: 'string' } } } }, 'a root without type becomes an object');
  t.ok(spec.match.properties.kinds && spec.match.properties.excludedNamespaces && spec.match.properties.labelSelector, 'match fields');
  t.equal(spec.enforcementAction.type, 'string');
});

t.test('legacy schema keeps unknown fields on every object node', async (t) => {
  const crd: any = constraintCrd({
    kind: 'K8sX',
    templateName: 'k8sx',
    legacySchema: true,
    parametersSchema: { type: 'object', properties: { nested: { type: 'object', properties: { a: { type: 'string' } } } } },
  });
  const params = crd.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.parameters;
  t.equal(params['x-kubernetes-preserve-unknown-fields'], true);
  t.equal(params.properties.nested['x-kubernetes-preserve-unknown-fields'], true);
  t.equal(params.properties.nested.properties.a['x-kubernetes-preserve-unknown-fields'], undefined, 'not on scalars');
});

t.test('a template without a parameters schema accepts any parameters', async (t) => {
  const crd: any = constraintCrd({ kind: 'K8sY', templateName: 'k8sy' });
  const params = crd.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.parameters;
  t.same(params, { type: 'object', 'x-kubernetes-preserve-unknown-fields': true });
});
