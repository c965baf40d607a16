// Do the referential templates' sync requirements hold? As gator sync test: each template's
// `metadata.gatekeeper.sh/requires-sync-data` annotation lists requirements (ANDed), each a set of equivalent GVKs
// (ORed); a requirement holds when one of its GVKs is synced (by a SyncSet or the Config's syncOnly) and, unless the
// GVK manifest is waived, served by the cluster (the GVKManifest's groups).
import { splitApiVersion } from '../policy/load.js';
import { isTemplate } from '../templates/template.js';

export const SYNC_ANNOTATION = 'metadata.gatekeeper.sh/requires-sync-data';

export class SyncTestError extends Error {}

interface Gvk {
  group: string;
  version: string;
  kind: string;
}
/** A set of equivalent GVKs ("group/version:Kind"), any one of which satisfies the requirement. */
type Requirement = string[];

const key = (g: Gvk) => `${g.group}/${g.version}:${g.kind}`;
const is = (o: Record<string, any>, group: string, kind: string) => o.kind === kind && splitApiVersion(o.apiVersion).group === group;
const str = (v: unknown) => (typeof v === 'string' ? v : '');
const name = (o: Record<string, any>) => str(o.metadata?.name);

/** The annotation's requirements, refused as Go's strict decoder refuses them (unknown fields, wrong types). */
export function syncRequirements(template: Record<string, any>): Requirement[] {
  const raw = template.metadata?.annotations?.[SYNC_ANNOTATION];
  if (typeof raw !== 'string') return [];
  let compact: unknown;
  try {
    compact = JSON.parse(raw.replace(/^[\n"]+|[\n"]+$/g, ''));
  } catch (e) {
    throw new SyncTestError(`${SYNC_ANNOTATION}: ${(e as Error).message}`);
  }
  if (!Array.isArray(compact)) throw new SyncTestError(`${SYNC_ANNOTATION}: want a list of requirements, each a list of {groups, versions, kinds}`);
  return compact.map((clauses: unknown, i) => {
    if (!Array.isArray(clauses)) throw new SyncTestError(`${SYNC_ANNOTATION}: requirement ${i + 1} is not a list of clauses`);
    const set = new Set<string>();
    for (const c of clauses as Array<Record<string, unknown>>) {
      const unknown = Object.keys(c ?? {}).filter((k) => !['groups', 'versions', 'kinds'].includes(k));
      if (unknown.length) throw new SyncTestError(`${SYNC_ANNOTATION}: json: unknown field ${JSON.stringify(unknown[0])}`);
      const list = (k: string) => (Array.isArray(c[k]) ? (c[k] as unknown[]).map(String) : []);
      for (const group of list('groups')) for (const version of list('versions')) for (const kind of list('kinds')) set.add(key({ group, version, kind }));
    }
    return [...set];
  });
}

export interface SyncTestResult {
  /** template name → the requirements none of whose GVKs is synced (and served). */
  missing: Map<string, Requirement[]>;
  /** template name → why its annotation could not be read. */
  templateErrors: Map<string, string>;
  /** What gator prints on standard output (skipped objects, the waived manifest). */
  notes: string[];
}

export function syncTest(objects: Array<Record<string, any>>, omitGvkManifest: boolean): SyncTestResult {
  const synced = new Set<string>();
  const templates = new Map<string, Requirement[]>();
  const templateErrors = new Map<string, string>();
  const notes: string[] = [];
  let config = false;
  let manifest: Record<string, any> | undefined;
  for (const o of objects) {
    if (is(o, 'syncset.gatekeeper.sh', 'SyncSet')) {
      for (const g of Array.isArray(o.spec?.gvks) ? o.spec.gvks : []) synced.add(key({ group: str(g?.group), version: str(g?.version), kind: str(g?.kind) }));
    } else if (is(o, 'config.gatekeeper.sh', 'Config')) {
      if (config) throw new SyncTestError('multiple configs found; Config is a singleton resource');
      config = true;
      for (const g of Array.isArray(o.spec?.sync?.syncOnly) ? o.spec.sync.syncOnly : []) synced.add(key({ group: str(g?.group), version: str(g?.version), kind: str(g?.kind) }));
    } else if (isTemplate(o)) {
      try {
        templates.set(name(o), syncRequirements(o));
      } catch (e) {
        templateErrors.set(name(o), (e as Error).message);
      }
    } else if (is(o, 'gvkmanifest.gatekeeper.sh', 'GVKManifest')) {
      if (manifest) throw new SyncTestError('multiple GVK manifests found; please provide one manifest enumerating the GVKs supported by the cluster');
      manifest = o;
    } else {
      notes.push(`skipping unstructured ${JSON.stringify(name(o))} because it is not a syncset, config, gvk manifest, or template`);
    }
  }
  if (templateErrors.size) return { missing: new Map(), templateErrors, notes };

  const served = new Set<string>();
  if (!manifest) {
    if (!omitGvkManifest) throw new SyncTestError('no GVK manifest found; please provide a manifest enumerating the GVKs supported by the cluster');
    notes.push('ignoring absence of supported GVK manifest due to --force-omit-gvk-manifest flag; will assume all synced GVKs are supported by cluster');
  } else {
    for (const [group, versions] of Object.entries((manifest.spec?.groups ?? {}) as Record<string, Record<string, unknown>>)) {
      for (const [version, kinds] of Object.entries(versions ?? {})) for (const kind of Array.isArray(kinds) ? kinds : []) served.add(key({ group, version, kind: String(kind) }));
    }
  }
  const missing = new Map<string, Requirement[]>();
  for (const [template, reqs] of templates) {
    const unmet = reqs.filter((r) => !r.some((g) => synced.has(g) && (omitGvkManifest || served.has(g))));
    if (unmet.length) missing.set(template, unmet);
  }
  return { missing, templateErrors, notes };
}

/** gator's listing: `<template>:` then its unmet requirements as `[g/v:K OR g/v:K ...]`. */
export function describeMissing(missing: Map<string, Requirement[]>): string {
  return [...missing].map(([t, reqs]) => `${t}:\n[${reqs.map((r) => r.join(' OR ')).join(' ')}]\n`).join('');
}
