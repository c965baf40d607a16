// What a review asks and answers: the engine's public types, shared by the webhook, the audit, the CLI and the export.
import type { Logger } from 'pino';
import type { PolicyProvenance } from './provenance.js';

export interface ReviewRequest {
  uid?: string;
  kind: { group: string; version: string; kind: string };
  resource?: { group: string; version: string; resource: string };
  subResource?: string;
  name?: string;
  namespace?: string;
  operation?: string;
  userInfo?: { username?: string; uid?: string; groups?: string[] };
  object?: any;
  oldObject?: any;
  dryRun?: boolean;
  options?: any;
  source?: 'Original' | 'Generated';
}
export interface ConstraintRef {
  kind: string;
  name: string;
  enforcementAction: string;
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
  /** Which version of which policy: set when the constraint is stored, with its template's provenance. */
  policy?: PolicyProvenance;
  /** `policy` serialised once at load, spliced as is into the records on the webhook's thread. */
  policyJson?: string;
}
/** The engine that evaluated a template: its Rego (compiled to wasm) or its K8sNativeValidation block (CEL). */
export type EngineName = 'rego' | 'cel';

export interface Violation {
  constraint: ConstraintRef;
  /** Which engine decided. */
  engine: EngineName;
  /** Effective action for the enforcement point asked for (deny|dryrun|warn, or unrecognized); the strictest when scoped. */
  enforcementAction: string;
  /** A scoped constraint: every action it lists for the enforcement point (Gatekeeper's scopedEnforcementActions). */
  enforcementActions?: string[];
  /** The constraint could not be matched (unknown Namespace...): Gatekeeper's autoreject, not the template's verdict. */
  autoreject?: true;
  msg: string;
  details?: unknown;
  /** Found on a resource an ExpansionTemplate implies (Gatekeeper's `[Implied by <template>]` results), not on the object itself. */
  implied?: ImpliedResource;
}
/** The ExpansionTemplate and the generated resource behind an implied violation. */
export interface ImpliedResource {
  template: string;
  resource: { group: string; version: string; kind: string; namespace?: string; name?: string };
}
export interface ReviewOptions {
  enforcementPoint?: string;
  deadlineMs?: number;
  /**
   * The Namespace object of the review's namespace, looked up by the caller (cluster mode: watched cache, then the API);
   * null: looked up and not found. Undefined: taken from data.inventory (gator, files).
   */
  namespace?: Record<string, any> | null;
}
export interface ReviewResult {
  violations: Violation[];
  evaluatedConstraints: number;
  durationMs: number;
  /** The labels of the reviewed object's Namespace, as the engine holds it (inventory), or a Namespace's own labels. */
  namespaceLabels?: Record<string, string>;
}

export interface EngineOptions {
  /** The opa CLI; default: $GATEKEEPER_OPA_PATH, `opa` on PATH, then the project's peer cache. */
  opaPath?: string;
  /** Compiled wasm cache; default $XDG_CACHE_HOME/gk-exporter/wasm. */
  cacheDir?: string;
  /** Parallel opa builds; default: number of CPUs. */
  compileConcurrency?: number;
  /** Linear-memory cap of each template's wasm instance, MiB (default 1024); an evaluation past it is an error. */
  maxModuleMemoryMiB?: number;
  /** Evaluate a template's K8sNativeValidation (CEL) block when it has one (Gatekeeper's default, true); false: Rego. */
  enableK8sNativeValidation?: boolean;
  /** Cost budget of one CEL evaluation (one constraint, one review); default Kubernetes' per-call limit 1,000,000. */
  celCostLimit?: number;
  /** Failure policy of a CEL source without one (Gatekeeper's --default-k8s-native-validation-failure-policy); default Fail. */
  celDefaultFailurePolicy?: 'Fail' | 'Ignore';
  logger?: Logger;
}

/** Thrown by review() when opts.deadlineMs passes before every matching constraint was evaluated. */
export class ReviewDeadlineError extends Error {
  constructor(
    readonly deadlineMs: number,
    readonly evaluated: number,
  ) {
    super(`review exceeded its deadline of ${deadlineMs} ms after ${evaluated} constraint(s)`);
    this.name = 'ReviewDeadlineError';
  }
}
