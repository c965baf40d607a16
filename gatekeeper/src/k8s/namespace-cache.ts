// The Namespaces namespaceSelector needs, as Gatekeeper's webhook reads them: a watched cache of every Namespace
// (independent of the Config's sync list), and on a miss the API server itself (a Namespace created a moment ago may
// not have reached the watch yet). A Namespace that neither has is reported as null: the matcher then autorejects.
import type { Logger } from 'pino';
import type { NamespaceSource } from '../match/match.js';
import { isNotFound, type KubeClient, type KubeObject } from './client.js';
import { Informer } from './informer.js';

export interface NamespaceCacheOptions {
  /** Timeout of the API read on a cache miss (default 5 s). */
  lookupTimeoutMs?: number;
  logger: Logger;
}

export class NamespaceCache implements NamespaceSource {
  private readonly informer: Informer;

  constructor(
    private readonly client: KubeClient,
    private readonly opts: NamespaceCacheOptions,
  ) {
    this.informer = new Informer(client, { path: '/api/v1/namespaces', stamp: { apiVersion: 'v1', kind: 'Namespace' }, logger: opts.logger }, {});
  }

  /** Starts the watch; resolves once the first list is in (or after waitMs: lookups then go to the API). */
  async start(waitMs = 30_000): Promise<void> {
    this.informer.start();
    const synced = await Promise.race([this.informer.synced.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), waitMs).unref())]);
    if (!synced) this.opts.logger.warn({ waitMs }, 'Namespace cache not synced yet; namespaceSelector reads Namespaces from the API meanwhile');
  }

  stop(): Promise<void> {
    return this.informer.stop();
  }

  /** The cached Namespace, without asking the API. */
  cached(name: string): KubeObject | undefined {
    return this.informer.get(name);
  }

  async get(name: string): Promise<Record<string, any> | null> {
    const hit = this.informer.get(name);
    if (hit) return hit;
    try {
      const ns = await this.client.get<KubeObject>(`/api/v1/namespaces/${encodeURIComponent(name)}`, { timeoutMs: this.opts.lookupTimeoutMs ?? 5000 });
      ns.apiVersion = 'v1';
      ns.kind = 'Namespace';
      return ns;
    } catch (e) {
      if (!isNotFound(e)) this.opts.logger.error({ namespace: name, err: (e as Error).message }, 'could not read the Namespace for namespaceSelector');
      return null;
    }
  }
}
