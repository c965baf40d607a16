// The lifecycle state in the cluster (`gatekeeper run --violation-lifecycle`): ConfigMaps "<name>-0" … "<name>-<n-1>"
// in the engine's namespace, each holding the pairs whose key hashes to it, as gzipped JSON. In the cluster so that the
// next audit leader, whichever replica it is, starts from the state the previous one left; sharded because one object
// is limited to 1 MiB; each shard written with its resourceVersion (optimistic concurrency), a conflict merged and
// written again, so two replicas auditing during a leader change never lose each other's pairs.
import { gunzipSync, gzipSync } from 'node:zlib';
import { isAlreadyExists, isConflict, resourcePath, type KubeClient, type KubeObject } from '../../k8s/client.js';
import { emptyState, joinShards, mergeStates, shardState, validateState, type LifecycleState } from './state.js';
import { SAVE_ATTEMPTS, type LifecycleStore } from './store.js';

export const LIFECYCLE_LABEL = 'gatekeeper.sh/violation-lifecycle';
const DATA_KEY = 'state.json.gz';
/** Below the API server's 1 MiB per object, with room for metadata. */
export const DEFAULT_MAX_SHARD_BYTES = 900 * 1024;

export interface ConfigMapStoreOptions {
  namespace: string;
  /** Prefix of the ConfigMaps' names; also the value of their gatekeeper.sh/violation-lifecycle label. */
  name: string;
  shards: number;
  /** Gzipped bytes one shard may hold; past it the save fails asking for more shards. */
  maxShardBytes?: number;
}

export class ConfigMapLifecycleStore implements LifecycleStore {
  /** resourceVersion of each shard as loaded. */
  #versions = new Map<string, string>();

  constructor(
    private readonly client: KubeClient,
    private readonly o: ConfigMapStoreOptions,
  ) {}

  get where(): string {
    return `ConfigMaps ${this.o.namespace}/${this.o.name}-* (label ${LIFECYCLE_LABEL}=${this.o.name})`;
  }

  #collection(): string {
    return resourcePath({ group: '', version: 'v1', plural: 'configmaps', namespace: this.o.namespace });
  }

  #decode(cm: KubeObject): LifecycleState {
    const where = `ConfigMap ${this.o.namespace}/${cm.metadata.name}`;
    const data = (cm as { binaryData?: Record<string, string> }).binaryData?.[DATA_KEY];
    if (typeof data !== 'string') throw new Error(`violation lifecycle state ${where}: binaryData["${DATA_KEY}"] is missing`);
    let value: unknown;
    try {
      value = JSON.parse(gunzipSync(Buffer.from(data, 'base64')).toString('utf8'));
    } catch (e) {
      throw new Error(`violation lifecycle state ${where}: not gzipped JSON (${(e as Error).message}); delete it to start afresh`);
    }
    return validateState(value, where);
  }

  async load(): Promise<LifecycleState> {
    const list = await this.client
      .get<{ items: KubeObject[] }>(this.#collection(), { query: { labelSelector: `${LIFECYCLE_LABEL}=${this.o.name}` } })
      .catch((e: Error) => Promise.reject(new Error(`violation lifecycle state ${this.where}: ${e.message}`)));
    this.#versions = new Map(list.items.map((cm) => [cm.metadata.name, cm.metadata.resourceVersion ?? '']));
    return list.items.length ? joinShards(list.items.map((cm) => this.#decode(cm))) : emptyState();
  }

  async save(state: LifecycleState): Promise<void> {
    const parts = shardState(state, this.o.shards);
    for (let i = 0; i < parts.length; i++) await this.#saveShard(`${this.o.name}-${i}`, parts[i]!);
    // Shards beyond the current count (--violation-lifecycle-shards lowered): their pairs were just redistributed.
    for (const name of this.#versions.keys()) {
      const index = Number(name.slice(this.o.name.length + 1));
      if (name.startsWith(`${this.o.name}-`) && Number.isInteger(index) && index >= this.o.shards) {
        await this.client.delete(`${this.#collection()}/${name}`);
        this.#versions.delete(name);
      }
    }
  }

  async #saveShard(name: string, part: LifecycleState): Promise<void> {
    let next = part;
    for (let attempt = 0; attempt < SAVE_ATTEMPTS; attempt++) {
      const rv = this.#versions.get(name);
      const body = this.#object(name, next, rv);
      try {
        const saved = rv === undefined ? await this.client.create<KubeObject>(this.#collection(), body) : await this.client.replace<KubeObject>(`${this.#collection()}/${name}`, body);
        this.#versions.set(name, saved.metadata.resourceVersion ?? '');
        return;
      } catch (e) {
        if (!isConflict(e) && !isAlreadyExists(e)) throw new Error(`violation lifecycle state ConfigMap ${this.o.namespace}/${name}: ${(e as Error).message}`);
        // Another writer came in between: merge with what it stored and try again on its version.
        const current = await this.client.tryGet<KubeObject>(`${this.#collection()}/${name}`);
        if (current) {
          next = mergeStates(part, this.#decode(current));
          this.#versions.set(name, current.metadata.resourceVersion ?? '');
        } else this.#versions.delete(name);
      }
    }
    throw new Error(`violation lifecycle state ConfigMap ${this.o.namespace}/${name}: still conflicting after ${SAVE_ATTEMPTS} attempts`);
  }

  #object(name: string, part: LifecycleState, resourceVersion: string | undefined): KubeObject {
    const gz = gzipSync(JSON.stringify(part));
    const max = this.o.maxShardBytes ?? DEFAULT_MAX_SHARD_BYTES;
    if (gz.length > max) {
      throw new Error(
        `violation lifecycle state ConfigMap ${this.o.namespace}/${name}: ${gz.length} bytes gzipped, over ${max}: raise --violation-lifecycle-shards (now ${this.o.shards})`,
      );
    }
    return {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name,
        namespace: this.o.namespace,
        labels: { [LIFECYCLE_LABEL]: this.o.name, 'app.kubernetes.io/managed-by': 'gatekeeper' },
        ...(resourceVersion ? { resourceVersion } : {}),
      },
      binaryData: { [DATA_KEY]: gz.toString('base64') },
    } as KubeObject;
  }
}
