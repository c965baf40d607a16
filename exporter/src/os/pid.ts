// Whether a process id (from a lock file) still names a live process: the queue's lock and the engine's spill lock.

/** true when the process exists, including one this user may not signal (EPERM). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
