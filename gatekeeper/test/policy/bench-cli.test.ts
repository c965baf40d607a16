// `gatekeeper bench` as `gator bench`: counts, setup phases, worker concurrency, JSON/YAML output, a saved baseline and
// the comparison's verdicts (baselines made extreme on purpose, so no assertion depends on this machine's speed).
import t from 'tap';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { bins } from '../../../test/helpers/peers.js';
import { parseGoDuration } from '../../src/cli/bench.js';
import { constraint, opaPath, pod, sawRego, template, tempDir } from './helpers.js';

function bench(args: string[], cacheDir: string) {
  const r = spawnSync(process.execPath, [bins.gatekeeper, 'bench', ...args, '--opa-path', opaPath, '--cache-dir', cacheDir], { encoding: 'utf8', timeout: 180_000, stdio: ['ignore', 'pipe', 'pipe'] });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

t.test('bench: results, concurrency on workers, baseline save and compare', async (t) => {
  const dir = tempDir(t, 'gk-bench-');
  const cache = tempDir(t, 'gk-cli-cache-');
  const file = path.join(dir, 'policies.yaml');
  const pods = { kinds: [{ apiGroups: [''], kinds: ['Pod'] }] };
  fs.writeFileSync(file, [template('K8sSaw', sawRego('k8ssaw')), constraint('K8sSaw', 'saw', { match: pods }), constraint('K8sNope', 'orphan'), pod('a', 'x'), pod('b', 'x')].map((o) => YAML.stringify(o)).join('---\n'));

  const baseline = path.join(dir, 'baseline.yaml');
  const one = bench(['-f', file, '-n', '50', '--warmup', '2', '-o', 'json', '--save', baseline], cache);
  t.equal(one.code, 0, one.err);
  const [r] = JSON.parse(one.out);
  t.same(
    [r.engine, r.templateCount, r.constraintCount, r.skippedConstraints, r.objectCount, r.iterations, r.concurrency, r.violationCount, r.referentialDataSupported],
    ['rego', 1, 1, ['K8sNope/orphan'], 2, 50, 1, 100, true],
  );
  t.ok(r.latencies.min <= r.latencies.p50 && r.latencies.p50 <= r.latencies.p99 && r.latencies.p99 <= r.latencies.max, 'ordered latencies');
  t.ok(Object.values(r.setupBreakdown).every((v) => Number.isInteger(v)), 'durations in integer nanoseconds');
  t.match(one.err, /Warning: 50 iterations may not provide statistically meaningful P99 metrics/);
  t.same(YAML.parse(fs.readFileSync(baseline, 'utf8'))[0].violationCount, 100, 'the baseline as YAML');

  const workers = bench(['-f', file, '-n', '40', '-c', '2', '-o', 'yaml'], cache);
  t.equal(workers.code, 0, workers.err);
  t.same([YAML.parse(workers.out)[0].concurrency, YAML.parse(workers.out)[0].violationCount], [2, 80]);

  const fast = path.join(dir, 'fast.json');
  fs.writeFileSync(fast, JSON.stringify([{ ...r, latencies: { min: 1, max: 1, mean: 1, p50: 1, p95: 1, p99: 1 }, reviewsPerSecond: 1e12 }]));
  const regressed = bench(['-f', file, '-n', '20', '--compare', fast], cache);
  t.equal(regressed.code, 1, 'slower than a 1 ns baseline: a regression');
  t.match(regressed.out, /=== Baseline Comparison: REGO Engine ===/);
  t.match(regressed.out, /✗ Regressions detected in: P50 Latency, P95 Latency, P99 Latency, Mean Latency, Throughput \(threshold: 10\.0%\)/);
  const tolerated = bench(['-f', file, '-n', '20', '--compare', fast, '--min-threshold', '1h'], cache);
  t.equal(tolerated.code, 0, 'changes under --min-threshold are not regressions');
  t.match(tolerated.out, /✓ No significant regressions \(threshold: 10\.0%\)/);

  t.match(bench(['-f', file, '--compare', path.join(dir, 'missing.json')], cache).err, /baseline file does not exist/);
  t.match(bench([], cache).err, /at least one --filename must be specified/);
  t.match(bench(['-f', file, '-e', 'cel'], cache).err, /argument 'cel' is invalid/);
});

t.test('Go durations for --min-threshold', async (t) => {
  t.equal(parseGoDuration('1ms'), 1e6);
  t.equal(parseGoDuration('1.5s'), 1.5e9);
  t.equal(parseGoDuration('2m30s'), 150e9);
  t.equal(parseGoDuration('500us'), 5e5);
  t.equal(parseGoDuration('0'), 0);
  t.throws(() => parseGoDuration('5'), /invalid duration "5"/);
  t.throws(() => parseGoDuration('1ms junk'), /invalid duration/);
});
