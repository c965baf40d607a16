// Keeps the engine in step with the cluster's ConstraintTemplates and constraints, as Gatekeeper's constrainttemplate and
// constraint controllers do: a template is compiled, gets its constraint CRD (or its errors in status.byPod and no CRD),
// and its constraints are watched through that CRD; deleting a template removes its CRD. Changes reach the engine as
// watch events arrive, so the webhook and the audit use them within seconds, without a restart.
import type { Logger } from 'pino';
import { resourcePath, type KubeClient, type KubeObject } from './client.js';
import { CONSTRAINT_VERSION, CONSTRAINTS_GROUP, TEMPLATES_GROUP, constraintCrd } from './crds.js';
import { Informer } from './informer.js';
import type { PolicyTarget } from './policy-mirror.js';
import { removeByPod, setByPod, updateStatus } from './status.js';
import type { VapGenerationStatus, VapGenerator } from './vap/generator.js';

export interface PolicyControllerOptions {
  /** The engine, or the mirror that also feeds the evaluation workers. */
  engine: PolicyTarget;
  /** This process's id in status.byPod (the pod name). */
  podId: string;
  /** Gatekeeper's operations of this process, written into status.byPod (e.g. ["audit", "status", "webhook"]). */
  operations: string[];
  /** Create/update/delete the constraint CRDs (a process that only audits may leave this to the webhook pods). */
  manageCrds: boolean;
  /** Write status.byPod entries. */
  writeStatus: boolean;
  /** How long to wait for a new constraint CRD to be Established (default 60 s). */
  crdEstablishTimeoutMs?: number;
  /** Generates ValidatingAdmissionPolicies and bindings (cluster mode). */
  vap?: VapGenerator;
  logger: Logger;
  onChange?: (state: PolicyControllerState) => void;
}

export interface PolicyControllerState {
  templates: Array<{ name: string; kind: string; errors: string[] }>;
  constraints: Array<{ kind: string; name: string; enforcementAction: string; error?: string }>;
}

interface TemplateEntry {
  name: string;
  kind: string;
  generation: number | undefined;
  errors: string[];
  constraints?: Informer;
}

const TEMPLATES_PATH = `/apis/${TEMPLATES_GROUP}/v1/constrainttemplates`;
const FIELD_MANAGER = 'gatekeeper';
/** Concurrent status writes when a stopping replica withdraws its byPod entries. */
const STATUS_WRITERS = 8;

export function constraintsPath(kind: string, name?: string): string {
  return resourcePath({ group: CONSTRAINTS_GROUP, version: CONSTRAINT_VERSION, plural: kind.toLowerCase(), name });
}

export class PolicyController {
  private readonly templates = new Map<string, TemplateEntry>(); // by template name
  private readonly constraintErrors = new Map<string, string>(); // kind/name → error
  private readonly constraintGenerations = new Map<string, number | undefined>();
  private templateInformer: Informer | undefined;
  private readyFlag = false;
  private stopped = false;

  constructor(
    private readonly client: KubeClient,
    private readonly opts: PolicyControllerOptions,
  ) {}

  /** True once every template present at start is compiled and the constraints of each are loaded. */
  get ready(): boolean {
    return this.readyFlag;
  }

  state(): PolicyControllerState {
    const constraints: PolicyControllerState['constraints'] = [];
    for (const t of this.templates.values()) {
      for (const c of t.constraints?.list() ?? []) {
        const key = `${t.kind}/${c.metadata.name}`;
        const error = this.constraintErrors.get(key);
        constraints.push({ kind: t.kind, name: c.metadata.name, enforcementAction: c.spec?.enforcementAction || 'deny', ...(error ? { error } : {}) });
      }
    }
    return { templates: [...this.templates.values()].map((t) => ({ name: t.name, kind: t.kind, errors: t.errors })), constraints };
  }

  async start(): Promise<void> {
    this.templateInformer = new Informer(
      this.client,
      { path: TEMPLATES_PATH, stamp: { apiVersion: `${TEMPLATES_GROUP}/v1`, kind: 'ConstraintTemplate' }, logger: this.opts.logger },
      {
        add: (t) => this.onTemplate(t),
        update: (t) => this.onTemplate(t),
        delete: (t) => this.onTemplateDeleted(t),
      },
    ).start();
    await this.templateInformer.synced;
    await Promise.all([...this.templates.values()].map((t) => t.constraints?.synced));
    this.readyFlag = true;
    this.changed();
    this.opts.logger.info({ templates: this.templates.size, constraints: this.state().constraints.length }, 'templates and constraints loaded');
  }

  /** Stops watching; then, as a replica that goes away, withdraws its status.byPod entries (Gatekeeper drops stale pods'). */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.templateInformer?.stop();
    await Promise.all([...this.templates.values()].map((t) => t.constraints?.stop()));
    if (this.opts.writeStatus) await this.removeOwnStatus();
  }

  private async removeOwnStatus(): Promise<void> {
    const paths = [
      ...[...this.templates.values()].map((t) => `${TEMPLATES_PATH}/${t.name}`),
      ...this.constraintObjects().map(({ kind, obj }) => constraintsPath(kind, obj.metadata.name)),
    ];
    let next = 0;
    const worker = async () => {
      while (next < paths.length) {
        const path = paths[next++]!;
        // Few attempts: a stopping process must not linger on an unreachable API server.
        await updateStatus(this.client, path, (status) => removeByPod(status, this.opts.podId), 3).catch((e) =>
          this.opts.logger.warn({ path, err: (e as Error).message }, 'could not remove this pod from status.byPod'),
        );
      }
    };
    await Promise.all(Array.from({ length: Math.min(STATUS_WRITERS, paths.length) }, worker));
    this.opts.logger.info({ objects: paths.length }, 'removed this pod from status.byPod');
  }

  private changed(): void {
    this.opts.onChange?.(this.state());
  }

  private async onTemplate(t: KubeObject): Promise<void> {
    const name = t.metadata.name;
    const kind: string | undefined = t.spec?.crd?.spec?.names?.kind;
    const prev = this.templates.get(name);
    if (prev && prev.generation === t.metadata.generation && prev.kind === kind) return; // a status-only change
    let errors: string[] = [];
    if (!kind) errors = [`ConstraintTemplate ${name}: spec.crd.spec.names.kind is required`];
    else if (kind.toLowerCase() !== name) errors = [`ConstraintTemplate ${name}: its name must be the lowercase of its kind ${kind} ("${kind.toLowerCase()}")`];
    if (prev && prev.kind !== kind) await this.dropKind(prev);

    if (!errors.length) {
      try {
        errors = (await this.opts.engine.upsertTemplate(t)).errors;
      } catch (e) {
        errors = [(e as Error).message];
      }
    }
    const entry: TemplateEntry = { name, kind: kind ?? '', generation: t.metadata.generation, errors, ...(prev && prev.kind === kind && prev.constraints ? { constraints: prev.constraints } : {}) };
    this.templates.set(name, entry);
    let crdError: string | undefined;
    let vapStatus: VapGenerationStatus | undefined;
    if (!errors.length) {
      try {
        if (this.opts.manageCrds) await this.applyCrd(t, kind!);
        vapStatus = await this.opts.vap?.syncTemplate(t);
        if (!entry.constraints) entry.constraints = this.watchConstraints(kind!);
        else for (const c of entry.constraints.list()) await this.onConstraint(kind!, c, true); // recompiled: constraints again
      } catch (e) {
        crdError = (e as Error).message;
      }
    } else {
      this.opts.logger.error({ template: name, errors }, 'template does not compile; no constraint CRD');
    }
    if (this.opts.writeStatus) {
      await updateStatus(this.client, `${TEMPLATES_PATH}/${name}`, (status) => {
        const allErrors = [...errors.map((message) => ({ code: 'ingest_error', message })), ...(crdError ? [{ code: 'create_error', message: crdError }] : [])];
        status['created'] = allErrors.length === 0;
        setByPod(status, {
          id: this.opts.podId,
          observedGeneration: t.metadata.generation,
          operations: this.opts.operations,
          templateUID: t.metadata.uid,
          ...(allErrors.length ? { errors: allErrors } : {}),
          ...(vapStatus ? { vapGenerationStatus: vapStatus } : {}),
        });
      }).catch((e) => this.opts.logger.warn({ template: name, err: (e as Error).message }, 'could not write template status'));
    }
    this.changed();
  }

  private async onTemplateDeleted(t: KubeObject): Promise<void> {
    const entry = this.templates.get(t.metadata.name);
    this.templates.delete(t.metadata.name);
    if (entry) await this.dropKind(entry);
    if (!this.stopped) await this.opts.vap?.removeTemplate(t);
    this.changed();
  }

  /** Forgets a kind: its constraints leave the engine, the template too, and its CRD is deleted. */
  private async dropKind(entry: TemplateEntry): Promise<void> {
    await entry.constraints?.stop();
    for (const key of [...this.constraintErrors.keys()]) if (key.startsWith(`${entry.kind}/`)) this.constraintErrors.delete(key);
    for (const key of [...this.constraintGenerations.keys()]) if (key.startsWith(`${entry.kind}/`)) this.constraintGenerations.delete(key);
    if (!entry.kind) return;
    for (const c of entry.constraints?.list() ?? []) {
      try {
        this.opts.engine.removeConstraint(entry.kind, c.metadata.name);
      } catch {
        /* never loaded */
      }
    }
    this.opts.engine.removeTemplate(entry.kind);
    if (this.opts.manageCrds && !this.stopped) {
      await this.client.delete(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${entry.kind.toLowerCase()}.${CONSTRAINTS_GROUP}`);
      this.opts.logger.info({ kind: entry.kind }, 'constraint CRD deleted');
    }
  }

  private async applyCrd(t: KubeObject, kind: string): Promise<void> {
    const validation = t.spec?.crd?.spec?.validation ?? {};
    const apiVersion = String(t.apiVersion ?? `${TEMPLATES_GROUP}/v1`);
    const legacyDefault = !apiVersion.endsWith('/v1');
    const crd = constraintCrd({
      kind,
      shortNames: t.spec?.crd?.spec?.names?.shortNames,
      parametersSchema: validation.openAPIV3Schema,
      legacySchema: validation.legacySchema ?? legacyDefault,
      templateName: t.metadata.name,
      ...(t.metadata.uid ? { templateUid: t.metadata.uid } : {}),
    });
    const name = `${kind.toLowerCase()}.${CONSTRAINTS_GROUP}`;
    const path = `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`;
    await this.client.apply(path, crd, FIELD_MANAGER);
    const until = Date.now() + (this.opts.crdEstablishTimeoutMs ?? 60_000);
    for (;;) {
      const cur = await this.client.get(path);
      const conds: Array<{ type: string; status: string; message?: string }> = cur.status?.conditions ?? [];
      if (conds.some((c) => c.type === 'Established' && c.status === 'True')) return;
      const bad = conds.find((c) => c.type === 'NamesAccepted' && c.status === 'False');
      if (bad) throw new Error(`constraint CRD ${name}: names not accepted: ${bad.message ?? ''}`);
      if (Date.now() > until) throw new Error(`constraint CRD ${name} not Established after ${this.opts.crdEstablishTimeoutMs ?? 60_000} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  private watchConstraints(kind: string): Informer {
    this.opts.logger.info({ kind }, 'watching constraints');
    return new Informer(
      this.client,
      { path: constraintsPath(kind), stamp: { apiVersion: `${CONSTRAINTS_GROUP}/${CONSTRAINT_VERSION}`, kind }, logger: this.opts.logger },
      {
        add: (c) => this.onConstraint(kind, c),
        update: (c) => this.onConstraint(kind, c),
        delete: (c) => this.onConstraintDeleted(kind, c),
      },
    ).start();
  }

  private async onConstraint(kind: string, c: KubeObject, force = false): Promise<void> {
    const key = `${kind}/${c.metadata.name}`;
    if (!force && this.constraintGenerations.has(key) && this.constraintGenerations.get(key) === c.metadata.generation) return;
    this.constraintGenerations.set(key, c.metadata.generation);
    let error: string | undefined;
    try {
      this.opts.engine.upsertConstraint(c);
      this.constraintErrors.delete(key);
    } catch (e) {
      error = (e as Error).message;
      this.constraintErrors.set(key, error);
      this.opts.logger.error({ constraint: key, err: error }, 'constraint rejected');
    }
    const vapStatus = error ? undefined : await this.opts.vap?.syncConstraint(kind, c);
    this.changed();
    if (!this.opts.writeStatus) return;
    await updateStatus(this.client, constraintsPath(kind, c.metadata.name), (status) => {
      setByPod(status, {
        id: this.opts.podId,
        observedGeneration: c.metadata.generation,
        operations: this.opts.operations,
        constraintUID: c.metadata.uid,
        enforced: !error,
        ...(error ? { errors: [{ code: 'ingest_error', message: error }] } : {}),
        ...(vapStatus ? { enforcementPointsStatus: [vapStatus] } : {}),
      });
    }).catch((e) => this.opts.logger.warn({ constraint: key, err: (e as Error).message }, 'could not write constraint status'));
  }

  private async onConstraintDeleted(kind: string, c: KubeObject): Promise<void> {
    const key = `${kind}/${c.metadata.name}`;
    this.constraintErrors.delete(key);
    this.constraintGenerations.delete(key);
    if (!this.stopped) await this.opts.vap?.removeConstraint(kind, c.metadata.name);
    try {
      this.opts.engine.removeConstraint(kind, c.metadata.name);
    } catch (e) {
      this.opts.logger.debug({ constraint: key, err: (e as Error).message }, 'constraint was not loaded');
    }
    this.changed();
  }

  /** The ConstraintTemplate defining a constraint kind, from the watch cache. */
  templateOf(kind: string): KubeObject | undefined {
    return this.templateInformer?.list().find((t) => t.spec?.crd?.spec?.names?.kind === kind);
  }

  /** The constraints currently loaded, from the watch caches (for the audit's status writer). */
  constraintObjects(): Array<{ kind: string; obj: KubeObject }> {
    const out: Array<{ kind: string; obj: KubeObject }> = [];
    for (const t of this.templates.values()) for (const c of t.constraints?.list() ?? []) out.push({ kind: t.kind, obj: c });
    return out;
  }
}
