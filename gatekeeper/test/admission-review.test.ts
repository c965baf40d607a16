// AdmissionReview parsing, namespace exemption patterns and the namespace label check (no policy involved).
import t from 'tap';
import { MalformedReviewError, objectUnderReview, parseAdmissionReview, reviewResponse } from '../src/webhook/admission-review.js';
import { checkNamespaceLabel } from '../src/webhook/namespace-label.js';
import { NamespaceExemptions, namespacePatternMatches } from '../src/webhook/namespaces.js';

const good = {
  apiVersion: 'admission.k8s.io/v1',
  kind: 'AdmissionReview',
  request: { uid: 'u', kind: { group: '', version: 'v1', kind: 'Pod' }, operation: 'CREATE', object: { metadata: {} } },
};

t.test('parses a valid review and echoes its apiVersion', async (t) => {
  const r = parseAdmissionReview(JSON.stringify(good));
  t.equal(r.request.uid, 'u');
  t.same(JSON.parse(reviewResponse('admission.k8s.io/v1beta1', { uid: 'u', allowed: true })), {
    apiVersion: 'admission.k8s.io/v1beta1',
    kind: 'AdmissionReview',
    response: { uid: 'u', allowed: true },
  });
  t.equal(parseAdmissionReview(JSON.stringify({ ...good, apiVersion: 'admission.k8s.io/v1beta1' })).apiVersion, 'admission.k8s.io/v1beta1');
});

t.test('every malformed review names its problem', async (t) => {
  const cases: Array<[unknown, RegExp]> = [
    ['[1,2]', /must be a JSON object/],
    [{ ...good, kind: 'Review' }, /kind: expected "AdmissionReview"/],
    [{ ...good, apiVersion: 'admission.k8s.io/v2' }, /apiVersion: expected one of/],
    [{ ...good, request: undefined }, /request: required/],
    [{ ...good, request: { ...good.request, uid: '' } }, /request\.uid/],
    [{ ...good, request: { ...good.request, kind: { group: '', kind: 'Pod' } } }, /request\.kind\.version/],
    [{ ...good, request: { ...good.request, operation: 'PATCH' } }, /request\.operation: expected one of CREATE/],
    [{ ...good, request: { ...good.request, object: 'x' } }, /request\.object: must be an object/],
    [{ ...good, request: { ...good.request, namespace: 3 } }, /request\.namespace: must be a string/],
    [{ ...good, request: { ...good.request, dryRun: 'yes' } }, /request\.dryRun: must be a boolean/],
  ];
  for (const [body, re] of cases) {
    t.throws(() => parseAdmissionReview(typeof body === 'string' ? body : JSON.stringify(body)), MalformedReviewError);
    t.throws(() => parseAdmissionReview(typeof body === 'string' ? body : JSON.stringify(body)), re);
  }
  t.throws(() => parseAdmissionReview('{'), /not valid JSON/);
});

t.test('DELETE reviews the old object', async (t) => {
  t.same(objectUnderReview({ uid: 'u', kind: { group: '', version: 'v1', kind: 'Pod' }, operation: 'DELETE', object: null, oldObject: { a: 1 } }), { a: 1 });
  t.same(objectUnderReview({ uid: 'u', kind: { group: '', version: 'v1', kind: 'Pod' }, operation: 'CREATE', object: { b: 2 } }), { b: 2 });
});

t.test('namespace patterns', async (t) => {
  t.ok(namespacePatternMatches('kube-*', 'kube-system'));
  t.notOk(namespacePatternMatches('kube-*', 'mykube-system'));
  t.ok(namespacePatternMatches('*-system', 'kube-system'));
  t.ok(namespacePatternMatches('tools', 'tools'));
  t.notOk(namespacePatternMatches('tools', 'tools2'));
  const ex = new NamespaceExemptions(['tools', 'ci-*']);
  t.ok(ex.isExempt('ci-1'));
  t.notOk(ex.isExempt(undefined));
  t.throws(() => new NamespaceExemptions(['a*b']), /a single \* is allowed, at the start or at the end/);
});

t.test('namespace label check', async (t) => {
  const ex = new NamespaceExemptions(['tools']);
  const ns = (name: string, labels: Record<string, string>, operation = 'CREATE') => ({
    uid: 'u',
    kind: { group: '', version: 'v1', kind: 'Namespace' },
    operation,
    object: { metadata: { name, labels } },
  });
  const ignore = { 'admission.gatekeeper.sh/ignore': 'true' };
  t.equal(checkNamespaceLabel(ns('a', ignore), ex).allowed, false);
  t.equal(checkNamespaceLabel(ns('tools', ignore), ex).allowed, true);
  t.equal(checkNamespaceLabel(ns('a', {}), ex).allowed, true);
  t.equal(checkNamespaceLabel(ns('a', ignore, 'DELETE'), ex).allowed, true);
  t.equal(checkNamespaceLabel({ uid: 'u', kind: { group: '', version: 'v1', kind: 'Pod' }, object: { metadata: { labels: ignore } } }, ex).allowed, true);
});
