// ExpansionTemplates from the cluster (expansion.gatekeeper.sh, Gatekeeper's expansion-template controller): watched,
// validated and held as the expander the webhook and the audit use; each template's status.byPod entry for this pod
// says whether it applies (errors: Gatekeeper's validation message, or "template forms expansion cycle").
import type { Logger } from 'pino';
import { Expander, expanderOf, EXPANSION_GROUP } from '../expansion/expansion.js';
import { resourcePath, type KubeClient, type KubeObject } from './client.js';
import { Informer } from './informer.js';
import { removeByPod, setByPod, updateStatus } from './status.js';

/** Gatekeeper's CRD names the collection in the singular: expansiontemplate.expansion.gatekeeper.sh. */
export const EXPANSION_PLURAL = 'expansiontemplate';
export const EXPANSION_VERSION = 'v1beta1';

export interface ExpansionControllerOptions {
  /** This process's id in status.byPod (the pod name). */
  podId: string;
  operations: string[];
  /** Write status.byPod entries. */
  writeStatus: boolean;
  /** How long start() waits for the first list before going on (default 30 s). */
  initialWaitMs?: number;
  logger: Logger;
}

const templatePath = (name?: string) => resourcePath({ group: EXPANSION_GROUP, version: EXPANSION_VERSION, plural: EXPANSION_PLURAL, ...(name ? { name } : {}) });

export class ExpansionController {
  private informer: Informer | undefined;
  private current = new Expander([]);
  /** Per template: the byPod entry last written (JSON), so an unchanged one is not written again. */
  private readonly written = new Map<string, string>();
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly client: KubeClient,
    private readonly opts: ExpansionControllerOptions,
  ) {}

  /** The ExpansionTemplates in force. */
  get expander(): Expander {
    return this.current;
  }

  async start(): Promise<void> {
    const rebuild = () => {
      this.chain = this.chain.then(() => this.rebuild()).catch((e) => this.opts.logger.error({ err: (e as Error).message }, 'ExpansionTemplates: status not written'));
    };
    this.informer = new Informer(this.client, { path: templatePath(), logger: this.opts.logger }, { add: rebuild, update: rebuild, delete: rebuild }).start();
    // Without the CRD the process still starts; the informer keeps retrying in the background.
    const waitMs = this.opts.initialWaitMs ?? 30_000;
    const loaded = this.informer.synced.then(() => this.chain).then(() => true);
    const done = await Promise.race([loaded, new Promise<false>((r) => setTimeout(() => r(false), waitMs).unref())]);
    if (!done) this.opts.logger.warn({ waitMs }, 'ExpansionTemplates not loaded yet (is the ExpansionTemplate CRD installed?); going on without them');
  }

  /** Stops watching; then, as a replica that goes away, withdraws its status.byPod entries (as the policy controller does). */
  async stop(): Promise<void> {
    await this.informer?.stop();
    await this.chain;
    if (!this.opts.writeStatus) return;
    for (const name of this.written.keys()) {
      // Few attempts: a stopping process must not linger on an unreachable API server.
      await updateStatus(this.client, templatePath(name), (status) => removeByPod(status, this.opts.podId), 3).catch((e) =>
        this.opts.logger.warn({ expansionTemplate: name, err: (e as Error).message }, 'could not remove this pod from status.byPod'),
      );
    }
  }

  private async rebuild(): Promise<void> {
    const objects = this.informer?.list() ?? [];
    const errors = new Map<string, string>();
    this.current = expanderOf(objects, (name, message) => errors.set(name, message));
    for (const [name, message] of errors) this.opts.logger.error({ expansionTemplate: name, err: message }, 'ExpansionTemplate not applied');
    this.opts.logger.info({ templates: this.current.size, errors: errors.size }, 'ExpansionTemplates loaded');
    if (!this.opts.writeStatus) return;
    const present = new Set<string>();
    for (const obj of objects) {
      const name = obj.metadata.name;
      present.add(name);
      await this.writeStatus(obj, errors.get(name));
    }
    for (const name of [...this.written.keys()]) if (!present.has(name)) this.written.delete(name);
  }

  private async writeStatus(obj: KubeObject, error: string | undefined): Promise<void> {
    const entry = {
      id: this.opts.podId,
      ...(obj.metadata.uid ? { templateUID: obj.metadata.uid } : {}),
      operations: this.opts.operations,
      ...(obj.metadata.generation !== undefined ? { observedGeneration: obj.metadata.generation } : {}),
      ...(error ? { errors: [{ message: error }] } : {}),
    };
    const text = JSON.stringify(entry);
    const name = obj.metadata.name;
    if (this.written.get(name) === text) return;
    await updateStatus(this.client, templatePath(name), (status) => setByPod(status, entry as Parameters<typeof setByPod>[1]));
    this.written.set(name, text);
  }
}
