// The provenance, tenant and write-hold flags: --cluster-name, --cluster-label, --export-namespace-labels, --export-write-hold-ms; each bad input named.
import t from 'tap';
import { Command } from 'commander';
import { addExportOptions, clusterIdentity, parseLabelKeys, type ExportFlags } from '../src/export/cli-options.js';

function parse(args: string[]): ExportFlags {
  const cmd = addExportOptions(new Command('webhook'), { admission: true }).exitOverride().configureOutput({ writeErr: () => {} });
  cmd.parse(args, { from: 'user' });
  return cmd.opts<ExportFlags>();
}

t.test('cluster identity from the flags', async (t) => {
  const flags = parse(['--cluster-name', 'prod-eu', '--cluster-label', 'region=eu-west-1', '--cluster-label', 'example.com/tier=gold', '--cluster-label', 'empty=']);
  t.same(clusterIdentity(flags), { name: 'prod-eu', labels: { region: 'eu-west-1', 'example.com/tier': 'gold', empty: '' } });
  t.same(clusterIdentity(parse([])), {}, 'none given: no identity');
});

t.test('bad cluster flags are refused with the flag and the value named', async (t) => {
  t.throws(() => parse(['--cluster-name', ' ']), /--cluster-name must not be empty/);
  t.throws(() => parse(['--cluster-label', 'region']), /--cluster-label takes key=value .* got "region"/);
  t.throws(() => parse(['--cluster-label', '-bad=x']), /--cluster-label takes key=value/);
  t.throws(() => parse(['--cluster-label', 'region=eu west']), /--cluster-label region: the value must be empty or up to 63/);
  t.throws(() => parse(['--cluster-label', 'a=1', '--cluster-label', 'a=2']), /--cluster-label a is given twice/);
});

t.test('--export-namespace-labels: label keys, deduplicated; empty by default', async (t) => {
  t.same(parseLabelKeys('team, env,team', '--export-namespace-labels'), ['team', 'env']);
  t.same(parseLabelKeys('example.com/team', '--export-namespace-labels'), ['example.com/team']);
  t.same(parseLabelKeys(undefined, '--export-namespace-labels'), []);
  t.throws(() => parseLabelKeys('team,bad key', '--export-namespace-labels'), /--export-namespace-labels: "bad key" is not a Kubernetes label key/);
});

t.test('--export-write-hold-ms: a non-negative integer, 0 included; unset, the client keeps its default', async (t) => {
  t.equal(parse(['--export-write-hold-ms', '25']).exportWriteHoldMs, 25);
  t.equal(parse(['--export-write-hold-ms', '0']).exportWriteHoldMs, 0);
  t.equal(parse([]).exportWriteHoldMs, undefined);
  t.throws(() => parse(['--export-write-hold-ms', '-1']), /--export-write-hold-ms must be a non-negative integer, got "-1"/);
  t.throws(() => parse(['--export-write-hold-ms', '2.5']), /--export-write-hold-ms must be a non-negative integer, got "2.5"/);
});
