// The CRDs of ExpansionTemplate (expansion.gatekeeper.sh) and SyncSet (syncset.gatekeeper.sh), with Gatekeeper
// v3.23's names and schemas (charts/gatekeeper/crds), so objects written for Gatekeeper apply unchanged.
import { EXPANSION_GROUP } from '../expansion/expansion.js';
import { EXPANSION_PLURAL } from './expansion-controller.js';
import { gvk, objectSchema, shortNamedMetadata as metadata, str, strings, systemCrd, type Schema } from './crd-schema.js';

export const SYNCSET_GROUP = 'syncset.gatekeeper.sh';
export const SYNCSET_VERSION = 'v1alpha1';
export const SYNCSET_PLURAL = 'syncsets';

function expansionVersion(name: string, storage: boolean): Schema {
  return {
    name,
    served: true,
    storage,
    subresources: { status: {} },
    schema: {
      openAPIV3Schema: objectSchema({
        metadata,
        spec: {
          type: 'object',
          properties: {
            applyTo: { type: 'array', items: { type: 'object', properties: { groups: strings, kinds: strings, versions: strings } } },
            enforcementAction: { type: 'string', description: "Replaces the violated constraint's action for the generated resources; empty: the constraint's." },
            generatedGVK: gvk,
            templateSource: { type: 'string', description: 'The field of the generator the generated resource is made from, e.g. spec.template.' },
          },
        },
        status: {
          type: 'object',
          properties: {
            byPod: {
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  errors: { type: 'array', items: { type: 'object', required: ['message'], properties: { message: str, type: str } } },
                  id: str,
                  observedGeneration: { type: 'integer', format: 'int64' },
                  operations: strings,
                  templateUID: str,
                },
              },
            },
          },
        },
      }),
    },
  };
}

export function expansionTemplateCrd(): Record<string, unknown> {
  return systemCrd(
    { group: EXPANSION_GROUP, kind: 'ExpansionTemplate', plural: EXPANSION_PLURAL, singular: EXPANSION_PLURAL, scope: 'Cluster' },
    [expansionVersion('v1alpha1', true), expansionVersion('v1beta1', false)],
  );
}

export function syncSetCrd(): Record<string, unknown> {
  return systemCrd({ group: SYNCSET_GROUP, kind: 'SyncSet', plural: SYNCSET_PLURAL, singular: 'syncset', scope: 'Cluster' }, [
    {
      name: SYNCSET_VERSION,
      served: true,
      storage: true,
      schema: {
        openAPIV3Schema: objectSchema({
          description: "The kinds to sync into data.inventory; the union of every SyncSet and the Config's syncOnly is synced.",
          metadata,
          spec: { type: 'object', properties: { gvks: { type: 'array', items: gvk } } },
        }),
      },
    },
  ]);
}
