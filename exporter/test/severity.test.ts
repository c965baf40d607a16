// The severity the console and otlp sinks give a record (proto-docs/sinks/otlp.md#severity).
import t from 'tap';
import { severityOf } from '../src/sinks/kit/severity.js';

t.test('WARN for denials and deny violations, opened ones included; INFO for the rest', async (t) => {
  const text = (r: Record<string, unknown>) => severityOf(r).text;
  t.equal(text({ eventType: 'admission_decision', allowed: false }), 'WARN');
  t.equal(text({ eventType: 'admission_decision', allowed: true }), 'INFO');
  for (const eventType of ['violation_admission', 'violation_audited', 'violation_opened']) {
    t.equal(text({ eventType, enforcementAction: 'deny' }), 'WARN', `${eventType} deny`);
    t.equal(text({ eventType, enforcementAction: 'warn' }), 'INFO', `${eventType} warn`);
  }
  t.equal(text({ eventType: 'violation_resolved', enforcementAction: 'deny' }), 'INFO', 'a resolution is good news');
  t.equal(severityOf({ eventType: 'audit_completed' }).number, 9);
});
