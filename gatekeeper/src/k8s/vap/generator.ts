// Keeps the generated ValidatingAdmissionPolicies and bindings in step with the templates and constraints, as
// Gatekeeper's constrainttemplate and constraint controllers do: written with server-side apply, owned by their template
// or constraint (so the garbage collector removes them too), deleted when the template or constraint goes or stops
// asking for one. The policy controller calls it and writes the status fragments it returns into status.byPod.
import type { Logger } from 'pino';
import type { FailurePolicy } from '../../cel/source.js';
import type { KubeClient, KubeObject } from '../client.js';
import {
  VAP_ENFORCEMENT_POINT,
  VAP_GROUP,
  bindingActions,
  bindingName,
  celSourceOf,
  constraintToBinding,
  policyName,
  shouldGeneratePolicy,
  templateToPolicy,
  type PolicyScope,
} from './transform.js';

export interface VapOptions {
  /** --default-create-vap-for-templates: a CEL template without source.generateVAP gets a policy. */
  defaultCreatePolicy: boolean;
  /** --default-create-vap-binding-for-constraints: a constraint that is not scoped gets a binding. */
  defaultCreateBinding: boolean;
  defaultFailurePolicy?: FailurePolicy;
  scope?: PolicyScope;
  logger: Logger;
}

/** Template status.byPod[].vapGenerationStatus. */
export interface VapGenerationStatus {
  state: 'generated' | 'error';
  observedGeneration?: number;
  warning?: string;
}

/** Constraint status.byPod[].enforcementPointsStatus entry of vap.k8s.io. */
export interface EnforcementPointStatus {
  enforcementPoint: string;
  state: 'generated' | 'error';
  message?: string;
  observedGeneration?: number;
}

const FIELD_MANAGER = 'gatekeeper';

export class VapGenerator {
  /** admissionregistration version serving validatingadmissionpolicies; null: not served; undefined: not asked yet. */
  private version: string | null | undefined;
  /** Template kinds whose policy is generated. */
  private readonly policyKinds = new Set<string>();
  /** The templates whose policy is generated, by name, to apply again when the scope changes. */
  private readonly generated = new Map<string, KubeObject>();
  private scope: PolicyScope;

  constructor(
    private readonly client: KubeClient,
    private readonly opts: VapOptions,
  ) {
    this.scope = opts.scope ?? {};
  }

  /** The Config's namespaces excluded from the webhook, which the policies exclude too (Gatekeeper's scope sync). */
  async setExcludedNamespaces(namespaces: string[]): Promise<void> {
    if (JSON.stringify(namespaces) === JSON.stringify(this.scope.excludedNamespaces ?? [])) return;
    this.scope = { ...this.scope, excludedNamespaces: [...namespaces] };
    for (const t of [...this.generated.values()]) await this.syncTemplate(t);
  }

  /** v1 when the API server serves it, else v1beta1 (Gatekeeper's IsVapAPIEnabled); a failed discovery is asked again. */
  private async apiVersion(): Promise<string | null> {
    if (this.version !== undefined) return this.version;
    for (const v of ['v1', 'v1beta1']) {
      const list = await this.client.tryGet<{ resources: Array<{ name: string }> }>(`/apis/${VAP_GROUP}/${v}`);
      if (list?.resources.some((r) => r.name === 'validatingadmissionpolicies')) return (this.version = v);
    }
    this.opts.logger.info('ValidatingAdmissionPolicy API not found in cluster');
    return (this.version = null);
  }

  private path(version: string, resource: string, name: string): string {
    return `/apis/${VAP_GROUP}/${version}/${resource}/${encodeURIComponent(name)}`;
  }

  /** Creates, updates or deletes the template's policy; the status to report, undefined when none is generated. */
  async syncTemplate(template: KubeObject): Promise<VapGenerationStatus | undefined> {
    const kind: string = template.spec?.crd?.spec?.names?.kind ?? '';
    const observedGeneration = template.metadata.generation;
    try {
      const source = celSourceOf(template, this.opts.defaultFailurePolicy);
      const generate = shouldGeneratePolicy(source, this.opts.defaultCreatePolicy);
      if (generate) {
        this.policyKinds.add(kind);
        this.generated.set(template.metadata.name, template);
      } else {
        this.policyKinds.delete(kind);
        this.generated.delete(template.metadata.name);
      }
      const version = await this.apiVersion();
      if (!version) return generate ? { state: 'error', observedGeneration, warning: 'ValidatingAdmissionPolicy API is not enabled in the cluster' } : undefined;
      const path = this.path(version, 'validatingadmissionpolicies', policyName(template.metadata.name));
      if (!generate) {
        await this.client.delete(path);
        return undefined;
      }
      await this.client.apply(path, templateToPolicy(template, source!, version, this.scope), FIELD_MANAGER);
      this.opts.logger.info({ template: template.metadata.name }, 'ValidatingAdmissionPolicy applied');
      return { state: 'generated', observedGeneration };
    } catch (e) {
      this.opts.logger.error({ template: template.metadata.name, err: (e as Error).message }, 'ValidatingAdmissionPolicy not generated');
      return { state: 'error', observedGeneration, warning: `ValidatingAdmissionPolicy is not generated: ${(e as Error).message}` };
    }
  }

  async removeTemplate(template: KubeObject): Promise<void> {
    this.policyKinds.delete(template.spec?.crd?.spec?.names?.kind ?? '');
    this.generated.delete(template.metadata.name);
    await this.ignoringErrors(`ValidatingAdmissionPolicy of ${template.metadata.name}`, async (version) =>
      this.client.delete(this.path(version, 'validatingadmissionpolicies', policyName(template.metadata.name))),
    );
  }

  /** Creates, updates or deletes the constraint's binding; the enforcement point status, undefined when none is generated. */
  async syncConstraint(kind: string, constraint: KubeObject): Promise<EnforcementPointStatus | undefined> {
    const observedGeneration = constraint.metadata.generation;
    const status = (state: EnforcementPointStatus['state'], message?: string): EnforcementPointStatus => ({
      enforcementPoint: VAP_ENFORCEMENT_POINT,
      state,
      ...(message ? { message } : {}),
      ...(observedGeneration !== undefined ? { observedGeneration } : {}),
    });
    try {
      const actions = bindingActions(constraint, this.opts.defaultCreateBinding);
      const version = await this.apiVersion();
      if (!version) return actions.length ? status('error', 'ValidatingAdmissionPolicy API is not enabled in the cluster') : undefined;
      const path = this.path(version, 'validatingadmissionpolicybindings', bindingName(kind, constraint.metadata.name));
      if (actions.length && !this.policyKinds.has(kind)) {
        await this.client.delete(path);
        return status('error', 'cannot generate ValidatingAdmissionPolicyBinding: conditions are not satisfied to generate ValidatingAdmissionPolicy and ValidatingAdmissionPolicyBinding');
      }
      if (!actions.length) {
        await this.client.delete(path);
        return undefined;
      }
      await this.client.apply(path, constraintToBinding(constraint, kind, actions, version), FIELD_MANAGER);
      this.opts.logger.info({ constraint: `${kind}/${constraint.metadata.name}` }, 'ValidatingAdmissionPolicyBinding applied');
      return status('generated');
    } catch (e) {
      this.opts.logger.error({ constraint: `${kind}/${constraint.metadata.name}`, err: (e as Error).message }, 'ValidatingAdmissionPolicyBinding not generated');
      return status('error', (e as Error).message);
    }
  }

  async removeConstraint(kind: string, name: string): Promise<void> {
    await this.ignoringErrors(`ValidatingAdmissionPolicyBinding of ${kind}/${name}`, async (version) =>
      this.client.delete(this.path(version, 'validatingadmissionpolicybindings', bindingName(kind, name))),
    );
  }

  private async ignoringErrors(what: string, f: (version: string) => Promise<void>): Promise<void> {
    try {
      const version = await this.apiVersion();
      if (version) await f(version);
    } catch (e) {
      this.opts.logger.warn({ err: (e as Error).message }, `${what} not deleted`);
    }
  }
}
