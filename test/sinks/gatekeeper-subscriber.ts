// Builds (once, cached next to the peers) and starts the Go subscriber in ./gatekeeper-subscriber: a Dapr Go SDK app that
// reads messages the way Gatekeeper's export consumers do, printing one JSON line per message it decoded.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../helpers/ports.js';
import { start, waitFor, type Started } from '../helpers/process.js';

const src = path.join(path.dirname(fileURLToPath(import.meta.url)), 'gatekeeper-subscriber');
const cache = process.env['PEERS_CACHE'] ?? path.join(process.env['XDG_CACHE_HOME'] ?? path.join(os.homedir(), '.cache'), 'gk-exporter/peers');

/** Path of the built subscriber; builds it when the sources changed (about a minute the first time). */
export function gatekeeperSubscriberBinary(): string {
  const hash = createHash('sha256');
  for (const f of ['main.go', 'go.mod', 'go.sum']) hash.update(fs.readFileSync(path.join(src, f)));
  const out = path.join(cache, `gatekeeper-subscriber-${hash.digest('hex').slice(0, 12)}`, 'gatekeeper-subscriber');
  if (!fs.existsSync(out)) {
    fs.mkdirSync(path.dirname(out), { recursive: true });
    execFileSync('go', ['build', '-o', `${out}.tmp`, '.'], {
      cwd: src,
      env: { ...process.env, GOTOOLCHAIN: 'local', CGO_ENABLED: '0', GOFLAGS: '-mod=mod' },
      stdio: ['ignore', 'ignore', 'inherit'],
      timeout: 600_000,
    });
    fs.renameSync(`${out}.tmp`, out);
  }
  return out;
}

export interface GatekeeperMsg {
  cloudEventId: string;
  msg: Record<string, unknown>;
}

export interface GoSubscriber {
  port: number;
  /** Messages decoded so far. */
  messages(): GatekeeperMsg[];
  /** What it could not decode (stderr). */
  errors(): string;
  stop(): Promise<void>;
}

export async function startGatekeeperSubscriber(pubsub: string, topic: string): Promise<GoSubscriber> {
  const bin = gatekeeperSubscriberBinary();
  const port = await freePort();
  let stdout = '';
  let stderr = '';
  const proc: Started = start(bin, [`127.0.0.1:${port}`, pubsub, topic]);
  proc.child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  proc.child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  await waitFor('gatekeeper subscriber listening', async () => {
    if (proc.child.exitCode !== null) throw new Error(`subscriber exited: ${proc.output()}`);
    return (await fetch(`http://127.0.0.1:${port}/dapr/subscribe`)).ok;
  });
  return {
    port,
    messages: () =>
      stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as GatekeeperMsg),
    errors: () => stderr,
    stop: async () => void (await proc.kill()),
  };
}
