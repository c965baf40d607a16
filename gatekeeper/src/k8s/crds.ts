// The CustomResourceDefinitions, compatible with Gatekeeper's: ConstraintTemplate (templates.gatekeeper.sh),
// Config (config.gatekeeper.sh), ExpansionTemplate and SyncSet (crds-expansion-syncset.ts), and one constraint CRD per template (constraints.gatekeeper.sh), generated here.
// gatekeeper/crds/*.yaml are written from constraintTemplateCrd() and configCrd() (a unit test keeps them equal).

import { gvk, objectSchema, preserve, shortNamedMetadata, str, strings, systemCrd, type Schema } from './crd-schema.js';
import { expansionTemplateCrd, syncSetCrd } from './crds-expansion-syncset.js';

export const TEMPLATES_GROUP = 'templates.gatekeeper.sh';
export const CONSTRAINTS_GROUP = 'constraints.gatekeeper.sh';
export const CONFIG_GROUP = 'config.gatekeeper.sh';
export const CONSTRAINT_VERSION = 'v1beta1';
/** Label on every generated constraint CRD (as Gatekeeper sets it), so they can be listed and cleaned up. */
export const CONSTRAINT_CRD_LABEL = 'gatekeeper.sh/constraint';

const labelSelector: Schema = {
  type: 'object',
  properties: {
    matchLabels: { type: 'object', additionalProperties: str },
    matchExpressions: {
      type: 'array',
      items: {
        type: 'object',
        required: ['key', 'operator'],
        properties: { key: str, operator: str, values: strings },
      },
    },
  },
  'x-kubernetes-map-type': 'atomic',
};

/** spec.match of a constraint (Gatekeeper's pkg/mutation/match.Match). */
export const matchSchema: Schema = {
  type: 'object',
  properties: {
    kinds: {
      type: 'array',
      items: { type: 'object', properties: { apiGroups: strings, kinds: strings } },
    },
    scope: { type: 'string', description: 'Cluster, Namespaced or * (any other value matches everything).' },
    namespaces: { ...strings, description: 'Names; a leading or trailing * is a wildcard.' },
    excludedNamespaces: { ...strings, description: 'Names; a leading or trailing * is a wildcard.' },
    labelSelector,
    namespaceSelector: labelSelector,
    name: { type: 'string', description: 'Object name; a leading or trailing * is a wildcard.' },
    source: { type: 'string', enum: ['All', 'Original', 'Generated'] },
  },
};

const byPodStatus = (extra: Schema): Schema => ({
  type: 'array',
  items: {
    type: 'object',
    'x-kubernetes-preserve-unknown-fields': true,
    properties: {
      id: { type: 'string', description: 'The process (pod) that wrote this entry.' },
      observedGeneration: { type: 'integer', format: 'int64' },
      operations: strings,
      errors: {
        type: 'array',
        items: {
          type: 'object',
          required: ['message'],
          properties: { code: str, message: str, location: str },
        },
      },
      ...extra,
    },
  },
});

function templateVersionSchema(legacyDefault: boolean): Schema {
  return objectSchema({
    spec: {
      type: 'object',
      properties: {
        crd: {
          type: 'object',
          properties: {
            spec: {
              type: 'object',
              properties: {
                names: { type: 'object', properties: { kind: str, shortNames: strings } },
                validation: {
                  type: 'object',
                  default: { legacySchema: legacyDefault },
                  properties: {
                    legacySchema: { type: 'boolean', default: legacyDefault },
                    openAPIV3Schema: { type: 'object', ...preserve },
                  },
                },
              },
            },
          },
        },
        targets: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              target: str,
              rego: str,
              libs: strings,
              operations: { type: 'array', items: { type: 'string', enum: ['*', 'CREATE', 'UPDATE', 'DELETE', 'CONNECT'] } },
              code: {
                type: 'array',
                'x-kubernetes-list-type': 'map',
                'x-kubernetes-list-map-keys': ['engine'],
                items: {
                  type: 'object',
                  required: ['engine', 'source'],
                  properties: { engine: str, source: { ...preserve } },
                },
              },
            },
          },
        },
      },
    },
    status: {
      type: 'object',
      properties: {
        created: { type: 'boolean' },
        byPod: byPodStatus({ templateUID: str }),
      },
    },
  });
}

export function constraintTemplateCrd(): Record<string, unknown> {
  return systemCrd(
    { group: TEMPLATES_GROUP, kind: 'ConstraintTemplate', plural: 'constrainttemplates', singular: 'constrainttemplate', scope: 'Cluster' },
    [
      { name: 'v1', served: true, storage: true, legacy: false },
      { name: 'v1beta1', served: true, storage: false, legacy: true },
      { name: 'v1alpha1', served: true, storage: false, legacy: true },
    ].map((v) => ({
      name: v.name,
      served: v.served,
      storage: v.storage,
      schema: { openAPIV3Schema: templateVersionSchema(v.legacy) },
      subresources: { status: {} },
    })),
  );
}

export function configCrd(): Record<string, unknown> {
  return systemCrd({ group: CONFIG_GROUP, kind: 'Config', plural: 'configs', singular: 'config', scope: 'Namespaced' }, [
    {
      name: 'v1alpha1',
      served: true,
      storage: true,
      subresources: { status: {} },
      schema: {
        openAPIV3Schema: objectSchema({
          spec: {
            type: 'object',
            properties: {
              match: {
                type: 'array',
                description: 'Namespaces left out of the listed processes (audit, webhook, sync, mutation-webhook or *).',
                items: { type: 'object', properties: { excludedNamespaces: strings, processes: strings } },
              },
              sync: {
                type: 'object',
                properties: { syncOnly: { type: 'array', description: 'Kinds replicated into data.inventory.', items: gvk } },
              },
              readiness: { type: 'object', properties: { statsEnabled: { type: 'boolean' } } },
              validation: {
                type: 'object',
                properties: { traces: { type: 'array', items: { type: 'object', properties: { user: str, kind: gvk, dump: str } } } },
              },
            },
          },
          status: { type: 'object', properties: { byPod: byPodStatus({}) } },
        }),
      },
    },
  ]);
}

export interface ConstraintCrdInput {
  kind: string;
  shortNames?: string[];
  /** spec.crd.spec.validation.openAPIV3Schema of the template (the schema of spec.parameters). */
  parametersSchema?: Schema;
  /** legacySchema: every object node keeps unknown fields (v1beta1/v1alpha1 templates default to this). */
  legacySchema?: boolean;
  templateName: string;
  templateUid?: string;
}

/** The constraint CRD Gatekeeper creates for a template: constraints.gatekeeper.sh, Cluster scope, v1beta1 + v1alpha1. */
export function constraintCrd(t: ConstraintCrdInput): Record<string, unknown> {
  const plural = t.kind.toLowerCase();
  let parameters: Schema;
  if (!t.parametersSchema || Object.keys(t.parametersSchema).length === 0) {
    parameters = { type: 'object', ...preserve };
  } else {
    parameters = structuredClone(t.parametersSchema);
    if (parameters['type'] === undefined) parameters['type'] = 'object';
    if (t.legacySchema) addPreserveUnknownFields(parameters);
  }
  const schema: Schema = objectSchema({
    metadata: shortNamedMetadata,
    spec: {
      type: 'object',
      properties: {
        match: matchSchema,
        enforcementAction: { type: 'string', description: 'deny (default), dryrun, warn or scoped.' },
        scopedEnforcementActions: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              action: str,
              enforcementPoints: { type: 'array', items: { type: 'object', properties: { name: str } } },
            },
          },
        },
        parameters,
      },
    },
    status: { type: 'object', ...preserve },
  });
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${plural}.${CONSTRAINTS_GROUP}`,
      labels: { [CONSTRAINT_CRD_LABEL]: 'yes', 'gatekeeper.sh/template': t.templateName },
      ...(t.templateUid
        ? {
            ownerReferences: [
              { apiVersion: `${TEMPLATES_GROUP}/v1`, kind: 'ConstraintTemplate', name: t.templateName, uid: t.templateUid, controller: true, blockOwnerDeletion: false },
            ],
          }
        : {}),
    },
    spec: {
      group: CONSTRAINTS_GROUP,
      names: {
        kind: t.kind,
        listKind: `${t.kind}List`,
        plural,
        singular: plural,
        categories: ['constraint', 'constraints'],
        ...(t.shortNames?.length ? { shortNames: t.shortNames } : {}),
      },
      scope: 'Cluster',
      versions: [
        { name: CONSTRAINT_VERSION, storage: true },
        { name: 'v1alpha1', storage: false },
      ].map((v) => ({
        name: v.name,
        served: true,
        storage: v.storage,
        schema: { openAPIV3Schema: schema },
        subresources: { status: {} },
        additionalPrinterColumns: [
          { name: 'enforcement-action', type: 'string', jsonPath: '.spec.enforcementAction' },
          { name: 'total-violations', type: 'integer', jsonPath: '.status.totalViolations' },
        ],
      })),
    },
  };
}

function addPreserveUnknownFields(node: unknown): void {
  if (!node || typeof node !== 'object') return;
  const n = node as Schema;
  if (n['type'] === 'object' || n['type'] === undefined) n['x-kubernetes-preserve-unknown-fields'] = true;
  for (const key of ['properties', 'patternProperties', 'definitions']) {
    const props = n[key];
    if (props && typeof props === 'object') for (const v of Object.values(props)) addPreserveUnknownFields(v);
  }
  for (const key of ['items', 'additionalProperties', 'not']) addPreserveUnknownFields(n[key]);
  for (const key of ['allOf', 'anyOf', 'oneOf']) if (Array.isArray(n[key])) for (const v of n[key] as unknown[]) addPreserveUnknownFields(v);
}

/** The static CRD manifests shipped in gatekeeper/crds/ (file name → YAML text). */
export async function staticCrdManifests(): Promise<Record<string, string>> {
  const { stringify } = await import('yaml');
  // No anchors (the chart and kubectl read them, but humans diff them), and YAML 1.1 quoting so yes/no stay strings.
  const opts = { aliasDuplicateObjects: false, version: '1.1' as const };
  const header = '# Generated from gatekeeper/src/k8s/crds.ts; regenerate with: node --import tsx gatekeeper/src/k8s/write-crds.ts\n';
  return {
    'constrainttemplates.templates.gatekeeper.sh.yaml': header + stringify(constraintTemplateCrd(), opts),
    'configs.config.gatekeeper.sh.yaml': header + stringify(configCrd(), opts),
    'expansiontemplate.expansion.gatekeeper.sh.yaml': header + stringify(expansionTemplateCrd(), opts),
    'syncsets.syncset.gatekeeper.sh.yaml': header + stringify(syncSetCrd(), opts),
  };
}
