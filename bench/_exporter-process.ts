// Starting and measuring an exporter process for the exporter benchmarks: started as shipped (its bin run through the
// interpreter line at its top, as the kernel does for npm's bin link, which carries the exporter's node options), CPU
// time and peak RSS read from /proc.
// env: EXPORTER_BIN (the build measured), BASE_EXPORTER_BIN (another build, e.g. main's, measured in the same run as
// "before"), EXPORTER_NODE_ARGS (node options added to the bin's line: they win over its NODE_OPTIONS), BENCH_DEBUG
// (the exporter's output on stderr).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface Build {
  /** "before" / "after" when two builds are compared, else "". */
  label: string;
  bin: string;
}

/** The builds to measure: EXPORTER_BIN (or this checkout's), preceded by BASE_EXPORTER_BIN when set. */
export function builds(): Build[] {
  const current = process.env['EXPORTER_BIN'] ?? path.join(root, 'exporter/dist/cli/main.js');
  const base = process.env['BASE_EXPORTER_BIN'];
  return base ? [{ label: 'before  ', bin: base }, { label: 'after   ', bin: current }] : [{ label: '', bin: current }];
}

/** CPU time (user + system) the process has used so far, in microseconds, from /proc/<pid>/stat. */
export function cpuMicros(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(f[11]) + Number(f[12]); // utime, stime (fields 14, 15)
  return (ticks * 1e6) / 100; // USER_HZ is 100 on Linux
}

/** CPU time of all the process's threads in nanoseconds (schedstat: finer than the 10 ms ticks of /proc/<pid>/stat). */
export function cpuNanos(pid: number): number {
  let ns = 0;
  for (const t of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(fs.readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // the thread ended in between
    }
  }
  return ns;
}

export function peakRssMb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/**
 * The bin's `#!` line as the kernel runs it: the interpreter, then everything after it as one argument. Extra node
 * options go at the end of that line (made an `env -S` line if it was not one), so node gets them on its command line.
 */
export function interpreterLine(bin: string, extraNodeArgs = ''): { file: string; args: string[] } {
  const first = fs.readFileSync(bin, 'utf8').split('\n')[0]!;
  const m = /^#!\s*(\S+)(?:\s+(.*))?$/.exec(first);
  if (!m) return { file: process.execPath, args: extraNodeArgs.split(' ').filter(Boolean) };
  let line = (m[2] ?? '').trim();
  if (extraNodeArgs.trim()) line = `${line.startsWith('-S ') ? line : `-S ${line}`} ${extraNodeArgs.trim()}`;
  return { file: m[1]!, args: line ? [line] : [] };
}

/** How the running exporter was started: node's command line and the NODE_OPTIONS it got. */
function startedAs(pid: number): string {
  const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  const nodeOptions = fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').find((e) => e.startsWith('NODE_OPTIONS='));
  return `${cmdline.map((a) => (path.relative(root, a).startsWith('..') ? a : path.relative(root, a))).join(' ')}; ${nodeOptions ?? 'NODE_OPTIONS unset'}`;
}

/** The config file written for the exporter: its socket, and whatever else the benchmark sets. */
export type ExporterConfigFile = { socket: string } & Record<string, unknown>;

export interface ExporterProcess {
  child: ChildProcess;
  log: () => string;
}

/** Starts `exporter run` on a config written to dir/config.json; resolves once its socket is there. */
export async function startExporter(bin: string, dir: string, cfg: ExporterConfigFile, extraNodeArgs = process.env['EXPORTER_NODE_ARGS'] ?? ''): Promise<ExporterProcess> {
  const cfgFile = path.join(dir, 'config.json');
  fs.writeFileSync(cfgFile, JSON.stringify(cfg));
  const { file, args } = interpreterLine(bin, extraNodeArgs);
  const child = spawn(file, [...args, bin, 'run', '--config', cfgFile, '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (d: Buffer) => {
    out = (out + d.toString()).slice(-4000);
    if (process.env['BENCH_DEBUG']) process.stderr.write(d);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const log = () => out;
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`exporter exited: ${log()}`);
    if (fs.existsSync(cfg.socket)) {
      console.log(`  exporter: ${startedAs(child.pid!)}`);
      return { child, log };
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  throw new Error(`exporter did not listen: ${log()}`);
}

export async function stopExporter(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const t0 = performance.now();
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(t);
  if (performance.now() - t0 > 2000) console.log(`  (exporter took ${((performance.now() - t0) / 1000).toFixed(1)} s to stop)`);
}
