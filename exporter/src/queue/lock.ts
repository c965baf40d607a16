// A pid lock file next to the queue: refuses a second exporter on the same queue, replaces a stale lock.
import fs from 'node:fs';
import { PRIVATE_FILE_MODE } from './db.js';
import { processAlive } from '../os/pid.js';

export class QueueLockedError extends Error {}

export function takeLock(file: string): void {
  for (let i = 0; i < 2; i++) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: 'wx', mode: PRIVATE_FILE_MODE });
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number(fs.readFileSync(file, 'utf8').trim());
      if (pid && pid !== process.pid && processAlive(pid)) {
        throw new QueueLockedError(`the queue ${file.replace(/\.lock$/, '')} is in use by another exporter (pid ${pid}, lock file ${file})`);
      }
      fs.rmSync(file, { force: true });
    }
  }
  throw new QueueLockedError(`could not take the lock ${file}`);
}

export function releaseLock(file: string): void {
  try {
    if (fs.readFileSync(file, 'utf8').trim() === String(process.pid)) fs.rmSync(file, { force: true });
  } catch {
    // already gone
  }
}
