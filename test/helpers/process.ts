import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

export interface Started {
  child: ChildProcess;
  /** Everything the process wrote so far (stdout and stderr), for diagnostics. */
  output(): string;
  /** Resolves with the exit code (or signal name). */
  exited: Promise<number | string>;
  kill(signal?: NodeJS.Signals): Promise<number | string>;
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of running) c.kill('SIGKILL');
});

/** Spawns a process whose output is captured, and which is killed when the test process exits. */
export function start(cmd: string, args: string[], opts: SpawnOptions = {}): Started {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  running.add(child);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | string>((resolve) =>
    child.on('exit', (code, signal) => {
      running.delete(child);
      resolve(code ?? signal ?? -1);
    }),
  );
  return {
    child,
    output: () => out,
    exited,
    async kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Polls fn until it returns a truthy value (which it returns: never undefined, null or false) or the deadline passes (then throws with the label). */
export async function waitFor<T>(label: string, fn: () => Promise<T> | T, timeoutMs = 30_000, everyMs = 100): Promise<Exclude<T, undefined | null | false>> {
  const until = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as Exclude<T, undefined | null | false>;
    } catch (e) {
      lastErr = e;
    }
    if (Date.now() > until) throw new Error(`timed out waiting for ${label}${lastErr ? `: ${String(lastErr)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Waits until `url` answers 200 (a /readyz), failing at once with the process's output if it exits meanwhile. */
export async function waitReady(label: string, proc: Started, url: string, timeoutMs = 120_000): Promise<void> {
  await waitFor(label, async () => {
    if (proc.child.exitCode !== null) throw new Error(`${label}: the process exited: ${proc.output().slice(-3000)}`);
    const r = await fetch(url).catch(() => undefined);
    await r?.text();
    return r?.status === 200;
  }, timeoutMs, 250);
}
