// The policy engine: ConstraintTemplates compiled to wasm (one loaded instance per template, reused for every review),
// constraints matched before anything is evaluated, data.inventory handed to a module only when it changed.
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { BuiltinError, forbiddenBuiltins } from '../builtins/index.js';
import { CelTemplate, celConstraint, celReview, type CelConstraint, type CelReview } from '../cel/program.js';
import { checkCelOptions, loadCelTemplate, type CelOptions } from '../cel/template-cache.js';
import { matches, type MatchFailure } from '../match/match.js';
import { OpaCompiler } from '../templates/compiler.js';
import { defaultCacheDir, findOpa } from '../templates/opa-path.js';
import { parseTemplate, TemplateError, type ParsedTemplate } from '../templates/template.js';
import { actionsAt, checkSchema, ConstraintError, ENFORCEMENT_POINTS, parseConstraint, type ParsedConstraint } from './constraint.js';
import { Inventory } from './inventory.js';
import { SharedInputs, type SharedReview } from './shared-input.js';
import { DEFAULT_MAX_MEMORY_MIB, missingBuiltins, TemplateModule } from './wasm.js';
import { constraintRef, templateProvenance, type TemplateProvenance } from './provenance.js';
import { ReviewDeadlineError, type ConstraintRef, type EngineName, type EngineOptions, type ReviewOptions, type ReviewRequest, type ReviewResult, type Violation } from './review-types.js';

export { ConstraintError, ENFORCEMENT_POINTS } from './constraint.js';
export * from './review-types.js';

interface TemplateEntry {
  name: string;
  kind: string;
  parsed?: ParsedTemplate;
  /** Which of module and cel is set: the engine chosen for the template. */
  engine: EngineName;
  module?: TemplateModule;
  cel?: CelTemplate;
  /** Inventory version last given to the module with setData. */
  dataVersion: number;
  /** Whether the Rego reads `data` beyond its libs; the others never get a copy of the inventory. */
  readsData: boolean;
  /** Evaluates the review parsed once for all such templates (shared-input.ts) rather than parsing it itself. */
  sharesInput: boolean;
  errors: string[];
  generation: number;
  /** Template name, generation and content hash, computed once when the template loads. */
  provenance: TemplateProvenance;
}

/**
 * Whether a template may read data.inventory: any reference to `data` other than `data.lib.*` imports, comments
 * aside. Each module holds its own copy of the inventory, so templates that never read it are spared that memory.
 */
export function readsData(t: ParsedTemplate): boolean {
  return t.modules.some((m) => {
    const code = m.source.replace(/"(?:[^"\\\n]|\\.)*"/g, '""').replace(/#.*$/gm, '');
    return /\bdata\b(?!\s*\.\s*lib\b)/.test(code);
  });
}

const encoder = new TextEncoder();
const PARAMS_PREFIX = encoder.encode('{"parameters":');
const REVIEW_PREFIX = encoder.encode(',"review":');
const CLOSE = encoder.encode('}');

/** The input document a template sees: {"parameters": …, "review": …}, as JSON text. */
function inputJson(params: Uint8Array, review: Uint8Array): Uint8Array {
  const input = new Uint8Array(PARAMS_PREFIX.length + params.length + REVIEW_PREFIX.length + review.length + CLOSE.length);
  let off = 0;
  for (const part of [PARAMS_PREFIX, params, REVIEW_PREFIX, review, CLOSE]) {
    input.set(part, off);
    off += part.length;
  }
  return input;
}

type StoredConstraint = ParsedConstraint & { paramsBytes: Uint8Array; ref: ConstraintRef; cel?: CelConstraint };


const loaded = (t: TemplateEntry | undefined): boolean => !!(t?.module || t?.cel);

export class PolicyEngine {
  private readonly templates = new Map<string, TemplateEntry>();
  private readonly constraints = new Map<string, Map<string, StoredConstraint>>();
  private readonly inventory = new Inventory();
  private readonly sharedInputs = new SharedInputs();
  private generation = 0;

  private constructor(
    readonly compiler: OpaCompiler,
    private readonly logger?: Logger,
    private readonly maxModuleMemoryMiB?: number,
    private readonly celEnabled = true,
    private readonly celOptions: CelOptions = {},
  ) {}

  static async create(opts: EngineOptions = {}): Promise<PolicyEngine> {
    const compiler = new OpaCompiler({
      opaPath: findOpa(opts.opaPath),
      cacheDir: opts.cacheDir ?? defaultCacheDir(),
      concurrency: opts.compileConcurrency,
      logger: opts.logger,
    });
    if (opts.maxModuleMemoryMiB !== undefined && !(opts.maxModuleMemoryMiB >= 1 && opts.maxModuleMemoryMiB <= 4096)) {
      throw new Error(`maxModuleMemoryMiB must be between 1 and 4096, got ${opts.maxModuleMemoryMiB}`);
    }
    const celOptions = checkCelOptions({ costLimit: opts.celCostLimit, defaultFailurePolicy: opts.celDefaultFailurePolicy });
    return new PolicyEngine(compiler, opts.logger, opts.maxModuleMemoryMiB, opts.enableK8sNativeValidation !== false, celOptions);
  }

  /** Reads, compiles (cached by content hash) and loads a ConstraintTemplate. Errors name the template, file and line. */
  async upsertTemplate(obj: unknown): Promise<{ kind: string; errors: string[] }> {
    let parsed: ParsedTemplate;
    try {
      parsed = parseTemplate(obj);
      checkSchema(parsed.schema, parsed.name);
    } catch (e) {
      if (e instanceof TemplateError || e instanceof ConstraintError) {
        const kind = (obj as any)?.spec?.crd?.spec?.names?.kind;
        return { kind: typeof kind === 'string' ? kind : '', errors: [e.message] };
      }
      throw e;
    }
    const generation = ++this.generation;
    const previous = this.templates.get(parsed.kind);
    if (previous && previous.name !== parsed.name) {
      return { kind: parsed.kind, errors: [`template ${parsed.name}: kind ${parsed.kind} is already defined by template ${previous.name}`] };
    }
    let module: TemplateModule | undefined;
    let cel: CelTemplate | undefined;
    const errors: string[] = [];
    const engine = this.engineFor(parsed);
    if (engine === 'cel') {
      const compiled = loadCelTemplate(parsed.name, parsed.celSource, { ...this.celOptions, logger: this.logger });
      cel = compiled.cel;
      errors.push(...compiled.errors);
    } else if (!parsed.modules.length) {
      errors.push(`template ${parsed.name}: has only a K8sNativeValidation (CEL) source, and CEL is disabled (--enable-k8s-native-validation=false)`);
    } else try {
      const compiled = await this.compiler.compile(parsed);
      module = await TemplateModule.instantiate(compiled.module, compiled.entrypoint, this.maxModuleMemoryMiB);
      const forbidden = module.builtinNames.filter((b) => forbiddenBuiltins.has(b));
      const missing = missingBuiltins(module.builtinNames).filter((b) => !forbiddenBuiltins.has(b));
      if (forbidden.length) errors.push(`template ${parsed.name}: calls ${forbidden.join(', ')}, which templates may not use`);
      if (missing.length) errors.push(`template ${parsed.name}: calls ${missing.join(', ')}, which this engine does not provide`);
      if (errors.length) module = undefined;
    } catch (e) {
      errors.push((e as Error).message.startsWith(`template ${parsed.name}`) ? (e as Error).message : `template ${parsed.name}: ${(e as Error).message}`);
    }
    const current = this.templates.get(parsed.kind);
    if (current && current.generation > generation) return { kind: parsed.kind, errors }; // a newer upsert won
    if (errors.length && current && loaded(current)) {
      // keep serving the last good version, but report the error
      current.errors = errors;
      current.generation = generation;
      this.logger?.warn({ template: parsed.name, errors }, 'template update failed; keeping the previous version');
      return { kind: parsed.kind, errors };
    }
    // a template whose kind changed: its old kind (and that kind's constraints) go
    for (const [kind, entry] of this.templates) {
      if (entry.name === parsed.name && kind !== parsed.kind) this.removeTemplate(kind);
    }
    const reads = readsData(parsed);
    const sharesInput = !!module && !reads && this.sharedInputs.admit(module);
    this.templates.set(parsed.kind, { name: parsed.name, kind: parsed.kind, parsed, engine, module, cel, dataVersion: -1, readsData: reads, sharesInput, errors, generation, provenance: templateProvenance(parsed.name, obj) });
    // constraints of this kind must still satisfy the (possibly new) schema
    for (const [name, c] of this.constraints.get(parsed.kind) ?? []) {
      try {
        this.storeConstraint(parseConstraint(c.raw, parsed));
      } catch (e) {
        this.constraints.get(parsed.kind)!.delete(name);
        this.logger?.warn({ constraint: `${c.kind}/${name}`, err: (e as Error).message }, 'constraint dropped: it no longer fits its template');
      }
    }
    return { kind: parsed.kind, errors };
  }

  /** The engine a template runs on: CEL when it has a K8sNativeValidation block and CEL is enabled (Gatekeeper's order). */
  engineFor(t: ParsedTemplate): EngineName {
    return this.celEnabled && t.celSource !== undefined ? 'cel' : 'rego';
  }

  removeTemplate(kind: string): void {
    this.templates.delete(kind);
    this.constraints.delete(kind);
  }

  /** Adds or replaces a constraint; throws ConstraintError (unknown kind, bad match, parameters not fitting the schema). */
  upsertConstraint(obj: unknown): void {
    const kind = (obj as any)?.kind;
    const t = typeof kind === 'string' ? this.templates.get(kind) : undefined;
    if (t && !loaded(t)) {
      throw new ConstraintError(`constraint ${kind}/${(obj as any)?.metadata?.name ?? '(no name)'}: template ${t.name} is not loaded: ${t.errors.join('; ')}`, 'kind');
    }
    const parsed = parseConstraint(obj, t?.parsed ? { name: t.name, schema: t.parsed.schema } : undefined);
    this.storeConstraint(parsed);
  }

  private storeConstraint(c: ParsedConstraint): void {
    let byName = this.constraints.get(c.kind);
    if (!byName) this.constraints.set(c.kind, (byName = new Map()));
    byName.set(c.name, { ...c, paramsBytes: encoder.encode(c.parametersJson), ref: constraintRef(c, this.templates.get(c.kind)?.provenance) });
  }

  removeConstraint(kind: string, name: string): void {
    this.constraints.get(kind)?.delete(name);
  }

  addInventory(obj: unknown): void {
    this.inventory.add(obj);
  }

  removeInventory(obj: unknown): void {
    this.inventory.remove(obj);
  }

  clearInventory(): void {
    this.inventory.clear();
  }

  /**
   * Evaluates every constraint that applies at the enforcement point (default validation.gatekeeper.sh) and whose
   * match selects the request. An evaluation error is a violation whose msg is the error.
   */
  async review(req: ReviewRequest, opts: ReviewOptions = {}): Promise<ReviewResult> {
    return this.reviewSync(req, opts);
  }

  reviewSync(req: ReviewRequest, opts: ReviewOptions = {}): ReviewResult {
    const started = performance.now();
    const point = opts.enforcementPoint ?? ENFORCEMENT_POINTS.validation;
    const review = req.operation === 'DELETE' && !req.object && req.oldObject ? { ...req, object: req.oldObject } : req;
    const group = review.kind?.group ?? '';
    const kind = review.kind?.kind ?? '';
    const target = {
      group,
      kind,
      object: review.object,
      oldObject: review.oldObject,
      namespace: review.namespace,
      namespaceObject:
        review.namespace && !(kind === 'Namespace' && group === '') ? (opts.namespace !== undefined ? opts.namespace ?? undefined : this.inventory.namespace(review.namespace)) : undefined,
      source: review.source,
    };
    const violations: Violation[] = [];
    let evaluated = 0;
    let reviewBytes: Uint8Array | undefined;
    let shared: SharedReview | undefined;
    let celInput: CelReview | undefined;
    const { source: _source, ...reviewInput } = review;

    // Matching first: the review is parsed once for the sharing templates only when two evaluations or more will use
    // it. For one, sharing costs more than it saves (the parsed image copied out and back, its booleans walked).
    const due: Array<{ t: TemplateEntry; c: StoredConstraint; actions: readonly string[]; matched: true | MatchFailure }> = [];
    let sharingEvaluations = 0;
    for (const [ckind, byName] of this.constraints) {
      if (!byName.size) continue;
      const t = this.templates.get(ckind);
      if (!t || !loaded(t)) continue;
      for (const c of byName.values()) {
        const actions = actionsAt(c, point);
        if (actions === undefined) continue;
        const matched = matches(c.match, target);
        if (!matched) continue;
        due.push({ t, c, actions, matched });
        if (matched === true && t.sharesInput) sharingEvaluations++;
      }
    }
    const share = sharingEvaluations >= 2;

    for (const { t, c, actions, matched } of due) {
      const ref = c.ref;
      const verdict = (msg: string): Violation => {
        const v: Violation = { constraint: ref, engine: t.engine, enforcementAction: actions[0]!, msg };
        if (c.enforcementAction === 'scoped') v.enforcementActions = [...actions];
        return v;
      };
      if (matched !== true) {
        violations.push({ ...verdict(matched.autoreject), autoreject: true });
        continue;
      }
      if (opts.deadlineMs !== undefined && performance.now() - started > opts.deadlineMs) {
        throw new ReviewDeadlineError(opts.deadlineMs, evaluated);
      }
      evaluated++;
      let results: Array<{ msg: string; details?: unknown }>;
      if (t.cel) {
        // Gatekeeper's CEL driver gets the namespace from the webhook and the audit; gator gives none.
        celInput ??= celReview(req, point === ENFORCEMENT_POINTS.gator ? null : (target.namespaceObject ?? null));
        results = t.cel.evaluate(celInput, (c.cel ??= celConstraint(c.raw, c.parameters)));
      } else {
        reviewBytes ??= encoder.encode(JSON.stringify(reviewInput));
        const sharing = share && t.sharesInput;
        if (sharing) shared ??= this.sharedInputs.review(reviewBytes);
        results = this.evaluate(t, c.paramsBytes, reviewBytes, sharing ? shared : undefined);
      }
      for (const r of results) {
        const v = verdict(r.msg);
        if (r.details !== undefined) v.details = r.details;
        violations.push(v);
      }
    }
    const labels = (kind === 'Namespace' && group === '' ? review.object : target.namespaceObject)?.metadata?.labels;
    return { violations, evaluatedConstraints: evaluated, durationMs: performance.now() - started, ...(labels && typeof labels === 'object' ? { namespaceLabels: labels } : {}) };
  }

  private evaluate(t: TemplateEntry, params: Uint8Array, review: Uint8Array, shared?: SharedReview): Array<{ msg: string; details?: unknown }> {
    const module = t.module!;
    if (t.readsData && t.dataVersion !== this.inventory.version) {
      module.setData(this.inventory.data());
      t.dataVersion = this.inventory.version;
    }
    let result: unknown;
    try {
      const parsed = shared?.for(module);
      result = parsed ? module.evaluateShared(parsed, params) : module.evaluate(inputJson(params, review));
    } catch (e) {
      const detail = e instanceof Error ? e.message : String(e);
      const msg = e instanceof BuiltinError ? detail : `template ${t.name}: evaluation failed: ${detail}${/malloc|memory/i.test(detail) ? ` (memory cap ${this.maxModuleMemoryMiB ?? DEFAULT_MAX_MEMORY_MIB} MiB)` : ''}`;
      this.logger?.debug({ template: t.name, err: msg }, 'template evaluation error');
      return [{ msg }];
    }
    if (result === undefined) return [];
    if (!Array.isArray(result)) return [{ msg: `template ${t.name}: violation is not a set (got ${typeof result})` }];
    return result.map((r) => {
      if (r && typeof r === 'object' && typeof (r as any).msg === 'string') return r as { msg: string; details?: unknown };
      return { msg: `template ${t.name}: a violation has no string msg: ${JSON.stringify(r)}` };
    });
  }

  listTemplates(): Array<{ kind: string; name: string; engine: EngineName; errors: string[] }> {
    return [...this.templates.values()].map((t) => ({ kind: t.kind, name: t.name, engine: t.engine, errors: [...t.errors] }));
  }

  listConstraints(): ConstraintRef[] {
    const out: ConstraintRef[] = [];
    for (const byName of this.constraints.values()) {
      for (const c of byName.values()) out.push(c.ref);
    }
    return out;
  }

  /** The parsed constraint (match, parameters, scoped actions), for callers that need more than the ref. */
  getConstraint(kind: string, name: string): ParsedConstraint | undefined {
    return this.constraints.get(kind)?.get(name);
  }

  /** Whether the template's module evaluates the review parsed once for all (false: it parses the input itself). */
  sharesInput(kind: string): boolean {
    return this.templates.get(kind)?.sharesInput === true;
  }

  get inventorySize(): number {
    return this.inventory.size;
  }
}
