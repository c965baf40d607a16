// API discovery: every resource kind the API server serves, at its group's preferred version.
import type { KubeClient } from './client.js';

export interface ApiResource {
  group: string;
  version: string;
  /** "v1" for the core group, else "<group>/<version>". */
  groupVersion: string;
  kind: string;
  plural: string;
  namespaced: boolean;
  verbs: string[];
}

interface APIResourceList {
  groupVersion: string;
  resources: Array<{ name: string; kind: string; namespaced: boolean; verbs?: string[]; group?: string; version?: string }>;
}

interface APIGroupList {
  groups: Array<{ name: string; preferredVersion?: { groupVersion: string; version: string }; versions: Array<{ groupVersion: string; version: string }> }>;
}

/** Resources of the preferred version of each group (subresources left out). Groups that fail to answer are skipped and named in `failed`. */
export async function discoverResources(client: KubeClient): Promise<{ resources: ApiResource[]; failed: string[] }> {
  const groupVersions: string[] = [];
  const core = await client.get<{ versions: string[] }>('/api');
  if (core.versions.includes('v1')) groupVersions.push('v1');
  const groups = await client.get<APIGroupList>('/apis');
  for (const g of groups.groups) {
    const gv = g.preferredVersion?.groupVersion ?? g.versions[0]?.groupVersion;
    if (gv) groupVersions.push(gv);
  }
  const failed: string[] = [];
  const lists = await Promise.all(
    groupVersions.map(async (gv) => {
      try {
        return await client.get<APIResourceList>(gv === 'v1' ? '/api/v1' : `/apis/${gv}`);
      } catch {
        failed.push(gv); // e.g. an aggregated API whose backend is down; discovery of the rest goes on
        return undefined;
      }
    }),
  );
  const resources: ApiResource[] = [];
  for (const list of lists) {
    if (!list) continue;
    const [group, version] = list.groupVersion.includes('/') ? list.groupVersion.split('/') as [string, string] : ['', list.groupVersion];
    for (const r of list.resources) {
      if (r.name.includes('/')) continue;
      resources.push({
        group: r.group ?? group,
        version: r.version ?? version,
        groupVersion: list.groupVersion,
        kind: r.kind,
        plural: r.name,
        namespaced: r.namespaced,
        verbs: r.verbs ?? [],
      });
    }
  }
  return { resources, failed };
}

/** Finds the resource (plural, scope) of a group/version/kind, or undefined when the server does not serve it. */
export async function resolveKind(client: KubeClient, gvk: { group: string; version: string; kind: string }): Promise<ApiResource | undefined> {
  const gv = gvk.group ? `${gvk.group}/${gvk.version}` : gvk.version;
  let list: APIResourceList;
  try {
    list = await client.get<APIResourceList>(gvk.group ? `/apis/${gv}` : `/api/${gv}`);
  } catch {
    return undefined;
  }
  const r = list.resources.find((x) => x.kind === gvk.kind && !x.name.includes('/'));
  if (!r) return undefined;
  return { group: gvk.group, version: gvk.version, groupVersion: gv, kind: r.kind, plural: r.name, namespaced: r.namespaced, verbs: r.verbs ?? [] };
}
