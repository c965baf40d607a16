// The only way into the real cluster's network namespace from the host: a host loopback TCP port → a Unix socket in
// the cluster's private folder → a relay process inside the namespace → the target address there. Each connection
// names its target in a first line ("10.255.0.1:6443\n"), so one relay serves the API server, Kafka and pods alike.
// Bytes pass through untouched: TLS stays end to end.
//
// Run as a program (inside the namespace, through nsenter): `cluster-relay.ts <socket path>`.
import net from 'node:net';
import { chmodSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const MAX_HEADER_BYTES = 256;

/** Inside the namespace: accepts on the Unix socket, reads the target line, connects and pipes both ways. */
function serveInside(socketPath: string): void {
  rmSync(socketPath, { force: true });
  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    let header = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      header = Buffer.concat([header, chunk]);
      const eol = header.indexOf(0x0a);
      if (eol < 0) {
        if (header.length > MAX_HEADER_BYTES) client.destroy();
        return;
      }
      client.off('data', onData);
      client.pause();
      const target = header.subarray(0, eol).toString('utf8');
      const rest = header.subarray(eol + 1);
      const colon = target.lastIndexOf(':');
      const port = Number(target.slice(colon + 1));
      if (colon <= 0 || !Number.isInteger(port) || port <= 0 || port > 65535) {
        client.destroy();
        return;
      }
      const upstream = net.connect({ host: target.slice(0, colon), port, allowHalfOpen: true }, () => {
        if (rest.length) upstream.write(rest);
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
      });
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    };
    client.on('data', onData);
    client.on('error', () => client.destroy());
  });
  server.listen(socketPath, () => {
    chmodSync(socketPath, 0o600);
    process.stdout.write('relay ready\n');
  });
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}

export interface HostForward {
  /** The host loopback port that reaches the target inside the namespace. */
  readonly port: number;
  close(): Promise<void>;
}

/** On the host: listens on 127.0.0.1:port and forwards every connection to `target` through the relay's socket. */
export async function forwardFromHost(socketPath: string, port: number, target: string): Promise<HostForward> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    const upstream = net.connect({ path: socketPath, allowHalfOpen: true }, () => {
      upstream.write(`${target}\n`);
      client.pipe(upstream);
      upstream.pipe(client);
    });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    }
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port, exclusive: true }, resolve);
  });
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const socketPath = process.argv[2];
  if (!socketPath) {
    process.stderr.write('usage: cluster-relay.ts <unix socket path>\n');
    process.exit(2);
  }
  serveInside(socketPath);
}
