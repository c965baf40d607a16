// What is replicated into data.inventory, as Gatekeeper's cache manager aggregates it: the union of the kinds every
// source asks for (the Config's syncOnly, each SyncSet's gvks). A kind is watched while some source wants it; when the
// last one lets it go its watch stops and its objects leave data.inventory.
import type { Logger } from 'pino';
import { NamespaceExemptions } from '../webhook/namespaces.js';
import { resourcePath, type KubeClient, type KubeObject } from './client.js';
import { resolveKind, type ApiResource } from './discovery.js';
import { Informer } from './informer.js';
import type { PolicyTarget } from './policy-mirror.js';

export interface GVK {
  group: string;
  version: string;
  kind: string;
}

export interface SyncWatchesOptions {
  engine: PolicyTarget;
  /** Retry period for kinds the API server does not serve yet (default 10 s). */
  retryMs?: number;
  logger: Logger;
}

const gvkKey = (g: GVK) => `${g.group}/${g.version}/${g.kind}`;

interface SyncedKind {
  gvk: GVK;
  resource: ApiResource;
  informer: Informer;
}

/** The valid entries of a list of {group, version, kind} (syncOnly, a SyncSet's gvks); the others are logged. */
export function gvkList(entries: unknown, where: string, logger: Logger): GVK[] {
  const out: GVK[] = [];
  for (const e of Array.isArray(entries) ? (entries as Array<Record<string, unknown>>) : []) {
    if (!e || typeof e.kind !== 'string' || !e.kind || typeof e.version !== 'string' || !e.version) {
      logger.error({ entry: e }, `${where} entry needs version and kind; skipped`);
      continue;
    }
    out.push({ group: typeof e.group === 'string' ? e.group : '', version: e.version, kind: e.kind });
  }
  return out;
}

export class SyncWatches {
  private readonly sources = new Map<string, GVK[]>();
  private readonly synced = new Map<string, SyncedKind>();
  private exclusions = new NamespaceExemptions([]);
  private exclusionPatterns = '[]';
  private chain: Promise<void> = Promise.resolve();
  private retry: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly client: KubeClient,
    private readonly opts: SyncWatchesOptions,
  ) {}

  /** Sets what one source (e.g. "config", "syncset:name") asks to sync; resolves once the watches follow. */
  setSource(source: string, gvks: GVK[]): Promise<void> {
    this.sources.set(source, gvks);
    return this.reconcileSoon();
  }

  removeSource(source: string): Promise<void> {
    this.sources.delete(source);
    return this.reconcileSoon();
  }

  /** The Config's namespaces excluded from sync: a change re-lists every kind with the new exclusions. */
  setExclusions(patterns: string[]): Promise<void> {
    const text = JSON.stringify(patterns);
    if (text === this.exclusionPatterns) return this.chain;
    this.exclusions = new NamespaceExemptions(patterns);
    this.exclusionPatterns = text;
    return this.reconcileSoon(true);
  }

  /** Resolves once every watched kind has been listed. */
  async whenSynced(): Promise<void> {
    await this.chain;
    await Promise.all([...this.synced.values()].map((s) => s.informer.synced));
  }

  /** The kinds replicated into data.inventory, with their cached objects (audit --audit-from-cache). */
  resources(): Array<{ resource: ApiResource; objects: KubeObject[] }> {
    return [...this.synced.values()].map((s) => ({ resource: s.resource, objects: s.informer.list() }));
  }

  /** The kinds some source wants (union), for tests and logs. */
  wanted(): string[] {
    return [...this.union().keys()].sort();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    await this.chain;
    await Promise.all([...this.synced.values()].map((s) => s.informer.stop()));
  }

  private union(): Map<string, GVK> {
    const wanted = new Map<string, GVK>();
    for (const gvks of this.sources.values()) for (const g of gvks) wanted.set(gvkKey(g), g);
    return wanted;
  }

  private reconcileSoon(restartAll = false): Promise<void> {
    this.chain = this.chain.then(() => this.reconcile(restartAll)).catch((e) => this.opts.logger.error({ err: (e as Error).message }, 'updating the synced kinds failed'));
    return this.chain;
  }

  private async reconcile(restartAll: boolean): Promise<void> {
    if (this.stopped) return;
    const wanted = this.union();
    for (const [key, s] of [...this.synced]) {
      if (wanted.has(key) && !restartAll) continue;
      await s.informer.stop();
      for (const o of s.informer.list()) this.opts.engine.removeInventory(o);
      this.synced.delete(key);
      this.opts.logger.info({ kind: key }, 'stopped syncing');
    }
    let unresolved = 0;
    for (const [key, gvk] of wanted) {
      if (this.synced.has(key)) continue;
      const resource = await resolveKind(this.client, gvk);
      if (!resource) {
        unresolved++;
        this.opts.logger.error({ kind: key }, 'sync: the API server does not serve this kind (yet); retrying');
        continue;
      }
      this.synced.set(key, { gvk, resource, informer: this.informerFor(resource) });
      this.opts.logger.info({ kind: key }, 'syncing into data.inventory');
    }
    // A kind whose CRD is installed later: look again.
    clearTimeout(this.retry);
    if (unresolved && !this.stopped) {
      this.retry = setTimeout(() => void this.reconcileSoon(), this.opts.retryMs ?? 10_000);
      this.retry.unref();
    }
  }

  private informerFor(r: ApiResource): Informer {
    const engine = this.opts.engine;
    const included = (o: KubeObject) => !o.metadata.namespace || !this.exclusions.isExempt(o.metadata.namespace);
    return new Informer(
      this.client,
      { path: resourcePath({ group: r.group, version: r.version, plural: r.plural }), stamp: { apiVersion: r.groupVersion, kind: r.kind }, logger: this.opts.logger },
      {
        add: (o) => {
          if (included(o)) engine.addInventory(o);
        },
        update: (o) => {
          if (included(o)) engine.addInventory(o);
        },
        delete: (o) => engine.removeInventory(o),
      },
    ).start();
  }
}
