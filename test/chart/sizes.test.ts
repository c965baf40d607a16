// The chart's sizes (values.schema.json) are sizes the exporter reads: the queue's maxBytes goes into the exporter's
// config as written, the engine's overflow limit through the chart's own gk.quantityBytes. Every unit the schema
// allows means there what it means in Kubernetes; one it refuses fails `helm template`, naming the key.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { parse as parseYaml } from 'yaml';
import { checkConfig } from '../../exporter/src/config/resolve.js';
import { parseSize } from '../../exporter/src/config/units.js';
import { chartDir, find, helm, render, templateArgs } from './helm.js';

/** Kubernetes' quantity suffixes (k8s.io/apimachinery resource.Quantity). */
const KUBERNETES: Record<string, number> = {
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

type SchemaNode = { type?: string; pattern?: string; properties?: Record<string, SchemaNode>; items?: SchemaNode };

/** Every size of the values schema (a number with an optional unit): its key and the units its pattern allows. */
function sizeKeys(node: SchemaNode, key = ''): Array<{ key: string; units: string[] }> {
  const units = node.pattern && /^\^\[0-9\]\+\(\\\.\[0-9\]\+\)\?\(([A-Za-z|]+)\)\?\$$/.exec(node.pattern);
  const here = units ? [{ key, units: ['', ...units[1]!.split('|')] }] : [];
  const children = Object.entries(node.properties ?? {}).flatMap(([k, v]) => sizeKeys(v, key ? `${key}.${k}` : k));
  return [...here, ...children, ...(node.items ? sizeKeys(node.items, `${key}[]`) : [])];
}

const schema = JSON.parse(readFileSync(path.join(chartDir, 'values.schema.json'), 'utf8')) as SchemaNode;
const sizes = sizeKeys(schema);
const units = [...new Set(sizes.flatMap((s) => s.units))];
const sink = ['exporter.enabled=true', 'exporter.sinks[0].name=siem', 'exporter.sinks[0].type=http', 'exporter.sinks[0].url=https://siem.example.com'];
// Room for a terabyte-sized queue and overflow file, so that every unit renders.
const roomy = ['exporter.queue.webhook.persistence.size=9T', 'exporter.queue.audit.sizeLimit=9T'];

t.test('the schema has its sizes, all with the same units', async (t) => {
  t.ok(sizes.some((s) => s.key === 'exporter.queue.webhook.maxBytes') && sizes.some((s) => s.key === 'exporter.engineSpill.maxBytes'), sizes.map((s) => s.key).join(', '));
  for (const s of sizes) t.same(s.units, sizes[0]!.units, `${s.key}: ${s.units.join(' ')}`);
});

t.test('the exporter reads every unit the chart allows, with its Kubernetes meaning', async (t) => {
  for (const unit of units) {
    t.ok(unit in KUBERNETES, `"${unit}" is a Kubernetes quantity suffix`);
    t.equal(parseSize(`3${unit}`), 3 * KUBERNETES[unit]!, `3${unit}`);
    t.equal(parseSize(`1.5${unit}`), Math.floor(1.5 * KUBERNETES[unit]!), `1.5${unit}`);
  }
});

for (const unit of units.filter((u) => u !== '')) {
  t.test(`5${unit} and 1${unit} render, and the exporter and the engine read them as Kubernetes does`, async (t) => {
    const objs = await render([], [...sink, ...roomy, `exporter.queue.webhook.maxBytes=5${unit}`, `exporter.engineSpill.maxBytes=1${unit}`]);
    const { config, warnings } = checkConfig(parseYaml(find(objs, 'ConfigMap', '-exporter-config').data['webhook.yaml']));
    t.same(warnings, []);
    t.equal(config.queue.maxBytes, 5 * KUBERNETES[unit]!, 'the exporter config: queue.maxBytes');
    const manager = find(objs, 'StatefulSet', '-controller-manager').spec.template.spec.containers.find((c: { name: string }) => c.name === 'manager');
    t.ok((manager.args as string[]).includes(`--export-spill-max-bytes=${KUBERNETES[unit]}`), 'the engine: --export-spill-max-bytes (gk.quantityBytes)');
  });
}

t.test('a unit the exporter does not read is refused by the schema, naming the key', async (t) => {
  for (const value of ['1P', '1Pi', '1E', '1Ei']) {
    const r = await helm(templateArgs([], [...sink, `exporter.queue.webhook.maxBytes=${value}`]));
    t.not(r.code, 0, `${value}: helm template fails`);
    t.match(r.stderr, /exporter\/queue\/webhook\/maxBytes/, `${value}: naming exporter.queue.webhook.maxBytes`);
  }
});
