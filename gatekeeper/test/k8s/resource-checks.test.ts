// The webhook's checks of Gatekeeper's own resources, on a real engine: what the API server's CRD schema lets through
// (parameters against the template's schema, enforcement actions, Rego) is rejected with a message naming it.
import t from 'tap';
import { checkGatekeeperResource, type GatekeeperResourceChecker } from '../../src/webhook/validate-gatekeeper-resources.js';
import { EXPANSION_GROUP } from '../../src/expansion/expansion.js';
import type { AdmissionRequest } from '../../src/webhook/admission-review.js';
import { constraint, newEngine, template } from '../policy/helpers.js';

const labels = template('K8sLabels', 'package k8slabels\nviolation[{"msg": "no"}] { false }', {
  schema: { type: 'object', properties: { keys: { type: 'array', items: { type: 'string' } } }, required: ['keys'] },
});
const request = (group: string, kind: string, object: unknown, operation = 'CREATE'): AdmissionRequest => ({
  uid: 'u',
  kind: { group, version: 'v1', kind },
  operation,
  object,
});

t.test('templates: Rego that does not compile, a name that is not the kind, a valid one', async (t) => {
  const engine = await newEngine(t);
  const checker: GatekeeperResourceChecker = { compileTemplate: async (obj) => (await engine.upsertTemplate(obj)).errors, templateOf: () => undefined };
  const broken = template('K8sBroken', 'package k8sbroken\nviolation[{"msg": msg}] {\n  msg := \n}');
  t.match(await checkGatekeeperResource(request('templates.gatekeeper.sh', 'ConstraintTemplate', broken), checker), /k8sbroken/);
  const misnamed = { ...labels, metadata: { name: 'labels' } };
  t.match(await checkGatekeeperResource(request('templates.gatekeeper.sh', 'ConstraintTemplate', misnamed), checker), /its name must be the lowercase of its kind K8sLabels \("k8slabels"\)/);
  t.equal(await checkGatekeeperResource(request('templates.gatekeeper.sh', 'ConstraintTemplate', labels), checker), undefined);
  t.equal(await checkGatekeeperResource(request('templates.gatekeeper.sh', 'ConstraintTemplate', broken, 'DELETE'), checker), undefined, 'deletions pass');
});

t.test('constraints: parameters against the schema, enforcement actions', async (t) => {
  const checker: GatekeeperResourceChecker = { compileTemplate: async () => [], templateOf: (kind) => (kind === 'K8sLabels' ? labels : undefined) };
  const check = (spec: Record<string, unknown>) => checkGatekeeperResource(request('constraints.gatekeeper.sh', 'K8sLabels', constraint('K8sLabels', 'c', spec)), checker);
  t.equal(await check({ parameters: { keys: ['owner'] } }), undefined);
  t.match(await check({ parameters: { keys: 'owner' } }), /K8sLabels\/c: parameters do not match the schema of template k8slabels: spec\.parameters\.keys must be array/);
  t.match(await check({ parameters: {} }), /must have required property 'keys'/);
  t.match(await check({ enforcementAction: 'block', parameters: { keys: [] } }), /enforcementAction "block" is not supported; use one of deny, dryrun, warn, scoped/);
  t.equal(await check({ enforcementAction: 'scoped', scopedEnforcementActions: [{ action: 'warn', enforcementPoints: [{ name: 'validation.gatekeeper.sh' }] }], parameters: { keys: [] } }), undefined);
  t.match(await check({ enforcementAction: 'scoped', scopedEnforcementActions: [{ action: 'scoped' }], parameters: { keys: [] } }), /scopedEnforcementActions action "scoped" is not supported/);
  t.equal(await checkGatekeeperResource(request('', 'ConfigMap', { metadata: { name: 'x' } }), checker), undefined, 'other resources are not checked here');
});

t.test("ExpansionTemplates as Gatekeeper's ValidateTemplate; names past 63 characters, as Gatekeeper refuses them", async (t) => {
  const checker: GatekeeperResourceChecker = { compileTemplate: async () => [], templateOf: () => undefined };
  const et = (name: string, spec: Record<string, unknown>) => ({ apiVersion: `${EXPANSION_GROUP}/v1beta1`, kind: 'ExpansionTemplate', metadata: { name }, spec });
  const valid = { applyTo: [{ groups: ['apps'], kinds: ['Deployment'], versions: ['v1'] }], templateSource: 'spec.template', generatedGVK: { group: '', version: 'v1', kind: 'Pod' } };
  const check = (obj: unknown) => checkGatekeeperResource(request(EXPANSION_GROUP, 'ExpansionTemplate', obj), checker);
  t.equal(await check(et('expand-deployments', valid)), undefined);
  t.equal(await check(et('no-source', { ...valid, templateSource: '' })), 'ExpansionTemplate no-source has empty source field');
  t.equal(await check(et('no-gvk', { ...valid, generatedGVK: {} })), 'ExpansionTemplate no-gvk has empty generatedGVK field');
  t.equal(await check(et('no-apply', { ...valid, applyTo: [] })), 'ExpansionTemplate no-apply must specify ApplyTo');
  t.equal(await check(et('self', { ...valid, applyTo: [{ groups: [''], kinds: ['Pod'], versions: ['v1'] }] })), 'ExpansionTemplate self generates GVK /v1, Kind=Pod, but also applies to that same GVK');
  const long = 'x'.repeat(64);
  t.equal(await check(et(long, valid)), 'resource cannot have metadata.name larger than 63 char; length: 64');
  t.equal(await checkGatekeeperResource(request('constraints.gatekeeper.sh', 'K8sLabels', constraint('K8sLabels', long)), checker), 'resource cannot have metadata.name larger than 63 char; length: 64');
  t.equal(await checkGatekeeperResource(request('status.gatekeeper.sh', 'ConstraintPodStatus', { metadata: { name: long } }), checker), undefined, 'status objects have generated names');
});
