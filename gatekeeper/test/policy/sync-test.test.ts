// `gatekeeper sync test` as `gator sync test` (pkg/gator/sync/test cases, ported): requirements met by a SyncSet or the
// Config and served per the GVKManifest, unmet ones listed, annotation errors, the manifest waived with -f.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { bins } from '../../../test/helpers/peers.js';
import { syncRequirements, syncTest } from '../../src/sync/requirements.js';
import { tempDir } from './helpers.js';

const ingressRequirement = JSON.stringify([
  [
    { groups: ['extensions'], versions: ['v1beta1'], kinds: ['Ingress'] },
    { groups: ['networking.k8s.io'], versions: ['v1beta1', 'v1'], kinds: ['Ingress'] },
  ],
]);
const tpl = (name: string, annotation?: string) => ({
  apiVersion: 'templates.gatekeeper.sh/v1',
  kind: 'ConstraintTemplate',
  metadata: { name, ...(annotation !== undefined ? { annotations: { 'metadata.gatekeeper.sh/requires-sync-data': annotation } } : {}) },
  spec: { crd: { spec: { names: { kind: name } } }, targets: [{ target: 'admission.k8s.gatekeeper.sh', rego: `package ${name}\nviolation[{"msg": "m"}] { false }\n` }] },
});
const syncSet = (gvks: Array<[string, string, string]>) => ({ apiVersion: 'syncset.gatekeeper.sh/v1alpha1', kind: 'SyncSet', metadata: { name: 's' }, spec: { gvks: gvks.map(([group, version, kind]) => ({ group, version, kind })) } });
const config = (gvks: Array<[string, string, string]>) => ({ apiVersion: 'config.gatekeeper.sh/v1alpha1', kind: 'Config', metadata: { name: 'config' }, spec: { sync: { syncOnly: gvks.map(([group, version, kind]) => ({ group, version, kind })) } } });
const manifest = (groups: Record<string, Record<string, string[]>>) => ({ apiVersion: 'gvkmanifest.gatekeeper.sh/v1alpha1', kind: 'GVKManifest', metadata: { name: 'm' }, spec: { groups } });

t.test('requirements: met, unmet, served or not, waived manifest, annotation errors', async (t) => {
  // The annotation as the library writes it: JSON inside quotes and newlines.
  t.same(syncRequirements(tpl('k8suniqueingresshost', `"\n${ingressRequirement}\n"`)), [['extensions/v1beta1:Ingress', 'networking.k8s.io/v1beta1:Ingress', 'networking.k8s.io/v1:Ingress']]);
  const ingress = tpl('k8suniqueingresshost', ingressRequirement);
  const served = manifest({ 'networking.k8s.io': { v1: ['Ingress'] } });
  t.same([...syncTest([ingress, syncSet([['networking.k8s.io', 'v1', 'Ingress']]), served], false).missing], [], 'a SyncSet');
  t.same([...syncTest([ingress, config([['networking.k8s.io', 'v1', 'Ingress']]), served], false).missing], [], 'the Config');
  t.same([...syncTest([ingress, syncSet([['extensions', 'v1beta1', 'Ingress']]), served], false).missing.keys()], ['k8suniqueingresshost'], 'synced but not served');
  t.same([...syncTest([ingress, syncSet([['extensions', 'v1beta1', 'Ingress']])], true).missing], [], 'manifest waived');
  t.throws(() => syncTest([ingress], false), { message: 'no GVK manifest found; please provide a manifest enumerating the GVKs supported by the cluster' });
  t.throws(() => syncTest([ingress, config([]), config([]), served], false), { message: 'multiple configs found; Config is a singleton resource' });
  t.throws(() => syncTest([ingress, served, served], false), { message: /^multiple GVK manifests found/ });
  const bad = syncTest([tpl('bad', '[[{"groups": [""], "versions": ["v1"], "kinds": ["Pod"], "extra": 1}]]'), served], false);
  t.same([...bad.templateErrors], [['bad', 'metadata.gatekeeper.sh/requires-sync-data: json: unknown field "extra"']]);
  t.same(syncTest([tpl('plain'), { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' } }, served], false).notes, ['skipping unstructured "p" because it is not a syncset, config, gvk manifest, or template']);
});

t.test('the command: exit 1 with the unmet requirements listed, 0 when they hold', async (t) => {
  const dir = tempDir(t, 'gk-sync-test-');
  const write = (file: string, ...objs: unknown[]) => fs.writeFileSync(path.join(dir, file), objs.map((o) => YAML.stringify(o)).join('---\n'));
  write('template.yaml', tpl('k8suniqueingresshost', ingressRequirement));
  write('syncset.yaml', syncSet([['networking.k8s.io', 'v1', 'Ingress']]));
  write('manifest.yaml', manifest({ 'networking.k8s.io': { v1beta1: ['Ingress'] } }));
  const run = (args: string[]) => spawnSync(process.execPath, [bins.gatekeeper, 'sync', 'test', ...args], { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'] });
  const unmet = run(['-n', dir]);
  t.equal(unmet.status, 1);
  t.equal(unmet.stderr, 'the following requirements were not met: \nk8suniqueingresshost:\n[extensions/v1beta1:Ingress OR networking.k8s.io/v1beta1:Ingress OR networking.k8s.io/v1:Ingress]\n\n');
  write('manifest.yaml', manifest({ 'networking.k8s.io': { v1: ['Ingress'] } }));
  const met = run(['--filename', dir]);
  t.equal(met.status, 0, met.stderr);
  fs.rmSync(path.join(dir, 'manifest.yaml'));
  t.match(run(['-n', dir]).stderr, /^checking: no GVK manifest found/);
  t.equal(run(['-n', dir, '--force-omit-gvk-manifest']).status, 0);
  t.same([run([]).status, run([]).stderr], [1, 'no input data identified\n']);
});
