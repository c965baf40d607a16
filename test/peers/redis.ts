// A real redis-server on a free loopback port (the store behind Dapr's pubsub.redis in the tests), no persistence.
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../helpers/ports.js';
import { peerPath } from '../helpers/peers.js';
import { start, waitFor } from '../helpers/process.js';

export interface RedisServer {
  /** "127.0.0.1:<port>" */
  readonly address: string;
  stop(): Promise<void>;
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.setTimeout(1000);
    s.on('connect', () => s.write('PING\r\n'));
    s.on('data', (d) => {
      s.destroy();
      resolve(d.toString().startsWith('+PONG'));
    });
    s.on('error', () => resolve(false));
    s.on('timeout', () => {
      s.destroy();
      resolve(false);
    });
  });
}

export async function startRedis(): Promise<RedisServer> {
  const bin = peerPath('redis');
  const dir = mkdtempSync(path.join(tmpdir(), 'redis-'));
  const port = await freePort();
  const proc = start(bin, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--protected-mode', 'no']);
  await waitFor(`redis on ${port}`, async () => {
    if (proc.child.exitCode !== null) throw new Error(`redis exited: ${proc.output()}`);
    return ping(port);
  });
  return {
    address: `127.0.0.1:${port}`,
    async stop() {
      await proc.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Whether a RESP reply is complete: simple replies end at their first CRLF, a bulk string after its announced length. */
function replyComplete(out: string): boolean {
  const head = out.indexOf('\r\n');
  if (head < 0) return false;
  if (out[0] !== '$') return true;
  const len = Number(out.slice(1, head));
  return len < 0 || Buffer.byteLength(out) >= Buffer.byteLength(out.slice(0, head)) + 2 + len + 2;
}

/** Sends one command (RESP array of bulk strings) and returns the raw reply text (simple, error, integer or bulk replies). */
export function redisCommand(address: string, ...args: string[]): Promise<string> {
  const [host, port] = address.split(':') as [string, string];
  const payload = `*${args.length}\r\n` + args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('');
  return new Promise((resolve, reject) => {
    const s = net.connect(Number(port), host);
    let out = '';
    s.setTimeout(5000);
    s.on('connect', () => s.write(payload));
    s.on('data', (d) => {
      out += d.toString();
      if (replyComplete(out)) {
        s.destroy();
        resolve(out);
      }
    });
    s.on('error', reject);
    s.on('timeout', () => {
      s.destroy();
      reject(new Error(`redis ${args[0]}: timeout`));
    });
  });
}
