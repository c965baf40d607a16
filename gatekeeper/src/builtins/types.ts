/** A host-implemented builtin: JSON arguments in, a JSON value (or undefined for "undefined") out. */
export type Builtin = (...args: unknown[]) => unknown;
export type BuiltinTable = Record<string, Builtin>;

/** An error a builtin raises; the engine reports it as a violation of the constraint being evaluated. */
export class BuiltinError extends Error {
  constructor(
    readonly builtin: string,
    message: string,
  ) {
    super(`${builtin}: ${message}`);
    this.name = 'BuiltinError';
  }
}

/** Per-evaluation state: OPA gives every call of time.now_ns within one query the same value. */
export interface EvalContext {
  nowNs?: bigint;
  /** rand.intn's and uuid.rfc4122's values within one query: OPA caches these per query and arguments. */
  perQuery?: Map<string, unknown>;
  /**
   * OPA's strict builtin errors: a builtin error fails the evaluation. Gatekeeper evaluates without it, so a failing
   * builtin call is undefined (the error is only collected in builtinErrors); the reference tests turn it on to compare
   * error messages with `opa eval --strict-builtin-errors`.
   */
  strictBuiltinErrors?: boolean;
  builtinErrors?: BuiltinError[];
}

/** A set argument, for the builtins that must tell a set from an array (setArgBuiltins); JSON would make it an array. */
export class RegoSetArg {
  constructor(readonly items: unknown[]) {}
}
