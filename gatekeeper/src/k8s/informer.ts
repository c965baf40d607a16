// List-then-watch cache of one resource collection (a reflector, as client-go calls it): lists in pages, watches from
// the list's resourceVersion with bookmarks, re-lists on 410 Gone or a broken stream and reconciles the difference.
// Handlers run one at a time, in event order, so a controller sees a consistent sequence.
import type { Logger } from 'pino';
import { isGone, type KubeClient, type KubeList, type KubeObject } from './client.js';

export interface InformerHandlers<T extends KubeObject> {
  add?(obj: T): void | Promise<void>;
  update?(obj: T, old: T): void | Promise<void>;
  delete?(obj: T): void | Promise<void>;
}

export interface InformerOptions {
  /** Collection path, e.g. /apis/templates.gatekeeper.sh/v1/constrainttemplates (all namespaces). */
  path: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Page size of the list requests (default 500). */
  pageSize?: number;
  /** Server-side watch timeout after which the watch is renewed (default 300 s). */
  watchTimeoutSeconds?: number;
  /** apiVersion and kind to set on every object (list items of built-in kinds come without them). */
  stamp?: { apiVersion: string; kind: string };
  logger?: Logger;
}

export const objectKey = (o: KubeObject) => (o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name);

export class Informer<T extends KubeObject = KubeObject> {
  private readonly store = new Map<string, T>();
  private readonly abort = new AbortController();
  private resourceVersion = '';
  private running: Promise<void> | undefined;
  private markSynced!: () => void;
  private failSynced!: (e: unknown) => void;
  /** Resolves once the first list has been delivered to the handlers. */
  readonly synced: Promise<void>;
  private hasSynced = false;

  constructor(
    private readonly client: KubeClient,
    private readonly opts: InformerOptions,
    private readonly handlers: InformerHandlers<T>,
  ) {
    this.synced = new Promise((resolve, reject) => {
      this.markSynced = resolve;
      this.failSynced = reject;
    });
    this.synced.catch(() => undefined);
  }

  get isSynced(): boolean {
    return this.hasSynced;
  }

  list(): T[] {
    return [...this.store.values()];
  }

  get(key: string): T | undefined {
    return this.store.get(key);
  }

  start(): this {
    this.running ??= this.run();
    return this;
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.running;
  }

  private async run(): Promise<void> {
    const log = this.opts.logger;
    let backoffMs = 200;
    while (!this.abort.signal.aborted) {
      try {
        if (!this.resourceVersion) await this.relist();
        if (!this.hasSynced) {
          this.hasSynced = true;
          this.markSynced();
        }
        await this.client.watch(
          this.opts.path,
          {
            resourceVersion: this.resourceVersion,
            allowWatchBookmarks: true,
            timeoutSeconds: this.opts.watchTimeoutSeconds ?? 300,
            labelSelector: this.opts.labelSelector,
            fieldSelector: this.opts.fieldSelector,
          },
          (type, obj) => this.onEvent(type, obj),
          this.abort.signal,
        );
        backoffMs = 200;
      } catch (e) {
        if (this.abort.signal.aborted) break;
        if (isGone(e)) {
          log?.debug({ path: this.opts.path }, 'watch expired, re-listing');
          this.resourceVersion = '';
          continue;
        }
        // A broken stream resumes from the last resourceVersion seen (410 above if it is too old); a failed list retries.
        log?.warn({ path: this.opts.path, err: (e as Error).message }, 'list/watch failed, retrying');
        await sleep(backoffMs, this.abort.signal);
        backoffMs = Math.min(backoffMs * 2, 10_000);
      }
    }
    if (!this.hasSynced) this.failSynced(new Error(`informer for ${this.opts.path} stopped before its first list`));
  }

  private async relist(): Promise<void> {
    const seen = new Map<string, T>();
    let cont: string | undefined;
    let rv = '';
    do {
      const page: KubeList<T> = await this.client.get<KubeList<T>>(this.opts.path, {
        query: {
          limit: this.opts.pageSize ?? 500,
          continue: cont,
          labelSelector: this.opts.labelSelector,
          fieldSelector: this.opts.fieldSelector,
        },
        signal: this.abort.signal,
        timeoutMs: 120_000,
      });
      for (const item of page.items) seen.set(objectKey(item), this.stamped(item));
      cont = page.metadata.continue || undefined;
      rv = page.metadata.resourceVersion ?? rv;
    } while (cont);
    for (const [key, old] of [...this.store]) {
      if (!seen.has(key)) {
        this.store.delete(key);
        await this.call('delete', old);
      }
    }
    for (const [key, obj] of seen) {
      const old = this.store.get(key);
      this.store.set(key, obj);
      if (!old) await this.call('add', obj);
      else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion) await this.call('update', obj, old);
    }
    this.resourceVersion = rv;
  }

  private async onEvent(type: string, obj: T): Promise<void> {
    if (obj?.metadata?.resourceVersion) this.resourceVersion = obj.metadata.resourceVersion;
    if (type === 'BOOKMARK') return;
    obj = this.stamped(obj);
    const key = objectKey(obj);
    const old = this.store.get(key);
    if (type === 'DELETED') {
      this.store.delete(key);
      await this.call('delete', obj);
    } else {
      this.store.set(key, obj);
      if (old) await this.call('update', obj, old);
      else await this.call('add', obj);
    }
  }

  private stamped(obj: T): T {
    const s = this.opts.stamp;
    if (s && (obj.apiVersion !== s.apiVersion || obj.kind !== s.kind)) {
      obj.apiVersion = s.apiVersion;
      obj.kind = s.kind;
    }
    return obj;
  }

  /** A failing handler is logged and does not break the stream (the controller owns its retries). */
  private async call(kind: 'add' | 'update' | 'delete', obj: T, old?: T): Promise<void> {
    try {
      if (kind === 'update') await this.handlers.update?.(obj, old!);
      else await this.handlers[kind]?.(obj);
    } catch (e) {
      this.opts.logger?.error({ path: this.opts.path, name: objectKey(obj), err: (e as Error).message }, `${kind} handler failed`);
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });
}
