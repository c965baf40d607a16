// One real cluster at a time on this machine: two clusters (two test files run side by side by tap, or two checkouts)
// each bring a control plane, a kubelet and the chart's pods to 2 cores, and the Service checks then time out.
// The lock is a file holding the owner's pid; a lock whose owner died is taken over.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';

const LOCK = '/tmp/gk-cluster.lock';

function ownerAlive(): boolean {
  let pid: number;
  try {
    pid = Number(readFileSync(LOCK, 'utf8').trim());
  } catch {
    return false;
  }
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Waits (up to waitMs) until no other live process holds the cluster lock, then takes it; returns its release. */
export async function acquireClusterLock(waitMs = 30 * 60_000): Promise<() => void> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      writeFileSync(LOCK, String(process.pid), { flag: 'wx', mode: 0o600 });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    if (!ownerAlive()) {
      rmSync(LOCK, { force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`another cluster still holds ${LOCK} after ${waitMs} ms (pid ${readFileSync(LOCK, 'utf8').trim()})`);
    await new Promise((r) => setTimeout(r, 1000));
  }
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    process.off('exit', release);
    try {
      if (readFileSync(LOCK, 'utf8').trim() === String(process.pid)) rmSync(LOCK, { force: true });
    } catch {
      // already gone
    }
  };
  process.on('exit', release);
  return release;
}
