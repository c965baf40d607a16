import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

// Ports handed to peers (Kafka, daprd, kube-apiserver...) are bound by another process some time later. Two things can
// take such a port in between: another test file asking for a port at the same moment, and any outbound connection
// of the machine picking it as its ephemeral source port. So ports come from below the kernel's ephemeral range, and
// each one is reserved across processes by a marker file created exclusively (stale markers expire).
const RESERVATIONS = path.join(os.tmpdir(), 'gk-exporter-test-ports');
const RESERVATION_TTL_MS = 30 * 60_000;
const LOW = 20_000;

function ephemeralStart(): number {
  try {
    const [start] = fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (start && start > LOW + 1000) return start;
  } catch {
    // not Linux: fall through
  }
  return 32_768;
}

function reserve(port: number): boolean {
  fs.mkdirSync(RESERVATIONS, { recursive: true });
  const marker = path.join(RESERVATIONS, String(port));
  try {
    fs.writeFileSync(marker, String(process.pid), { flag: 'wx' });
    return true;
  } catch {
    try {
      if (Date.now() - fs.statSync(marker).mtimeMs < RESERVATION_TTL_MS) return false;
      fs.writeFileSync(marker, String(process.pid));
      return true;
    } catch {
      return false;
    }
  }
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host: '127.0.0.1', exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** A TCP port on 127.0.0.1 that is free, outside the ephemeral range, and reserved for this test run. */
export async function freePort(): Promise<number> {
  const high = ephemeralStart();
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = LOW + Math.floor(Math.random() * (high - LOW));
    if (!reserve(port)) continue;
    if (await bindable(port)) return port;
  }
  throw new Error(`no free port found between ${LOW} and ${high} after 200 attempts`);
}
