// The pieces Gatekeeper's CustomResourceDefinitions share (crds.ts, crds-expansion-syncset.ts).

export type Schema = Record<string, unknown>;

export const str: Schema = { type: 'string' };
export const strings: Schema = { type: 'array', items: str };
export const preserve: Schema = { 'x-kubernetes-preserve-unknown-fields': true };
export const gvk: Schema = { type: 'object', properties: { group: str, version: str, kind: str } };
/** metadata with names of at most 63 characters, as Gatekeeper's constraint, ExpansionTemplate and SyncSet CRDs have it. */
export const shortNamedMetadata: Schema = { type: 'object', properties: { name: { type: 'string', maxLength: 63 } } };

/** The schema of a Kubernetes object: apiVersion, kind, metadata (any, unless given), then its own parts. */
export function objectSchema(parts: { description?: string; metadata?: Schema; spec: Schema; status?: Schema }): Schema {
  const { description, metadata = { type: 'object' }, spec, status } = parts;
  return {
    type: 'object',
    ...(description ? { description } : {}),
    properties: { apiVersion: str, kind: str, metadata, spec, ...(status ? { status } : {}) },
  };
}

export interface SystemCrdNames {
  group: string;
  kind: string;
  plural: string;
  singular: string;
  scope: 'Cluster' | 'Namespaced';
}

/** A CRD of Gatekeeper's own kinds (labelled gatekeeper.sh/system, as Gatekeeper's chart ships them). */
export function systemCrd(n: SystemCrdNames, versions: Schema[]): Record<string, unknown> {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${n.plural}.${n.group}`, labels: { 'gatekeeper.sh/system': 'yes' } },
    spec: {
      group: n.group,
      names: { kind: n.kind, listKind: `${n.kind}List`, plural: n.plural, singular: n.singular },
      scope: n.scope,
      versions,
    },
  };
}
