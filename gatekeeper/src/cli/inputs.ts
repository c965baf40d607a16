// The objects the gator-like commands (test, expand, sync test) read: files and folders, then standard input.
import { loadObjects, readStdinObjects, type LoadedObject } from '../policy/load.js';

/** Every object of the paths and of standard input; a read problem is reported as gator words it. */
export async function readInputs(paths: string[]): Promise<LoadedObject[]> {
  try {
    return [...(await loadObjects(paths)), ...readStdinObjects()];
  } catch (e) {
    throw new Error(`reading: ${(e as Error).message}`);
  }
}
