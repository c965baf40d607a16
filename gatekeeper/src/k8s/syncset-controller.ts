// SyncSets (syncset.gatekeeper.sh/v1alpha1), as Gatekeeper's syncset controller: each one's spec.gvks is a source of
// kinds to replicate into data.inventory, beside the Config's syncOnly. Creating one starts the watches it adds;
// deleting it stops those no other source wants, and their objects leave data.inventory.
import type { Logger } from 'pino';
import { resourcePath, type KubeClient } from './client.js';
import { SYNCSET_GROUP, SYNCSET_PLURAL, SYNCSET_VERSION } from './crds-expansion-syncset.js';
import { Informer } from './informer.js';
import { gvkList, type SyncWatches } from './sync-watches.js';

export interface SyncSetControllerOptions {
  /** How long start() waits for the first list and its watches before going on (default 30 s). */
  initialWaitMs?: number;
  logger: Logger;
}

const sourceKey = (name: string) => `syncset:${name}`;

export class SyncSetController {
  private informer: Informer | undefined;

  constructor(
    private readonly client: KubeClient,
    private readonly watches: SyncWatches,
    private readonly opts: SyncSetControllerOptions,
  ) {}

  async start(): Promise<void> {
    const { logger } = this.opts;
    const upsert = async (o: { metadata: { name: string }; spec?: any }) => {
      const gvks = gvkList(o.spec?.gvks, `SyncSet ${o.metadata.name} spec.gvks`, logger);
      await this.watches.setSource(sourceKey(o.metadata.name), gvks);
      logger.info({ syncSet: o.metadata.name, kinds: gvks.length }, 'SyncSet applied');
    };
    const remove = async (o: { metadata: { name: string } }) => {
      await this.watches.removeSource(sourceKey(o.metadata.name));
      logger.info({ syncSet: o.metadata.name }, 'SyncSet removed');
    };
    this.informer = new Informer(
      this.client,
      { path: resourcePath({ group: SYNCSET_GROUP, version: SYNCSET_VERSION, plural: SYNCSET_PLURAL }), logger },
      { add: upsert, update: upsert, delete: remove },
    ).start();
    // Without the SyncSet CRD the process still starts; the informer keeps retrying in the background.
    const waitMs = this.opts.initialWaitMs ?? 30_000;
    const loaded = this.informer.synced.then(() => this.watches.whenSynced()).then(() => true);
    const done = await Promise.race([loaded, new Promise<false>((r) => setTimeout(() => r(false), waitMs).unref())]);
    if (!done) logger.warn({ waitMs }, 'SyncSets not loaded yet (is the SyncSet CRD installed?); going on without them');
  }

  async stop(): Promise<void> {
    await this.informer?.stop();
  }
}
