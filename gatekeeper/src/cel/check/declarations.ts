// What the checker knows of the environment Gatekeeper compiles K8sNativeValidation in (Kubernetes' base environment,
// k8s.io/apiserver pkg/cel/environment/base.go, StoredExpressions): the overloads of CEL's standard library
// (cel-go common/stdlib), ext strings v2, ext sets and the Kubernetes libraries this engine implements, and the
// declared types of `request` and `namespaceObject` (pkg/admission/plugin/cel/compile.go). A function Kubernetes
// has but this engine does not implement is not declared, so it is refused as an undeclared reference.
import { parseType, splitTop, structOf, listOf, mapOf, BOOL, DYN, INT, STRING, TIMESTAMP, type CheckType } from './types.js';

export interface Overload {
  member: boolean;
  /** Receiver first for a member overload. */
  args: CheckType[];
  result: CheckType;
}

/** "(int, int) -> int" or, for a member overload, "string.(string) -> bool". */
function overload(sig: string): Overload {
  const [lhs, rhs] = sig.split('->') as [string, string];
  const l = lhs.trim();
  const open = l.startsWith('(') ? 0 : l.lastIndexOf('.(') + 1;
  const args = splitTop(l.slice(open + 1, -1)).map(parseType);
  return open === 0 ? { member: false, args, result: parseType(rhs) } : { member: true, args: [parseType(l.slice(0, open - 1)), ...args], result: parseType(rhs) };
}

const NUMBERS = ['int', 'uint', 'double'];
const COMPARABLE = ['bool', 'int', 'uint', 'double', 'string', 'bytes', 'timestamp', 'duration'];
const each = (types: string[], f: (t: string) => string | string[]) => types.flatMap(f);
const arithmetic = each(NUMBERS, (t) => `(${t}, ${t}) -> ${t}`);
const relation = [
  ...each(COMPARABLE, (t) => `(${t}, ${t}) -> bool`),
  // CrossTypeNumericComparisons (Kubernetes 1.28)
  ...each(NUMBERS, (a) => NUMBERS.filter((b) => b !== a).map((b) => `(${a}, ${b}) -> bool`)),
];
const timeGetters = ['getFullYear', 'getMonth', 'getDayOfYear', 'getDayOfMonth', 'getDate', 'getDayOfWeek', 'getHours', 'getMinutes', 'getSeconds', 'getMilliseconds'];

const AUTHZ = 'kubernetes.authorization.';

const SIGNATURES: Record<string, string[]> = {
  // cel-go common/stdlib
  '!_': ['(bool) -> bool'],
  '_&&_': ['(bool, bool) -> bool'],
  '_||_': ['(bool, bool) -> bool'],
  '@not_strictly_false': ['(bool) -> bool'],
  '_?_:_': ['(bool, A, A) -> A'],
  '-_': ['(int) -> int', '(double) -> double'],
  '_==_': ['(A, A) -> bool'],
  '_!=_': ['(A, A) -> bool'],
  '_<_': relation,
  '_<=_': relation,
  '_>_': relation,
  '_>=_': relation,
  '_+_': [
    ...arithmetic,
    '(string, string) -> string',
    '(bytes, bytes) -> bytes',
    '(list(A), list(A)) -> list(A)',
    '(timestamp, duration) -> timestamp',
    '(duration, timestamp) -> timestamp',
    '(duration, duration) -> duration',
  ],
  '_-_': [...arithmetic, '(timestamp, timestamp) -> duration', '(timestamp, duration) -> timestamp', '(duration, duration) -> duration'],
  '_*_': arithmetic,
  '_/_': arithmetic,
  '_%_': ['(int, int) -> int', '(uint, uint) -> uint'],
  '_[_]': ['(list(A), int) -> A', '(map(K, V), K) -> V'],
  '@in': ['(A, list(A)) -> bool', '(K, map(K, V)) -> bool'],
  size: [...each(['string', 'bytes', 'list(A)', 'map(K, V)'], (t) => [`(${t}) -> int`, `${t}.() -> int`])],
  type: ['(A) -> type(A)'],
  dyn: ['(A) -> dyn'],
  int: each(['int', 'uint', 'double', 'string', 'timestamp'], (t) => `(${t}) -> int`),
  uint: each(['int', 'uint', 'double', 'string'], (t) => `(${t}) -> uint`),
  double: each(['int', 'uint', 'double', 'string'], (t) => `(${t}) -> double`),
  string: each(['int', 'uint', 'double', 'bool', 'string', 'bytes', 'timestamp', 'duration'], (t) => `(${t}) -> string`),
  bytes: ['(bytes) -> bytes', '(string) -> bytes'],
  bool: ['(bool) -> bool', '(string) -> bool'],
  timestamp: ['(string) -> timestamp', '(timestamp) -> timestamp', '(int) -> timestamp'],
  duration: ['(string) -> duration', '(duration) -> duration'],
  matches: ['(string, string) -> bool', 'string.(string) -> bool'],
  contains: ['string.(string) -> bool'],
  startsWith: ['string.(string) -> bool'],
  endsWith: ['string.(string) -> bool'],
  ...Object.fromEntries(
    timeGetters.map((g) => [g, ['timestamp.() -> int', 'timestamp.(string) -> int', ...(['getHours', 'getMinutes', 'getSeconds', 'getMilliseconds'].includes(g) ? ['duration.() -> int'] : [])]]),
  ),
  // cel-go ext strings, version 2
  charAt: ['string.(int) -> string'],
  indexOf: ['string.(string) -> int', 'string.(string, int) -> int', 'list(A).(A) -> int'],
  lastIndexOf: ['string.(string) -> int', 'string.(string, int) -> int', 'list(A).(A) -> int'],
  lowerAscii: ['string.() -> string'],
  upperAscii: ['string.() -> string'],
  replace: ['string.(string, string) -> string', 'string.(string, string, int) -> string'],
  split: ['string.(string) -> list(string)', 'string.(string, int) -> list(string)'],
  substring: ['string.(int) -> string', 'string.(int, int) -> string'],
  trim: ['string.() -> string'],
  join: ['list(string).() -> string', 'list(string).(string) -> string'],
  'strings.quote': ['(string) -> string'],
  format: ['string.(list(dyn)) -> string'],
  // cel-go ext two-variable comprehensions: what transformMap and transformMapEntry expand to
  'cel.@mapInsert': ['(map(K, V), K, V) -> map(K, V)', '(map(K, V), map(K, V)) -> map(K, V)'],
  // cel-go ext sets
  'sets.contains': ['(list(A), list(A)) -> bool'],
  'sets.equivalent': ['(list(A), list(A)) -> bool'],
  'sets.intersects': ['(list(A), list(A)) -> bool'],
  // cel-go ext lists, version 3 (first and last aside: they return optionals)
  slice: ['list(A).(int, int) -> list(A)'],
  flatten: ['list(list(A)).() -> list(A)', 'list(dyn).(int) -> list(dyn)'],
  sort: each(COMPARABLE, (t) => `list(${t}).() -> list(${t})`),
  '@sortByAssociatedKeys': each(COMPARABLE, (t) => `list(A).(list(${t})) -> list(A)`),
  'lists.range': ['(int) -> list(int)'],
  reverse: ['list(A).() -> list(A)'],
  distinct: ['list(A).() -> list(A)'],
  // k8s.io/apiserver pkg/cel/library: lists
  isSorted: each(COMPARABLE, (t) => `list(${t}).() -> bool`),
  sum: each([...NUMBERS, 'duration'], (t) => `list(${t}).() -> ${t}`),
  min: each(COMPARABLE, (t) => `list(${t}).() -> ${t}`),
  max: each(COMPARABLE, (t) => `list(${t}).() -> ${t}`),
  // regex
  find: ['string.(string) -> string'],
  findAll: ['string.(string) -> list(string)', 'string.(string, int) -> list(string)'],
  // urls
  url: ['(string) -> kubernetes.URL'],
  isURL: ['(string) -> bool'],
  ...Object.fromEntries(['getScheme', 'getHost', 'getHostname', 'getPort', 'getEscapedPath'].map((g) => [g, ['kubernetes.URL.() -> string']])),
  getQuery: ['kubernetes.URL.() -> map(string, list(string))'],
  // quantity
  quantity: ['(string) -> kubernetes.Quantity'],
  isQuantity: ['(string) -> bool'],
  sign: ['(kubernetes.Quantity) -> int'],
  isGreaterThan: ['kubernetes.Quantity.(kubernetes.Quantity) -> bool', 'kubernetes.Semver.(kubernetes.Semver) -> bool'],
  isLessThan: ['kubernetes.Quantity.(kubernetes.Quantity) -> bool', 'kubernetes.Semver.(kubernetes.Semver) -> bool'],
  compareTo: ['kubernetes.Quantity.(kubernetes.Quantity) -> int', 'kubernetes.Semver.(kubernetes.Semver) -> int'],
  asApproximateFloat: ['kubernetes.Quantity.() -> double'],
  asInteger: ['kubernetes.Quantity.() -> int'],
  isInteger: ['kubernetes.Quantity.() -> bool'],
  add: ['kubernetes.Quantity.(kubernetes.Quantity) -> kubernetes.Quantity', 'kubernetes.Quantity.(int) -> kubernetes.Quantity'],
  sub: ['kubernetes.Quantity.(kubernetes.Quantity) -> kubernetes.Quantity', 'kubernetes.Quantity.(int) -> kubernetes.Quantity'],
  // ip, cidr
  ip: ['(string) -> net.IP', 'net.CIDR.() -> net.IP'],
  isIP: ['(string) -> bool'],
  'ip.isCanonical': ['(string) -> bool'],
  family: ['net.IP.() -> int'],
  ...Object.fromEntries(['isUnspecified', 'isLoopback', 'isLinkLocalMulticast', 'isLinkLocalUnicast', 'isGlobalUnicast'].map((g) => [g, ['net.IP.() -> bool']])),
  cidr: ['(string) -> net.CIDR'],
  isCIDR: ['(string) -> bool'],
  containsIP: ['net.CIDR.(string) -> bool', 'net.CIDR.(net.IP) -> bool'],
  containsCIDR: ['net.CIDR.(string) -> bool', 'net.CIDR.(net.CIDR) -> bool'],
  masked: ['net.CIDR.() -> net.CIDR'],
  prefixLength: ['net.CIDR.() -> int'],
  // semver (SemverVersion 1: the normalize argument)
  semver: ['(string) -> kubernetes.Semver', '(string, bool) -> kubernetes.Semver'],
  isSemver: ['(string) -> bool', '(string, bool) -> bool'],
  major: ['kubernetes.Semver.() -> int'],
  minor: ['kubernetes.Semver.() -> int'],
  patch: ['kubernetes.Semver.() -> int'],
  // authz (and AuthzSelectors): declared by Kubernetes' environment, but Gatekeeper declares no `authorizer`
  // variable, so they are unreachable but for a dyn receiver (where the evaluation errors, here as there)
  path: [`${AUTHZ}Authorizer.(string) -> ${AUTHZ}PathCheck`],
  group: [`${AUTHZ}Authorizer.(string) -> ${AUTHZ}GroupCheck`],
  serviceAccount: [`${AUTHZ}Authorizer.(string, string) -> ${AUTHZ}Authorizer`],
  resource: [`${AUTHZ}GroupCheck.(string) -> ${AUTHZ}ResourceCheck`],
  ...Object.fromEntries(['subresource', 'namespace', 'name', 'fieldSelector', 'labelSelector'].map((f) => [f, [`${AUTHZ}ResourceCheck.(string) -> ${AUTHZ}ResourceCheck`]])),
  check: [`${AUTHZ}PathCheck.(string) -> ${AUTHZ}Decision`, `${AUTHZ}ResourceCheck.(string) -> ${AUTHZ}Decision`],
  errored: [`${AUTHZ}Decision.() -> bool`],
  error: [`${AUTHZ}Decision.() -> string`],
  allowed: [`${AUTHZ}Decision.() -> bool`],
  reason: [`${AUTHZ}Decision.() -> string`],
};
SIGNATURES.string!.push('(net.IP) -> string', '(net.CIDR) -> string');

export const FUNCTIONS: ReadonlyMap<string, Overload[]> = new Map(Object.entries(SIGNATURES).map(([name, sigs]) => [name, sigs.map(overload)]));

/** Type names usable as values: `type(x) == int`, `type(q) == kubernetes.Quantity`. */
export const TYPE_IDENTS: ReadonlyMap<string, CheckType> = new Map(
  ['int', 'uint', 'double', 'bool', 'string', 'bytes', 'null_type', 'dyn', 'list(dyn)', 'map(dyn, dyn)', 'kubernetes.Quantity', 'kubernetes.Semver', 'kubernetes.URL', 'net.IP', 'net.CIDR', 'google.protobuf.Timestamp', 'google.protobuf.Duration'].map(
    (t) => [t.replace('(dyn)', '').replace('(dyn, dyn)', ''), { kind: 'type', of: t === 'null_type' ? parseType('null') : parseType(t) }],
  ),
);
(TYPE_IDENTS as Map<string, CheckType>).set('type', { kind: 'type', of: { kind: 'type' } });

const gvk = (last: string) => structOf(`kubernetes.GroupVersion${last === 'kind' ? 'Kind' : 'Resource'}`, { group: STRING, version: STRING, [last]: STRING });

/** BuildRequestType: the AdmissionRequest without object, oldObject and uid. */
export const REQUEST_TYPE = structOf('kubernetes.AdmissionRequest', {
  kind: gvk('kind'),
  resource: gvk('resource'),
  subResource: STRING,
  requestKind: gvk('kind'),
  requestResource: gvk('resource'),
  requestSubResource: STRING,
  name: STRING,
  namespace: STRING,
  operation: STRING,
  userInfo: structOf('kubernetes.UserInfo', { username: STRING, uid: STRING, groups: listOf(STRING), extra: mapOf(STRING, listOf(STRING)) }),
  dryRun: BOOL,
  options: DYN,
});

/** BuildNamespaceType (its metadata field is spelled `UID` there). */
export const NAMESPACE_TYPE = structOf('kubernetes.Namespace', {
  metadata: structOf('kubernetes.NamespaceMetadata', {
    name: STRING,
    generateName: STRING,
    namespace: STRING,
    labels: mapOf(STRING, STRING),
    annotations: mapOf(STRING, STRING),
    UID: STRING,
    creationTimestamp: TIMESTAMP,
    deletionGracePeriodSeconds: INT,
    deletionTimestamp: TIMESTAMP,
    generation: INT,
    resourceVersion: STRING,
    finalizers: listOf(STRING),
  }),
  spec: structOf('kubernetes.NamespaceSpec', { finalizers: listOf(STRING) }),
  status: structOf('kubernetes.NamespaceStatus', {
    conditions: listOf(structOf('kubernetes.NamespaceCondition', { status: STRING, type: STRING, lastTransitionTime: TIMESTAMP, message: STRING, reason: STRING })),
    phase: STRING,
  }),
});
