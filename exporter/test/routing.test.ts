// Per-sink routing: filter and redaction (exporter/src/routing/).
import t from 'tap';
import { compileRouting, factsFor, type RecordFacts } from '../src/routing/index.js';
import { parsePointer } from '../src/routing/redact.js';
import type { OutgoingRecord } from '../src/sinks/sink.js';

let seq = 0;
function out(rec: Record<string, unknown>): OutgoingRecord {
  return { seq: ++seq, decisionId: String(rec['decisionId'] ?? seq), eventType: String(rec['eventType']), json: JSON.stringify(rec) };
}
const violation = (o: Record<string, unknown> = {}) => ({
  decisionId: `d${++seq}`,
  eventType: 'violation_admission',
  kind: 'K8sRequiredLabels',
  name: 'must-have-owner',
  enforcementAction: 'deny',
  resourceKind: 'ConfigMap',
  resourceNamespace: 'team-a',
  resourceName: 'cm',
  requestUsername: 'alice',
  ...o,
});

t.test('no filter and no redaction: no transform at all', async (t) => {
  t.equal(compileRouting({ name: 's' }), undefined);
  t.equal(compileRouting({ name: 's', filter: {}, redact: [] }), undefined);
});

t.test('filter by each criterion, globs, exclude', async (t) => {
  const keep = (filter: object, rec: Record<string, unknown>) => compileRouting({ name: 's', filter })!(out(rec)) !== null;
  t.ok(keep({ eventTypes: ['violation_*'] }, violation()));
  t.notOk(keep({ eventTypes: ['violation_audited'] }, violation()));
  t.ok(keep({ enforcementActions: ['warn', 'deny'] }, violation()));
  t.notOk(keep({ enforcementActions: ['warn'] }, violation()));
  t.ok(keep({ enforcementActions: ['warn'] }, violation({ enforcementAction: 'scoped', enforcementActions: ['warn'] })), 'scoped actions count');
  t.ok(keep({ constraintKinds: ['K8sRequired*'] }, violation()));
  t.notOk(keep({ constraintNames: ['other'] }, violation()));
  t.ok(keep({ namespaces: ['team-*'] }, violation()));
  t.notOk(keep({ namespaces: ['kube-system'] }, violation()));
  t.ok(keep({ namespaces: [''] }, violation({ resourceNamespace: undefined, resourceKind: 'Namespace' })), '"" is cluster-scoped');
  t.notOk(keep({ namespaces: ['*'] }, { decisionId: 'a', eventType: 'audit_started' }), 'no resource: a namespace filter leaves it out');
  t.ok(keep({ resourceKinds: ['ConfigMap'] }, violation()));
  t.notOk(keep({ eventTypes: ['violation_admission'], resourceKinds: ['Secret'] }, violation()), 'criteria AND together');
  t.notOk(keep({ exclude: { namespaces: ['team-a'] } }, violation()));
  t.ok(keep({ exclude: { namespaces: ['team-b'] } }, violation()));
  const decision = {
    decisionId: 'x',
    eventType: 'admission_decision',
    allowed: false,
    violations: { total: 1, items: [{ constraintKind: 'K8sPSP', constraintName: 'no-priv', enforcementAction: 'warn' }] },
  };
  t.ok(keep({ constraintKinds: ['K8sPSP'], enforcementActions: ['warn'] }, decision), "an admission_decision matches on its violations' constraints");
});

t.test('a filter on event types alone reads the stored eventType: the record is not parsed, results as the full match', async (t) => {
  const unparsable: OutgoingRecord = { seq: ++seq, decisionId: 'u', eventType: 'violation_admission', json: 'not parsed' };
  t.equal(compileRouting({ name: 's', filter: { eventTypes: ['violation_*'] } })!(unparsable), unparsable, 'kept on its eventType alone');
  t.equal(compileRouting({ name: 's', filter: { eventTypes: ['violation_*'], namespaces: ['*'] } })!(unparsable), null, 'other criteria still parse it');
  const filters = [{ eventTypes: ['violation_*'] }, { eventTypes: [] }, { exclude: { eventTypes: ['audit_*'] } }, { eventTypes: ['*'], exclude: { eventTypes: ['violation_audited'] } }];
  const types = ['violation_admission', 'violation_audited', 'audit_started', 'admission_decision'];
  for (const filter of filters) {
    const fast = compileRouting({ name: 's', filter })!;
    // The same criteria through the general path (a namespaceLabels criterion that every record here matches).
    const general = (f: { eventTypes?: string[]; exclude?: { eventTypes?: string[] } }) =>
      compileRouting({ name: 's', filter: { ...f, namespaceLabels: { team: ['*'] } } })!;
    for (const eventType of types) {
      const rec = out({ decisionId: eventType, eventType, namespaceLabels: { team: 'a' } });
      t.equal(fast(rec) !== null, general(filter)(rec) !== null, `${JSON.stringify(filter)} ${eventType}`);
    }
  }
});

t.test('filter by namespace labels: every listed key, any of its values (globs), exclude', async (t) => {
  const keep = (filter: object, rec: Record<string, unknown>) => compileRouting({ name: 's', filter })!(out(rec)) !== null;
  const teamA = violation({ namespaceLabels: { team: 'a', env: 'prod' } });
  t.ok(keep({ namespaceLabels: { team: ['a'] } }, teamA));
  t.notOk(keep({ namespaceLabels: { team: ['b'] } }, teamA));
  t.ok(keep({ namespaceLabels: { team: ['a', 'b'], env: ['prod*'] } }, teamA), 'keys AND, values OR, globs');
  t.notOk(keep({ namespaceLabels: { team: ['a'], env: ['dev'] } }, teamA));
  t.notOk(keep({ namespaceLabels: { owner: ['*'] } }, teamA), 'a missing label does not match, not even "*"');
  t.notOk(keep({ namespaceLabels: { team: ['*'] } }, violation()), 'a record without namespaceLabels matches no label criterion');
  t.notOk(keep({ exclude: { namespaceLabels: { env: ['prod'] } } }, teamA));
  t.ok(keep({ eventTypes: ['violation_*'], namespaceLabels: { team: ['a'] } }, teamA), 'with the other criteria');
});

t.test('redaction: remove, replace, wildcards, when; erased/masked listed', async (t) => {
  const tr = compileRouting({
    name: 's',
    redact: [
      { path: '/object/data', when: { resourceKinds: ['Secret'] } },
      { path: '/requestUsername', action: 'replace' },
      { path: '/object/spec/containers/*/env', action: 'replace', value: [] },
      { path: '/requestUserGroups/1' },
      { path: '/a~1b' },
    ],
  })!;
  const secret = violation({
    resourceKind: 'Secret',
    object: { kind: 'Secret', data: { password: 'aHVudGVyMg==' }, spec: { containers: [{ env: [{ name: 'X', value: 'y' }] }, { name: 'c2' }] } },
    requestUserGroups: ['a', 'b', 'c'],
    'a/b': 1,
  });
  const r = JSON.parse(tr(out(secret))!.json) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  t.notOk('data' in r.object, 'the Secret data is gone');
  t.equal(r.requestUsername, '[redacted]');
  t.same(r.object.spec.containers[0].env, []);
  t.same(r.object.spec.containers[1], { name: 'c2' }, 'absent paths untouched');
  t.same(r.requestUserGroups, ['a', 'c']);
  t.notOk('a/b' in r);
  t.same(r.erased, ['/object/data', '/requestUserGroups/1', '/a~1b']);
  t.same(r.masked, ['/requestUsername', '/object/spec/containers/0/env']);
  const cm = violation({ object: { kind: 'ConfigMap', data: { k: 'v' } } });
  const r2 = JSON.parse(tr(out(cm))!.json) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  t.same(r2.object.data, { k: 'v' }, '`when` limits a rule to matching records');
  const plain = out({ decisionId: 'p', eventType: 'audit_started' });
  t.equal(tr(plain), plain, 'nothing to redact: the record goes out as stored');
});

t.test('bad pointers are refused with the key named', async (t) => {
  t.throws(() => compileRouting({ name: 's', redact: [{ path: 'object' }] }), /sinks\[s\]\.redact\[0\]\.path: a JSON pointer starts with "\/"/);
  t.throws(() => compileRouting({ name: 's', redact: [{ path: '/' }] }), /whole record/);
  t.throws(() => parsePointer('/a~2', 'k'), /invalid escape/);
});

t.test('facts computed at ingest route every record as its parse does; the record is parsed only to redact it', async (t) => {
  const records: Record<string, unknown>[] = [
    violation(),
    violation({ resourceNamespace: 'kube-system', enforcementAction: 'warn', namespaceLabels: { team: 'a', env: 'prod' } }),
    violation({ enforcementAction: 'scoped', enforcementActions: ['warn', 'dryrun'], namespaceLabels: { team: 'b' } }),
    violation({ resourceNamespace: undefined, resourceKind: 'Namespace', resourceName: 'ns1' }),
    { decisionId: 'a1', eventType: 'audit_started' },
    {
      decisionId: 'x1',
      eventType: 'admission_decision',
      resourceKind: 'Pod',
      resourceNamespace: 'team-a',
      resourceName: 'p',
      violations: { total: 2, items: [{ constraintKind: 'K8sPSP', constraintName: 'no-priv', enforcementAction: 'warn' }, { constraintKind: 'K8sRequiredLabels', constraintName: 'owner', enforcementAction: 'deny' }] },
      namespaceLabels: { team: 'a' },
    },
  ];
  const filters: object[] = [
    { namespaces: ['team-*'] },
    { namespaces: [''] },
    { enforcementActions: ['warn'] },
    { constraintKinds: ['K8sPSP'], exclude: { namespaces: ['kube-*'] } },
    { constraintNames: ['owner', 'must-*'] },
    { resourceKinds: ['Pod', 'Namespace'] },
    { namespaceLabels: { team: ['a'] } },
    { namespaceLabels: { team: ['*'], env: ['prod'] } },
    { eventTypes: ['violation_*'], namespaces: ['team-a'] },
    { exclude: { namespaceLabels: { team: ['b'] } } },
  ];
  const redacts = [undefined, [{ path: '/requestUsername', when: { namespaces: ['kube-system'] } }], [{ path: '/requestUsername' }]];
  const configs = filters.flatMap((filter) => redacts.map((redact) => ({ name: 's', filter, ...(redact ? { redact } : {}) })));
  const facts = factsFor(configs)!;
  t.ok(facts, 'facts are computed when a filter reads more than eventType');
  t.equal(factsFor([{ filter: { eventTypes: ['x'] } }, {}]), undefined, 'and not when none does');
  let compared = 0;
  let unparsed = 0;
  for (const cfg of configs) {
    const route = compileRouting(cfg)!;
    t.equal(route.readsFacts, true);
    for (const rec of records) {
      const stored = out(rec);
      const withFacts: OutgoingRecord = { ...stored, facts: JSON.parse(facts(rec)) as RecordFacts };
      const parsed = route(stored);
      t.same(route(withFacts)?.json, parsed?.json, `${JSON.stringify(cfg)} ${String(rec['decisionId'])}`);
      compared++;
      // The same facts with a record that cannot be parsed: a record left out is left out on its facts alone, and one
      // sent as stored was not parsed (an unparsable record a sink has to parse is left out: the safe side).
      const unparsable = { ...withFacts, json: 'not parsed' };
      const r = route(unparsable);
      if (parsed === null) t.equal(r, null, 'left out on its facts alone');
      if (parsed === null || r === unparsable) unparsed++;
      if (r === unparsable) t.equal(parsed, stored, 'sent as stored without a parse: the parse sends it as stored too');
    }
  }
  t.equal(compared, configs.length * records.length);
  // Redaction with no `when` needs the record for every record it sends; the rest are decided without a parse.
  t.ok(unparsed > compared / 2, `${unparsed} of ${compared} decided without parsing the record`);
  t.comment(`${unparsed} of ${compared} decided without parsing the record`);
  const partial: OutgoingRecord = { ...out(violation()), facts: { resourceKinds: ['ConfigMap'] } };
  t.equal(compileRouting({ name: 's', filter: { namespaces: ['team-a'] } })!(partial), partial, 'facts without the criterion: the record is parsed');
  t.equal(compileRouting({ name: 's', filter: { namespaceLabels: { team: ['a'] } } })!({ ...partial, facts: { namespaceLabels: { env: null } } }), null, 'nor a label key not computed');
  const onTypes = compileRouting({ name: 's', filter: { eventTypes: ['violation_*', 'audit_*'] }, redact: [{ path: '/requestUsername', when: { eventTypes: ['violation_*'] } }] })!;
  t.equal(onTypes.readsFacts, false, 'criteria on eventTypes alone: no facts read');
  const audit: OutgoingRecord = { seq: ++seq, decisionId: 'a', eventType: 'audit_started', json: 'not parsed' };
  t.equal(onTypes(audit), audit, 'a record no rule applies to by its eventType is sent unparsed');
  t.equal(onTypes({ ...audit, eventType: 'admission_decision' }), null, 'one the filter leaves out by its eventType is left out unparsed');
});
