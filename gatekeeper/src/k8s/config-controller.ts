// The Config resource (config.gatekeeper.sh/v1alpha1, by default gatekeeper-system/config), as Gatekeeper reads it:
// spec.sync.syncOnly replicates those kinds into the engine's data.inventory (watch based, for referential templates),
// spec.match[].excludedNamespaces leaves namespaces out of the listed processes (audit, webhook, sync, or *).
import type { Logger } from 'pino';
import { NamespaceExemptions } from '../webhook/namespaces.js';
import { resourcePath, type KubeClient, type KubeObject } from './client.js';
import { CONFIG_GROUP } from './crds.js';
import { resolveKind, type ApiResource } from './discovery.js';
import { Informer } from './informer.js';
import type { PolicyTarget } from './policy-mirror.js';

export interface GVK {
  group: string;
  version: string;
  kind: string;
}

export interface ConfigControllerOptions {
  /** The engine, or the mirror that also feeds the evaluation workers. */
  engine: PolicyTarget;
  namespace: string;
  /** Name of the Config object (default "config", as Gatekeeper). */
  name?: string;
  /** Called with the patterns excluded from a process whenever the Config changes. */
  /** Retry period for synced kinds the API server does not serve yet (default 10 s). */
  syncRetryMs?: number;
  /** How long start() waits for the Config and its synced kinds before going on (default 30 s). */
  initialWaitMs?: number;
  onExclusions?: (byProcess: { webhook: string[]; audit: string[]; sync: string[] }) => void;
  logger: Logger;
}

const gvkKey = (g: GVK) => `${g.group}/${g.version}/${g.kind}`;

interface SyncedKind {
  gvk: GVK;
  resource: ApiResource;
  informer: Informer;
}

export class ConfigController {
  private informer: Informer | undefined;
  private readonly synced = new Map<string, SyncedKind>();
  private syncExclusions = new NamespaceExemptions([]);
  private exclusions = { webhook: [] as string[], audit: [] as string[], sync: [] as string[] };
  private chain: Promise<void> = Promise.resolve();
  private retry: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly client: KubeClient,
    private readonly opts: ConfigControllerOptions,
  ) {}

  get excluded(): { webhook: string[]; audit: string[]; sync: string[] } {
    return this.exclusions;
  }

  /** The kinds replicated into data.inventory, with the objects cached from their watches (audit --audit-from-cache). */
  syncedResources(): Array<{ resource: ApiResource; objects: KubeObject[] }> {
    const out: Array<{ resource: ApiResource; objects: KubeObject[] }> = [];
    for (const s of this.synced.values()) out.push({ resource: s.resource, objects: s.informer.list() });
    return out;
  }

  async start(): Promise<void> {
    const name = this.opts.name ?? 'config';
    this.informer = new Informer(
      this.client,
      {
        path: resourcePath({ group: CONFIG_GROUP, version: 'v1alpha1', plural: 'configs', namespace: this.opts.namespace }),
        fieldSelector: `metadata.name=${name}`,
        logger: this.opts.logger,
      },
      {
        add: (c) => this.serialize(() => this.apply(c)),
        update: (c) => this.serialize(() => this.apply(c)),
        delete: () => this.serialize(() => this.apply(undefined)),
      },
    ).start();
    // Without the Config CRD (or the object) the process still starts: the informer keeps retrying in the background.
    const waitMs = this.opts.initialWaitMs ?? 30_000;
    const loaded = (async () => {
      await this.informer!.synced;
      await this.chain;
      await Promise.all([...this.synced.values()].map((s) => s.informer.synced));
      return true;
    })();
    const done = await Promise.race([loaded, new Promise<false>((r) => setTimeout(() => r(false), waitMs).unref())]);
    if (!done) this.opts.logger.warn({ waitMs }, 'Config not loaded yet (is the Config CRD installed?); going on without it');
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    await this.informer?.stop();
    await Promise.all([...this.synced.values()].map((s) => s.informer.stop()));
  }

  private serialize(fn: () => Promise<void>): Promise<void> {
    this.chain = this.chain.then(fn).catch((e) => this.opts.logger.error({ err: (e as Error).message }, 'applying the Config failed'));
    return this.chain;
  }

  private async apply(config: KubeObject | undefined): Promise<void> {
    const spec = config?.spec ?? {};
    const byProcess = { webhook: [] as string[], audit: [] as string[], sync: [] as string[] };
    for (const m of Array.isArray(spec.match) ? spec.match : []) {
      const namespaces: string[] = Array.isArray(m?.excludedNamespaces) ? m.excludedNamespaces.filter((n: unknown) => typeof n === 'string') : [];
      const processes: string[] = Array.isArray(m?.processes) && m.processes.length ? m.processes : ['*'];
      for (const p of processes) {
        for (const target of p === '*' ? (['webhook', 'audit', 'sync'] as const) : ([p] as const)) {
          if (target in byProcess) byProcess[target as keyof typeof byProcess].push(...namespaces);
        }
      }
    }
    try {
      this.syncExclusions = new NamespaceExemptions(byProcess.sync);
    } catch (e) {
      this.opts.logger.error({ err: (e as Error).message }, 'Config spec.match: bad namespace pattern');
      return;
    }
    const syncChanged = JSON.stringify(byProcess.sync) !== JSON.stringify(this.exclusions.sync);
    this.exclusions = byProcess;
    this.opts.onExclusions?.(byProcess);

    const wanted = new Map<string, GVK>();
    for (const e of Array.isArray(spec.sync?.syncOnly) ? spec.sync.syncOnly : []) {
      if (!e?.kind || !e?.version) {
        this.opts.logger.error({ entry: e }, 'Config spec.sync.syncOnly entry needs version and kind; skipped');
        continue;
      }
      const g = { group: e.group ?? '', version: e.version, kind: e.kind };
      wanted.set(gvkKey(g), g);
    }
    for (const [key, s] of [...this.synced]) {
      if (wanted.has(key) && !syncChanged) continue;
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
        this.opts.logger.error({ kind: key }, 'Config spec.sync.syncOnly: the API server does not serve this kind (yet); retrying');
        continue;
      }
      this.synced.set(key, { gvk, resource, informer: this.syncInformer(resource) });
      this.opts.logger.info({ kind: key }, 'syncing into data.inventory');
    }
    // A kind whose CRD is installed after the Config: look again later (the latest Config wins).
    clearTimeout(this.retry);
    if (unresolved && !this.stopped) {
      this.retry = setTimeout(() => void this.serialize(() => this.apply(this.informer?.list()[0])), this.opts.syncRetryMs ?? 10_000);
      this.retry.unref();
    }
  }

  private syncInformer(r: ApiResource): Informer {
    const engine = this.opts.engine;
    const included = (o: KubeObject) => !o.metadata.namespace || !this.syncExclusions.isExempt(o.metadata.namespace);
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
