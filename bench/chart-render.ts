// How long `helm template` takes for the chart's scenarios, and how much it renders. Prints figures, asserts nothing.
// Run: node --import tsx bench/chart-render.ts   (builds the pinned helm once if needed)
import { performance } from 'node:perf_hooks';
import { helm, parseObjects, templateArgs } from '../test/chart/helm.js';

const scenarios: Array<[string, string[]]> = [
  ['defaults', []],
  ['exporter, http sink', ['exporter-http.yaml']],
  ['exporter, four sinks', ['exporter-multi.yaml']],
  ['exporter, PVC queue', ['exporter-pvc.yaml']],
  ['exporter + monitoring', ['monitoring.yaml']],
];
const runs = Number(process.env.BENCH_RUNS ?? 10);

await helm(['version']); // build/fetch helm before timing
console.log(`helm template, ${runs} runs per scenario (median, min, max in ms; objects; bytes)`);
for (const [label, values] of scenarios) {
  const times: number[] = [];
  let objects = 0;
  let bytes = 0;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const r = await helm(templateArgs(values));
    times.push(performance.now() - t0);
    if (r.code !== 0) throw new Error(`${label}: ${r.stderr}`);
    objects = parseObjects(r.stdout).length;
    bytes = r.stdout.length;
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)]!;
  console.log(`${label.padEnd(24)} ${median.toFixed(0).padStart(5)} ${times[0]!.toFixed(0).padStart(5)} ${times.at(-1)!.toFixed(0).padStart(5)}   ${String(objects).padStart(3)} objects  ${bytes} bytes`);
}
