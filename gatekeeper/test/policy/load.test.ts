// Reading policy files and building reviews for plain objects and AdmissionReviews.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { loadPolicyFiles, parseObjects, reviewFromAdmissionReview, reviewFromObject } from '../../src/policy/load.js';
import { tempDir } from './helpers.js';

t.test('templates, constraints and other objects from YAML (multi-document, List) and JSON, folders recursively', async (t) => {
  const dir = tempDir(t, 'gk-load-');
  fs.mkdirSync(path.join(dir, 'sub'));
  fs.writeFileSync(
    path.join(dir, 'a.yaml'),
    'apiVersion: templates.gatekeeper.sh/v1\nkind: ConstraintTemplate\nmetadata: {name: k8sx}\n---\n# empty doc next\n---\napiVersion: constraints.gatekeeper.sh/v1beta1\nkind: K8sX\nmetadata: {name: c}\n',
  );
  fs.writeFileSync(path.join(dir, 'sub', 'b.json'), JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [{ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' } }, { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' } }] }));
  fs.writeFileSync(path.join(dir, 'sub', 'notes.txt'), 'ignored');
  const files = await loadPolicyFiles([dir]);
  t.same(files.templates.map((o) => o.obj.metadata.name), ['k8sx']);
  t.same(files.constraints.map((o) => o.source.replace(dir, '')), ['/a.yaml#3']);
  t.same(files.others.map((o) => o.obj.kind), ['Pod', 'Service']);
  await t.rejects(loadPolicyFiles([path.join(dir, 'missing')]), /missing: no such file or directory/);
});

t.test('bad files name the file and the problem', async (t) => {
  t.throws(() => parseObjects('a: [1,\n', 'x.yaml'), /x\.yaml: invalid YAML in document 1/);
  t.throws(() => parseObjects('{"a": ', 'x.json'), /x\.json: invalid JSON/);
  t.throws(() => parseObjects('- 1\n- 2\n', 'x.yaml'), /x\.yaml: document 1 is not an object/);
});

t.test('a quoted scalar continued at its key indentation parses as Go YAML does', async (t) => {
  const text = 'spec:\n  description: "When set to `true` the TLS {} is optional, defaults\n  to false."\n  other: 1\n';
  const [o] = parseObjects(text, 'x.yaml');
  t.same(o?.obj, { spec: { description: 'When set to `true` the TLS {} is optional, defaults to false.', other: 1 } });
});

t.test('reviews: a plain object as Gatekeeper marshals it, and an AdmissionReview request', async (t) => {
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'n' } };
  t.same(reviewFromObject(pod), {
    uid: '',
    kind: { group: '', version: 'v1', kind: 'Pod' },
    resource: { group: '', version: '', resource: '' },
    operation: '',
    userInfo: {},
    object: pod,
    oldObject: null,
    options: null,
    source: 'Original',
    name: 'p',
    namespace: 'n',
  });
  t.same(reviewFromObject({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' } }).kind, { group: 'apps', version: 'v1', kind: 'Deployment' });
  const del = reviewFromAdmissionReview({ request: { uid: 'u', operation: 'DELETE', kind: { group: '', version: 'v1', kind: 'Pod' }, oldObject: pod } });
  t.equal(del.object, pod, 'on DELETE the object is the old object');
  t.throws(() => reviewFromAdmissionReview({}), /^missing an AdmissionRequest object/);
  t.throws(() => reviewFromAdmissionReview({ request: { uid: 'u' } }), /^no object or oldObject found to review/);
});
