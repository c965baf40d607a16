// Compiles template Rego to wasm with the real `opa build -t wasm`, as child processes (a bounded number at a time, so
// the event loop never waits on a compile), and caches the result by content hash in memory and on disk: a restart
// with unchanged templates runs opa zero times.
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type { Logger } from 'pino';
import type { ParsedTemplate } from './template.js';

const execFileP = promisify(execFile);
const gunzip = promisify(zlib.gunzip);

export interface CompilerOptions {
  opaPath: string;
  cacheDir: string;
  /** Parallel opa processes; default: the number of CPUs. */
  concurrency?: number;
  /** Kill an opa build that runs longer than this; default 60 s. */
  timeoutMs?: number;
  logger?: Logger;
}

export interface CompiledTemplate {
  module: WebAssembly.Module;
  entrypoint: string;
  hash: string;
  fromCache: 'memory' | 'disk' | 'none';
}

export class CompileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CompileError';
  }
}

export class OpaCompiler {
  private readonly memory = new Map<string, Promise<WebAssembly.Module>>();
  private readonly waiting: Array<() => void> = [];
  private running = 0;
  private opaVersion?: Promise<string>;
  readonly stats = { opaRuns: 0, diskHits: 0, memoryHits: 0 };

  constructor(private readonly opts: CompilerOptions) {}

  private version(): Promise<string> {
    this.opaVersion ??= execFileP(this.opts.opaPath, ['version']).then(
      (r) => r.stdout.split('\n')[0]!.trim(),
      (e: Error) => {
        this.opaVersion = undefined;
        throw new CompileError(`running ${this.opts.opaPath} version failed: ${e.message}`);
      },
    );
    return this.opaVersion;
  }

  static entrypoint(t: ParsedTemplate): string {
    return `${t.packageName.replaceAll('.', '/')}/violation`;
  }

  async compile(t: ParsedTemplate): Promise<CompiledTemplate> {
    if (!t.modules.length) throw new CompileError(`template ${t.name}: no Rego source to compile`);
    const entrypoint = OpaCompiler.entrypoint(t);
    const h = crypto.createHash('sha256');
    h.update(`${await this.version()}\0${t.regoVersion}\0${entrypoint}\0`);
    for (const m of t.modules) h.update(`${m.file}\0${m.source}\0`);
    const hash = h.digest('hex');

    let fromCache: CompiledTemplate['fromCache'] = 'memory';
    let pending = this.memory.get(hash);
    if (pending) this.stats.memoryHits++;
    else {
      fromCache = 'none';
      pending = this.load(t, hash, entrypoint).then((r) => {
        if (r.disk) fromCache = 'disk';
        return r.module;
      });
      this.memory.set(hash, pending);
      pending.catch(() => this.memory.delete(hash));
    }
    return { module: await pending, entrypoint, hash, fromCache };
  }

  private async load(t: ParsedTemplate, hash: string, entrypoint: string): Promise<{ module: WebAssembly.Module; disk: boolean }> {
    const file = path.join(this.opts.cacheDir, `${hash}.wasm`);
    try {
      const bytes = await fs.readFile(file);
      const module = await WebAssembly.compile(bytes);
      this.stats.diskHits++;
      return { module, disk: true };
    } catch {
      // not cached (or unreadable): build it
    }
    const bytes = await this.limited(() => this.build(t, entrypoint));
    const module = await WebAssembly.compile(bytes);
    try {
      await fs.mkdir(this.opts.cacheDir, { recursive: true });
      const tmp = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
      await fs.writeFile(tmp, bytes);
      await fs.rename(tmp, file);
    } catch (e) {
      this.opts.logger?.warn({ err: e, cacheDir: this.opts.cacheDir }, 'could not write the wasm cache');
    }
    return { module, disk: false };
  }

  private async limited<T>(fn: () => Promise<T>): Promise<T> {
    const max = this.opts.concurrency ?? Math.max(1, os.availableParallelism());
    while (this.running >= max) await new Promise<void>((r) => this.waiting.push(r));
    this.running++;
    try {
      return await fn();
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }

  private async build(t: ParsedTemplate, entrypoint: string): Promise<Buffer> {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), `gk-opa-${t.name}-`));
    try {
      for (const m of t.modules) await fs.writeFile(path.join(dir, m.file), m.source);
      const args = ['build', '-t', 'wasm', '-e', entrypoint, '-o', 'bundle.tar.gz'];
      if (t.regoVersion === 'v0') args.push('--v0-compatible');
      args.push(...t.modules.map((m) => m.file));
      this.stats.opaRuns++;
      const started = Date.now();
      try {
        await execFileP(this.opts.opaPath, args, { cwd: dir, timeout: this.opts.timeoutMs ?? 60_000, maxBuffer: 4 << 20 });
      } catch (e) {
        const err = e as Error & { stdout?: string; stderr?: string; killed?: boolean };
        const output = `${err.stdout ?? ''}\n${err.stderr ?? ''}`.trim();
        const detail = err.killed ? `opa build timed out after ${this.opts.timeoutMs ?? 60_000} ms` : output || err.message;
        throw new CompileError(`template ${t.name}: ${detail.replaceAll(dir + path.sep, '')}`);
      }
      this.opts.logger?.debug({ template: t.name, ms: Date.now() - started }, 'compiled template');
      const wasm = extractFromTar(await gunzip(await fs.readFile(path.join(dir, 'bundle.tar.gz'))), 'policy.wasm');
      if (!wasm) throw new CompileError(`template ${t.name}: opa build produced no policy.wasm`);
      return wasm;
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  }
}

/** The content of one file of an (uncompressed) tar archive. */
export function extractFromTar(tar: Buffer, name: string): Buffer | undefined {
  let off = 0;
  while (off + 512 <= tar.length) {
    const header = tar.subarray(off, off + 512);
    if (header.every((b) => b === 0)) return undefined;
    const field = (start: number, len: number) => header.subarray(start, start + len).toString('utf8').replace(/\0.*$/s, '');
    const prefix = field(345, 155);
    const entry = (prefix ? prefix + '/' : '') + field(0, 100);
    const size = parseInt(field(124, 12).trim() || '0', 8);
    const body = off + 512;
    if (entry.replace(/^\.?\//, '') === name) return tar.subarray(body, body + size);
    off = body + Math.ceil(size / 512) * 512;
  }
  return undefined;
}
