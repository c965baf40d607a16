// Listening on the Unix socket: parent directory created, mode applied, a stale socket file replaced only when nothing
// listens on it.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export class SocketInUseError extends Error {}

async function somethingListens(file: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(file);
    const done = (v: boolean) => {
      c.destroy();
      resolve(v);
    };
    c.once('connect', () => done(true));
    c.once('error', () => done(false));
    setTimeout(() => done(false), 2000).unref();
  });
}

export async function listenUnix(server: net.Server, file: string, mode: number): Promise<void> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  let st: fs.Stats | undefined;
  try {
    st = fs.lstatSync(file);
  } catch {
    st = undefined;
  }
  if (st) {
    if (!st.isSocket()) throw new SocketInUseError(`${file} exists and is not a socket: refusing to replace it`);
    if (await somethingListens(file)) throw new SocketInUseError(`another process is listening on ${file}: refusing to start`);
    fs.rmSync(file, { force: true });
  }
  // The umask keeps the socket from ever being more open than `mode`, even before the chmod below.
  const oldMask = process.umask(~mode & 0o777);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(file, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } finally {
    process.umask(oldMask);
  }
  fs.chmodSync(file, mode);
}
