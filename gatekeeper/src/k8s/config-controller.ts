// The Config resource (config.gatekeeper.sh/v1alpha1, by default gatekeeper-system/config), as Gatekeeper reads it:
// spec.sync.syncOnly replicates those kinds into the engine's data.inventory (watch based, for referential templates),
// spec.match[].excludedNamespaces leaves namespaces out of the listed processes (audit, webhook, sync, or *).
import type { Logger } from 'pino';
import { NamespaceExemptions } from '../webhook/namespaces.js';
import { resourcePath, type KubeClient, type KubeObject } from './client.js';
import { CONFIG_GROUP } from './crds.js';
import type { ApiResource } from './discovery.js';
import { Informer } from './informer.js';
import type { PolicyTarget } from './policy-mirror.js';
import { gvkList, SyncWatches, type GVK } from './sync-watches.js';

export type { GVK };

export interface ConfigControllerOptions {
  /** The engine, or the mirror that also feeds the evaluation workers. */
  engine: PolicyTarget;
  namespace: string;
  /** Name of the Config object (default "config", as Gatekeeper). */
  name?: string;
  /** Retry period for synced kinds the API server does not serve yet (default 10 s). */
  syncRetryMs?: number;
  /** How long start() waits for the Config and its synced kinds before going on (default 30 s). */
  initialWaitMs?: number;
  /** Called with the patterns excluded from a process whenever the Config changes. */
  onExclusions?: (byProcess: { webhook: string[]; audit: string[]; sync: string[] }) => void;
  logger: Logger;
}

export class ConfigController {
  private informer: Informer | undefined;
  /** The kinds synced into data.inventory: the Config's syncOnly and every SyncSet's gvks (syncset-controller.ts). */
  readonly watches: SyncWatches;
  private exclusions = { webhook: [] as string[], audit: [] as string[], sync: [] as string[] };
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly client: KubeClient,
    private readonly opts: ConfigControllerOptions,
  ) {
    this.watches = new SyncWatches(client, { engine: opts.engine, ...(opts.syncRetryMs !== undefined ? { retryMs: opts.syncRetryMs } : {}), logger: opts.logger });
  }

  get excluded(): { webhook: string[]; audit: string[]; sync: string[] } {
    return this.exclusions;
  }

  /** The kinds replicated into data.inventory, with the objects cached from their watches (audit --audit-from-cache). */
  syncedResources(): Array<{ resource: ApiResource; objects: KubeObject[] }> {
    return this.watches.resources();
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
      await this.watches.whenSynced();
      return true;
    })();
    const done = await Promise.race([loaded, new Promise<false>((r) => setTimeout(() => r(false), waitMs).unref())]);
    if (!done) this.opts.logger.warn({ waitMs }, 'Config not loaded yet (is the Config CRD installed?); going on without it');
  }

  async stop(): Promise<void> {
    await this.informer?.stop();
    await this.chain;
    await this.watches.stop();
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
    // Checked before anything changes: a bad pattern leaves the previous Config in force.
    try {
      new NamespaceExemptions(byProcess.sync);
    } catch (e) {
      this.opts.logger.error({ err: (e as Error).message }, 'Config spec.match: bad namespace pattern');
      return;
    }
    this.exclusions = byProcess;
    this.opts.onExclusions?.(byProcess);
    await this.watches.setExclusions(byProcess.sync);
    const syncOnly = gvkList(spec.sync?.syncOnly, 'Config spec.sync.syncOnly', this.opts.logger);
    await this.watches.setSource('config', syncOnly);
    this.opts.logger.info({ syncOnly: syncOnly.length, present: !!config }, 'Config applied');
  }
}
