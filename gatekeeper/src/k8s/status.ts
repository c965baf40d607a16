// Status writes through the status subresource, read-modify-write with optimistic concurrency: the webhook's controllers
// (byPod entries) and the audit (auditTimestamp, violations) each change only their own fields of the same status.
import { KubeApiError, isConflict, isNotFound, type KubeClient, type KubeObject } from './client.js';

/** Worth another try: throttling, server errors, broken connections. */
function isTransient(e: unknown): boolean {
  return e instanceof KubeApiError ? e.status === 429 || e.status >= 500 : true;
}

/**
 * Applies mutate to the object's current status and PUTs it to <path>/status, retrying on conflicts.
 * mutate returns false when nothing needs writing. Resolves false when the object is gone.
 */
export async function updateStatus(
  client: KubeClient,
  path: string,
  mutate: (status: Record<string, any>, obj: KubeObject) => boolean | void,
  attempts = 8,
): Promise<boolean> {
  for (let i = 0; i < attempts; i++) {
    try {
      const obj = await client.tryGet(path);
      if (!obj) return false;
      const status: Record<string, any> = structuredClone(obj.status ?? {});
      const before = JSON.stringify(status);
      if (mutate(status, obj) === false || JSON.stringify(status) === before) return true;
      await client.replace(`${path}/status`, { ...obj, status });
      return true;
    } catch (e) {
      if (isNotFound(e)) return false;
      if (isConflict(e)) continue;
      if (!isTransient(e) || i === attempts - 1) throw e;
      await new Promise((r) => setTimeout(r, 200 * 2 ** Math.min(i, 5)));
    }
  }
  throw new Error(`status of ${path}: still conflicting after ${attempts} attempts`);
}

export interface ByPodEntry {
  id: string;
  observedGeneration?: number;
  operations?: string[];
  errors?: Array<{ code: string; message: string; location?: string }>;
  [k: string]: unknown;
}

/** Replaces (or adds) this process's entry in status.byPod, keeping the others sorted by id as Gatekeeper does. */
export function setByPod(status: Record<string, any>, entry: ByPodEntry): void {
  const list: ByPodEntry[] = Array.isArray(status['byPod']) ? status['byPod'].filter((e: ByPodEntry) => e?.id !== entry.id) : [];
  list.push(entry);
  list.sort((a, b) => a.id.localeCompare(b.id));
  status['byPod'] = list;
}

/** Removes this process's entry (graceful shutdown of a replica). */
export function removeByPod(status: Record<string, any>, id: string): void {
  if (Array.isArray(status['byPod'])) status['byPod'] = status['byPod'].filter((e: ByPodEntry) => e?.id !== id);
}
