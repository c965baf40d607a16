// The `source` of a ConstraintTemplate's `K8sNativeValidation` code block, read as Gatekeeper's k8scel driver reads it
// (pkg/drivers/k8scel/schema): variables, validations, matchCondition (singular JSON key), failurePolicy, generateVAP.
// Unknown fields are ignored, as Go's unstructured converter ignores them; a field of the wrong type, a reserved
// variable or match-condition name and an unknown failure policy are errors, with Gatekeeper's wording.

export const CEL_ENGINE = 'K8sNativeValidation';
/** No user-defined variable or match condition may start with it (Gatekeeper keeps it for its own). */
export const RESERVED_PREFIX = 'gatekeeper_internal_';

export interface CelNamedExpression {
  name: string;
  expression: string;
}

export interface CelValidation {
  expression: string;
  message: string;
  messageExpression: string;
}

export interface CelSource {
  variables: CelNamedExpression[];
  validations: CelValidation[];
  matchConditions: CelNamedExpression[];
  failurePolicy: 'Fail' | 'Ignore';
  /** source.generateVAP as written (undefined: the cluster-wide default decides). */
  generateVAP?: boolean;
}

export class CelSourceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CelSourceError';
  }
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v);

function list(source: Obj, key: string): Obj[] {
  const v = source[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new CelSourceError(`could not recognize the type: source.${key} must be a list`);
  return v.map((item, i) => {
    if (!isObj(item)) throw new CelSourceError(`could not recognize the type: source.${key}[${i}] must be an object`);
    return item;
  });
}

function text(item: Obj, field: string, where: string): string {
  const v = item[field];
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw new CelSourceError(`could not recognize the type: ${where}.${field} must be a string`);
  return v;
}

export type FailurePolicy = CelSource['failurePolicy'];

/**
 * The K8sNativeValidation source of a template's code block; throws CelSourceError as Gatekeeper rejects it.
 * defaultFailurePolicy applies when the source has none (Gatekeeper's --default-k8s-native-validation-failure-policy).
 */
export function parseCelSource(raw: unknown, defaultFailurePolicy: FailurePolicy = 'Fail'): CelSource {
  if (!isObj(raw)) throw new CelSourceError('could not recognize the type: source must be an object');
  const variables = list(raw, 'variables').map((v, i) => ({ name: text(v, 'name', `source.variables[${i}]`), expression: text(v, 'expression', `source.variables[${i}]`) }));
  const matchConditions = list(raw, 'matchCondition').map((m, i) => ({
    name: text(m, 'name', `source.matchCondition[${i}]`),
    expression: text(m, 'expression', `source.matchCondition[${i}]`),
  }));
  const validations = list(raw, 'validations').map((v, i) => ({
    expression: text(v, 'expression', `source.validations[${i}]`),
    message: text(v, 'message', `source.validations[${i}]`),
    messageExpression: text(v, 'messageExpression', `source.validations[${i}]`),
  }));
  for (const m of matchConditions) {
    if (m.name.startsWith(RESERVED_PREFIX)) {
      throw new CelSourceError(`invalid match condition: ${m.name} is not a valid match condition; cannot have "${RESERVED_PREFIX}" as a prefix`);
    }
  }
  for (const v of variables) {
    if (v.name.startsWith(RESERVED_PREFIX)) {
      throw new CelSourceError(`invalid variable definition: ${v.name} is not a valid variable; cannot have "${RESERVED_PREFIX}" as a prefix`);
    }
    for (const reserved of ['params', 'anyObject']) {
      if (v.name === reserved) throw new CelSourceError(`invalid variable definition: ${reserved} an invalid variable name, "${reserved}" is a reserved keyword`);
    }
  }
  const fp = raw.failurePolicy;
  if (fp !== undefined && fp !== null && fp !== 'Fail' && fp !== 'Ignore') {
    throw new CelSourceError(`invalid failure policy: unrecognized failure policy: ${typeof fp === 'string' ? fp : JSON.stringify(fp)}`);
  }
  const gen = raw.generateVAP;
  if (gen !== undefined && gen !== null && typeof gen !== 'boolean') throw new CelSourceError('could not recognize the type: source.generateVAP must be a boolean');
  const failurePolicy = fp === 'Fail' || fp === 'Ignore' ? fp : defaultFailurePolicy;
  const out: CelSource = { variables, validations, matchConditions, failurePolicy };
  if (typeof gen === 'boolean') out.generateVAP = gen;
  return out;
}
