// cel-spec conformance cases (@bufbuild/cel-spec) for what this engine claims: the suites of the language Kubernetes
// policies use, run through the same environment, identifier check and cost instrumentation as template expressions.
// Cases on protobuf messages, containers, optionals and other extensions Kubernetes policies do not reach are left out
// by rule below, and the counts are exact so a regression or a silently dropped case shows.
import t from 'tap';
import { isCelError, isCelList, isCelMap, isCelUint, parse, type CelValue } from '@bufbuild/cel';
import { tests } from '@bufbuild/cel-spec/testdata/conformance.js';
import { checkExpression } from '../../src/cel/check/checker.js';
import { typeString } from '../../src/cel/check/types.js';
import { compileExpression, dynDeclarations } from '../../src/cel/compile.js';
import { CostMeter, metered } from '../../src/cel/cost.js';
import { templateEnv } from '../../src/cel/env.js';

/** Suites and the number of their cases run (cases left out by OUT_OF_SCOPE excluded). */
const CLAIMED: Record<string, number> = {
  basic: 39,
  comparisons: 309,
  conversions: 108,
  fp_math: 29,
  integer_math: 61,
  lists: 39,
  logic: 21,
  macros: 44,
  macros2: 46,
  plumbing: 4,
  string: 51,
  string_ext: 165,
  fields: 40,
  timestamps: 73,
};
/**
 * What Kubernetes policies cannot reach or this engine does not claim: protobuf messages, optionals, extensions,
 * backquoted field names (newer CEL syntax @bufbuild/cel does not parse) and dotted variable names.
 */
const OUT_OF_SCOPE = /`|google\.protobuf|TestAllTypes|cel\.expr|NestedTestAllTypes|optional|\?\.|\[\?|cel\.bind|cel\.block|math\.|base64|dyn\(\[\]\)|proto/;

type Json = Record<string, any>;
/** The suite's shapes, taken from the data (conformance.js does not re-export its types). */
type SerializedIncrementalTestSuite = typeof tests;
type SerializedIncrementalTest = NonNullable<SerializedIncrementalTestSuite['tests']>[number];

/** Map results compare whatever their order (cel-spec: map literals are order independent). */
const sortEntries = (entries: unknown[][]) => entries.sort((a, b) => String(a[0]).localeCompare(String(b[0])));

/** A conformance value (protobuf JSON of cel.expr.Value) as what our engine returns, for comparison. */
function expected(v: Json): unknown {
  if ('int64Value' in v) return BigInt(v.int64Value);
  if ('uint64Value' in v) return { uint: BigInt(v.uint64Value) };
  if ('doubleValue' in v) return typeof v.doubleValue === 'string' ? Number(v.doubleValue === 'Infinity' ? Infinity : v.doubleValue === '-Infinity' ? -Infinity : NaN) : v.doubleValue;
  if ('stringValue' in v) return v.stringValue;
  if ('boolValue' in v) return v.boolValue;
  if ('nullValue' in v) return null;
  if ('bytesValue' in v) return { bytes: Buffer.from(v.bytesValue, 'base64').toString('hex') };
  if ('listValue' in v) return (v.listValue.values ?? []).map(expected);
  if ('mapValue' in v) return { map: sortEntries((v.mapValue.entries ?? []).map((e: Json) => [expected(e.key), expected(e.value)])) };
  if ('typeValue' in v) return { type: v.typeValue };
  return { unsupported: v };
}

function actual(v: CelValue): unknown {
  if (isCelUint(v)) return { uint: v.value };
  if (v instanceof Uint8Array) return { bytes: Buffer.from(v).toString('hex') };
  if (isCelList(v)) return [...v].map(actual);
  if (isCelMap(v)) return { map: sortEntries([...v.entries()].map(([k, x]) => [actual(k as CelValue), actual(x)])) };
  if (v && typeof v === 'object' && 'name' in v && typeof (v as { name: unknown }).name === 'string') return { type: (v as { name: string }).name };
  return v;
}

const same = (a: unknown, b: unknown): boolean => {
  if (typeof a === 'number' && typeof b === 'number') return (Number.isNaN(a) && Number.isNaN(b)) || a === b;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => same(x, b[i]));
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => same((a as Json)[k], (b as Json)[k]));
  }
  return a === b;
};

function bindingsOf(test: SerializedIncrementalTest): Record<string, unknown> | undefined {
  const b = test.original.bindings as Json | undefined;
  if (!b) return {};
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(b)) {
    if (!v.value) return undefined;
    const x = expected(v.value);
    if (x && typeof x === 'object' && !Array.isArray(x) && ('unsupported' in x || 'map' in x || 'uint' in x || 'bytes' in x || 'type' in x)) return undefined;
    out[k] = x;
  }
  return out;
}

/** undefined: passed; else why not. */
function runCase(test: SerializedIncrementalTest): string | undefined {
  const bindings = bindingsOf(test)!;
  const compiled = compileExpression(templateEnv(), test.original.expr, dynDeclarations(Object.keys(bindings)), undefined, { validators: false });
  const wantError = 'evalError' in test.original;
  if (!compiled.ok) return wantError ? undefined : `compile error: ${compiled.error}`;
  const result = metered(new CostMeter(1_000_000), () => compiled.run(bindings));
  if (isCelError(result)) return wantError ? undefined : `error: ${result.message}`;
  if (wantError) return `want an error, got ${String(actual(result))}`;
  const want = test.original.value === undefined ? true : expected(test.original.value as Json);
  const got = actual(result);
  return same(got, want) ? undefined : `got ${String(got)}, want ${String(want)}`;
}

function* casesOf(suite: SerializedIncrementalTestSuite): Generator<SerializedIncrementalTest> {
  yield* suite.tests ?? [];
  for (const s of suite.suites ?? []) yield* casesOf(s);
}

/** Cases @bufbuild/cel gets wrong that are in scope: they must keep failing (the README lists them) until fixed upstream. */
const KNOWN_WRONG = new Set(['map_value_repeat_key_heterogeneous']);

// disableCheck: Kubernetes always type-checks, so an unbound identifier is a compile error there too.
const inScope = (test: SerializedIncrementalTest) =>
  !test.original.container && !test.original.disableCheck && !Object.keys((test.original.bindings as Json | undefined) ?? {}).some((k) => k.includes('.')) && !test.original.checkOnly && !test.original.typedResult && !OUT_OF_SCOPE.test(test.original.expr) && bindingsOf(test) !== undefined &&
  !(test.original.value && isUnsupported(expected(test.original.value as Json)));

const isUnsupported = (x: unknown): boolean => !!x && typeof x === 'object' && 'unsupported' in x;

for (const suite of tests.suites ?? []) {
  if (!(suite.name in CLAIMED)) continue;
  t.test(suite.name, async (t) => {
    const run = [...casesOf(suite)].filter(inScope);
    const outcomes = run.map((c) => [c.original.name ?? c.original.expr, runCase(c)] as const);
    t.same(outcomes.filter(([name, why]) => why !== undefined && !KNOWN_WRONG.has(name as string)), [], 'every case in scope passes');
    t.same(outcomes.filter(([name, why]) => why === undefined && KNOWN_WRONG.has(name as string)), [], 'the known wrong ones are still wrong (else drop them from KNOWN_WRONG and the README)');
    t.equal(run.length, CLAIMED[suite.name], 'cases run');
  });
}

/** A cel-spec deduced type (protobuf JSON of cel.expr.Type) as the checker prints it. */
function typeText(ty: Json): string | undefined {
  const prim: Record<string, string> = { BOOL: 'bool', INT64: 'int', UINT64: 'uint', DOUBLE: 'double', STRING: 'string', BYTES: 'bytes' };
  if ('primitive' in ty) return prim[ty.primitive];
  if ('null' in ty) return 'null_type';
  if ('dyn' in ty) return 'dyn';
  if ('listType' in ty) {
    const e = typeText(ty.listType.elemType);
    return e && `list(${e})`;
  }
  if ('mapType' in ty) {
    const [k, v] = [typeText(ty.mapType.keyType), typeText(ty.mapType.valueType)];
    return k && v && `map(${k}, ${v})`;
  }
  return undefined;
}

t.test('type_deductions: the checker deduces the types cel-spec expects (cases without messages, optionals or declared functions)', async (t) => {
  const suite = tests.suites?.find((s) => s.name === 'type_deductions');
  const cases = [...casesOf(suite!)].filter(
    (c) => !c.original.container && !(c.original.typeEnv as unknown[] | undefined)?.length && !OUT_OF_SCOPE.test(c.original.expr) && (c.original.typedResult as Json | undefined)?.deducedType && typeText((c.original.typedResult as Json).deducedType),
  );
  for (const c of cases) {
    const parsed = parse(c.original.expr);
    const checked = checkExpression(parsed.expr, parsed.sourceInfo, c.original.expr, new Map(), { validators: false });
    t.same(checked.issues, [], `${c.original.expr}: checks`);
    t.equal(typeString(checked.type), typeText((c.original.typedResult as Json).deducedType), c.original.expr);
  }
  t.equal(cases.length, 15, 'cases run');
});
