// data.inventory as Gatekeeper syncs it: cluster-scoped objects at cluster[<groupVersion>][<Kind>][<name>], namespaced
// ones at namespace[<namespace>][<groupVersion>][<Kind>][<name>]. Serialised once per change and handed to every
// template module lazily (a module that is not evaluated never pays for setData).
type Tree = Record<string, any>;

export class InventoryError extends Error {}

/** `/v1` (the core group written with its slash) is `v1`, as Go's schema.ParseGroupVersion reads it. */
export function normalizeApiVersion(apiVersion: unknown): string {
  if (typeof apiVersion !== 'string') return '';
  return apiVersion.startsWith('/') ? apiVersion.slice(1) : apiVersion;
}

export function objectKey(obj: unknown): { gv: string; kind: string; name: string; namespace?: string } {
  const o = obj as Tree | null;
  if (!o || typeof o !== 'object' || Array.isArray(o)) throw new InventoryError('an inventory object must be an object');
  const gv = normalizeApiVersion(o.apiVersion);
  const kind = typeof o.kind === 'string' ? o.kind : '';
  const name = typeof o.metadata?.name === 'string' ? o.metadata.name : '';
  if (!gv || !kind || !name) throw new InventoryError(`an inventory object needs apiVersion, kind and metadata.name (got ${gv || '?'} ${kind || '?'} ${name || '?'})`);
  const namespace = typeof o.metadata?.namespace === 'string' && o.metadata.namespace ? o.metadata.namespace : undefined;
  return { gv, kind, name, namespace };
}

export class Inventory {
  private readonly root: { cluster: Tree; namespace: Tree } = { cluster: {}, namespace: {} };
  private serialized?: ArrayBuffer;
  /** Bumped on every change; modules compare it with the version they were last given. */
  version = 0;
  size = 0;

  add(obj: unknown): void {
    const k = objectKey(obj);
    const base = k.namespace ? ((this.root.namespace[k.namespace] ??= {}) as Tree) : this.root.cluster;
    const byKind = ((base[k.gv] ??= {})[k.kind] ??= {}) as Tree;
    if (!(k.name in byKind)) this.size++;
    byKind[k.name] = obj;
    this.changed();
  }

  remove(obj: unknown): void {
    const k = objectKey(obj);
    const base = k.namespace ? this.root.namespace[k.namespace] : this.root.cluster;
    const byKind = base?.[k.gv]?.[k.kind] as Tree | undefined;
    if (!byKind || !(k.name in byKind)) return;
    delete byKind[k.name];
    this.size--;
    if (!Object.keys(byKind).length) delete base![k.gv][k.kind];
    if (!Object.keys(base![k.gv]).length) delete base![k.gv];
    if (k.namespace && !Object.keys(base!).length) delete this.root.namespace[k.namespace];
    this.changed();
  }

  clear(): void {
    this.root.cluster = {};
    this.root.namespace = {};
    this.size = 0;
    this.changed();
  }

  /** The Namespace object of that name, if the inventory holds it (used by namespaceSelector). */
  namespace(name: string): unknown {
    return this.root.cluster.v1?.Namespace?.[name];
  }

  /** `{"inventory": ...}` as JSON bytes, the data document of every template module. */
  data(): ArrayBuffer {
    if (!this.serialized) {
      const bytes = new TextEncoder().encode(JSON.stringify({ inventory: this.root }));
      this.serialized = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    }
    return this.serialized;
  }

  private changed(): void {
    this.version++;
    this.serialized = undefined;
  }
}
