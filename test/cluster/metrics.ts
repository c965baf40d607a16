// Scraping a pod's Prometheus endpoint through the cluster relay, and turning scrapes into `promtool test rules`
// input series labelled as a Prometheus scrape of that pod would be (namespace, pod).
import { request } from 'undici';
import type { RealCluster } from '../peers/cluster.js';

export interface Sample {
  name: string;
  /** The label set as written in the exposition, e.g. `sink="events"` (empty for none). */
  labels: string;
  value: number;
}

export function parseExposition(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    out.push({ name: m[1]!, labels: m[2] ?? '', value: Number(m[3]) });
  }
  return out;
}

/** GET http://<pod IP>:<port>/metrics from inside the cluster's namespace. */
export async function scrapePod(cluster: RealCluster, namespace: string, pod: string, port: number): Promise<Sample[]> {
  const p = JSON.parse(await cluster.kubectlOk(['-n', namespace, 'get', 'pod', pod, '-o', 'json']));
  const forward = await cluster.forward(`${p.status.podIP}:${port}`);
  try {
    const r = await request(`http://127.0.0.1:${forward.port}/metrics`);
    const text = await r.body.text();
    if (r.statusCode !== 200) throw new Error(`scraping ${pod}:${port}: HTTP ${r.statusCode}`);
    return parseExposition(text);
  } finally {
    await forward.close();
  }
}

export function sampleValue(samples: Sample[], name: string, labels: string): number | undefined {
  return samples.find((s) => s.name === name && s.labels === labels)?.value;
}

/**
 * promtool input series: each phase is a scrape of every pod, held for `minutes` one-minute steps, phases in order.
 * A series missing from a phase is written as a gap ("_").
 */
export function seriesFromScrapes(namespace: string, phases: { minutes: number; scrapes: Record<string, Sample[]> }[]): { series: string; values: string }[] {
  const keys = new Map<string, (number | undefined)[]>();
  phases.forEach((phase, i) => {
    for (const [pod, samples] of Object.entries(phase.scrapes)) {
      for (const s of samples) {
        if (!Number.isFinite(s.value)) continue;
        const labels = [`namespace="${namespace}"`, `pod="${pod}"`, ...(s.labels ? [s.labels] : [])].join(',');
        const key = `${s.name}{${labels}}`;
        if (!keys.has(key)) keys.set(key, phases.map(() => undefined));
        keys.get(key)![i] = s.value;
      }
    }
  });
  return [...keys].map(([series, values]) => ({
    series,
    values: values.map((v, i) => (v === undefined ? `_x${phases[i]!.minutes - 1}` : `${v}x${phases[i]!.minutes - 1}`)).join(' '),
  }));
}
