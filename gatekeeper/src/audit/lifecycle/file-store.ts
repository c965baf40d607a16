// The lifecycle state in a file (`gatekeeper audit --violation-lifecycle-state FILE`): JSON, mode 0600, replaced
// atomically (a temporary file in the same folder, fsynced, then renamed), so a crash leaves the old or the new state,
// never half of one. A file changed since it was read
// (a second audit on the same file) is merged, not overwritten.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import { emptyState, mergeStates, validateState, type LifecycleState } from './state.js';
import type { LifecycleStore } from './store.js';

export class FileLifecycleStore implements LifecycleStore {
  /** The file's text when loaded: a different text at save time means another writer came in between. */
  #loaded: string | undefined;

  constructor(readonly file: string) {}

  get where(): string {
    return `file ${this.file}`;
  }

  async #read(): Promise<string | undefined> {
    try {
      return await readFile(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new Error(`violation lifecycle state ${this.file}: ${(e as Error).message}`);
    }
  }

  #parse(text: string): LifecycleState {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      throw new Error(`violation lifecycle state ${this.file}: not JSON (${(e as Error).message}); move it aside to start afresh`);
    }
    return validateState(value, this.file);
  }

  async load(): Promise<LifecycleState> {
    this.#loaded = await this.#read();
    return this.#loaded === undefined ? emptyState() : this.#parse(this.#loaded);
  }

  async save(state: LifecycleState): Promise<void> {
    const current = await this.#read();
    const next = current !== this.#loaded && current !== undefined ? mergeStates(state, this.#parse(current)) : state;
    const text = JSON.stringify(next) + '\n';
    await this.#write(text);
    this.#loaded = text;
  }

  async #write(text: string): Promise<void> {
    await mkdir(path.dirname(this.file), { recursive: true, mode: 0o700 });
    const tmp = `${this.file}.${randomBytes(6).toString('hex')}.tmp`;
    const fh = await open(tmp, 'wx', 0o600);
    try {
      await fh.writeFile(text);
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      await rename(tmp, this.file);
    } catch (e) {
      await unlink(tmp).catch(() => undefined);
      throw new Error(`violation lifecycle state ${this.file}: ${(e as Error).message}`);
    }
  }
}
