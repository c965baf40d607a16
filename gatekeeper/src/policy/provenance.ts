// Which version of which policy decided: computed once when a template or constraint loads, carried by every violation
// and written into its records (proto-docs/record.md, `policy`), so the webhook's hot path never hashes nor serialises it.
import { createHash } from 'node:crypto';
import type { PolicyProvenance } from '@gk-exporter/exporter/record';
import type { ParsedConstraint } from './constraint.js';
import type { ConstraintRef } from './engine.js';

export type { PolicyProvenance };

export type TemplateProvenance = Omit<PolicyProvenance, 'constraintGeneration'>;

/** JSON with object keys sorted, so a hash does not depend on how the YAML or the API server ordered them. */
function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const keys = Object.keys(v).filter((k) => (v as Record<string, unknown>)[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

function generationOf(obj: unknown): number | undefined {
  const g = (obj as { metadata?: { generation?: unknown } } | undefined)?.metadata?.generation;
  return typeof g === 'number' && Number.isInteger(g) ? g : undefined;
}

export function templateProvenance(name: string, obj: unknown): TemplateProvenance {
  const spec = (obj as { spec?: unknown } | undefined)?.spec ?? null;
  const p = { template: name } as TemplateProvenance;
  const generation = generationOf(obj);
  if (generation !== undefined) p.templateGeneration = generation;
  p.templateHash = `sha256:${createHash('sha256').update(canonicalJson(spec)).digest('hex')}`;
  return p;
}

/** The provenance of a constraint's violations: its template's, plus the constraint's generation. */
export function constraintProvenance(template: TemplateProvenance, constraint: unknown): PolicyProvenance {
  const generation = generationOf(constraint);
  const p: PolicyProvenance = { ...template };
  if (generation !== undefined) p.constraintGeneration = generation;
  return p;
}

/** What every violation of a constraint carries, provenance included: built once when the constraint is stored. */
export function constraintRef(c: ParsedConstraint, template: TemplateProvenance | undefined): ConstraintRef {
  const ref: ConstraintRef = { kind: c.kind, name: c.name, enforcementAction: c.enforcementAction };
  if (c.annotations) ref.annotations = c.annotations;
  if (c.labels) ref.labels = c.labels;
  if (template) {
    ref.policy = constraintProvenance(template, c.raw);
    ref.policyJson = JSON.stringify(ref.policy);
  }
  return ref;
}
