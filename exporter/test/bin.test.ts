// The built bin as npm links it: its first line's node options apply, a user's NODE_OPTIONS composes with them and wins;
// a running exporter loads only the client libraries of the sink types its config uses.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { bins } from '../../test/helpers/peers.js';
import { shortDir } from './helpers/exporter.js';

const srcMain = path.join(import.meta.dirname, '../src/cli/main.ts');
const firstLine = (file: string) => fs.readFileSync(file, 'utf8').split('\n')[0]!;

/**
 * Runs the bin itself (the kernel reads its first line, as for npm's bin link) with `probe` preloaded through the
 * user's NODE_OPTIONS; the probe prints one JSON line and exits before the command runs, unless it waits for `socket`.
 */
function runBin(t: Test, probe: string, opts: { nodeOptions?: string; args?: string[]; env?: Record<string, string> } = {}) {
  const dir = shortDir(t);
  const probeFile = path.join(dir, 'probe.mjs');
  fs.writeFileSync(probeFile, probe);
  const r = spawnSync(bins.exporter, opts.args ?? ['--help'], {
    env: { ...process.env, ...opts.env, NODE_OPTIONS: `--import=${probeFile}${opts.nodeOptions ? ` ${opts.nodeOptions}` : ''}` },
    encoding: 'utf8',
    timeout: 30_000,
  });
  t.equal(r.status, 0, `the bin ran: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
}

// Keeps allocating long-lived objects until V8 has grown its young generation to the maximum, then reports that size in
// whole MB: Node 24 at times reports a quarter MB more for a moment (seen: 4.25 for 4; a Node 24 CI run failed this check,
// probably on that), while the sizes the options give differ by powers of two.
const youngGenProbe = `
import v8 from 'node:v8';
const keep = [];
for (let i = 0; i < 1000000; i++) keep.push({ i, s: 'x' + i });
const mb = Math.floor(v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size / 1048576);
process.stdout.write(JSON.stringify({ youngGenMB: mb, nodeOptions: process.env.NODE_OPTIONS }) + '\\n');
process.exit(0);
`;

t.test('tsc keeps the first line: the bin carries its node options', async (t) => {
  const line = firstLine(srcMain);
  t.match(line, /^#!\/usr\/bin\/env -S NODE_OPTIONS="--max-semi-space-size=\d+ .*\$\{NODE_OPTIONS\}" node$/);
  t.equal(firstLine(bins.exporter), line, 'dist/cli/main.js starts with the same line');
});

t.test("the bin's node options apply; the user's NODE_OPTIONS composes with them and wins", async (t) => {
  const shipped = runBin(t, youngGenProbe);
  t.equal(shipped['youngGenMB'], 16, '--max-semi-space-size=8: a 16 MB young generation (node 20 default: 32 MB)');
  t.match(String(shipped['nodeOptions']), /^--max-semi-space-size=8 .*--import=/, "the user's options come after the bin's (the probe ran)");
  const user = runBin(t, youngGenProbe, { nodeOptions: '--max-semi-space-size=2' });
  t.equal(user['youngGenMB'], 4, "the user's --max-semi-space-size=2 wins");
});

// Waits for the exporter to listen, then reports which packages it has loaded.
const loadedProbe = `
import fs from 'node:fs';
import { createRequire } from 'node:module';
const cache = createRequire(import.meta.url).cache;
const timer = setInterval(() => {
  if (!fs.existsSync(process.env.PROBE_SOCKET)) return;
  clearInterval(timer);
  const pkgs = new Set(Object.keys(cache).map((f) => /node_modules\\/((?:@[^/]+\\/)?[^/]+)/.exec(f)?.[1]).filter(Boolean));
  process.stdout.write(JSON.stringify({ packages: [...pkgs].sort() }) + '\\n');
  process.exit(0);
}, 20);
`;

t.test('only the client libraries of the configured sink types are loaded', async (t) => {
  const cases: [string, object, string[], string[]][] = [
    // @platformatic/kafka (the Kafka sink's default transport) is ESM, outside require.cache: fastq, its CommonJS
    // dependency, shows it loaded.
    ['file', { type: 'file', path: 'out.ndjson' }, ['better-sqlite3', 'pino'], ['undici', 'kafkajs', 'fastq', 'yaml']],
    ['http', { type: 'http', url: 'http://127.0.0.1:9/x' }, ['undici'], ['kafkajs', 'fastq']],
    ['kafka', { type: 'kafka', brokers: ['127.0.0.1:9'], topic: 't' }, ['fastq'], ['undici', 'kafkajs']],
  ];
  for (const [type, sink, loaded, notLoaded] of cases) {
    const dir = shortDir(t);
    const socket = path.join(dir, 's.sock');
    const cfg = path.join(dir, 'config.json');
    const s = { name: 'one', ...sink, ...('path' in sink ? { path: path.join(dir, 'out.ndjson') } : {}) };
    fs.writeFileSync(cfg, JSON.stringify({ socket, queue: { path: path.join(dir, 'q.db') }, sinks: [s] }));
    const r = runBin(t, loadedProbe, { args: ['run', '--config', cfg, '--log-level', 'silent'], env: { PROBE_SOCKET: socket } });
    const packages = r['packages'] as string[];
    for (const p of loaded) t.ok(packages.includes(p), `${type} sink: ${p} loaded`);
    for (const p of notLoaded) t.notOk(packages.includes(p), `${type} sink: ${p} not loaded`);
  }
});

// npm ci links bins before the build has made them, so the build links them again (npm rebuild): after it both
// commands resolve with npx from the repository root, as the README says.
t.test('after the build, npx resolves both bins from the repository root', async (t) => {
  const root = path.join(import.meta.dirname, '../..');
  for (const bin of ['exporter', 'gatekeeper']) {
    const r = spawnSync('npx', ['--no-install', bin, '--help'], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    t.equal(r.status, 0, `npx ${bin} --help: ${r.stderr}`);
    t.match(r.stdout, /^Usage: /m, `npx ${bin} prints its usage`);
  }
});
