// net.cidr_merge and net.cidr_contains_matches, after OPA's topdown/cidr.go (Go's net semantics in ip.ts).
import { BuiltinError, type BuiltinTable } from './types.js';
import { typeOf } from './strings.js';
import { asSet } from './rego-order.js';
import { RegoSetArg } from './types.js';
import { formatNet, isV4, lastIp, mask128, netContains, parseCidr, parseIp, V4_PREFIX, type IpNet } from './ip.js';

interface Range {
  first: bigint;
  last: bigint;
  /** The input network, printed as Go prints it, while the range has not been merged with another. */
  network?: string;
}

/** OPA's generateIPNet: an IPv4 address gets its classful default mask, a CIDR is parsed as Go does. */
function toRange(e: unknown): Range {
  if (typeof e !== 'string') throw new BuiltinError('net.cidr_merge', 'element must be string');
  const ip = parseIp(e);
  let net: IpNet;
  let printed: string;
  if (ip === undefined) {
    const parsed = parseCidr(e);
    if (!parsed) throw new BuiltinError('net.cidr_merge', `invalid CIDR address: ${e}`);
    net = parsed;
    printed = formatNet(net.ip, net.maskBytes, net.ones);
  } else {
    if (!isV4(ip)) throw new BuiltinError('net.cidr_merge', 'IPv6 invalid: needs prefix length');
    const a = Number((ip >> 24n) & 0xffn);
    net = { ip, maskBytes: 4, ones: a < 0x80 ? 8 : a < 0xc0 ? 16 : 24 };
    printed = formatNet(ip, 4, net.ones);
  }
  const first = net.ip & mask128(net);
  return { first, last: lastIp({ ...net, ip: first }), network: printed };
}

const previous = (ip: bigint) => (ip === 0n || ip === V4_PREFIX ? ip : ip - 1n);

/** The fewest CIDRs covering first..last (IPv4 when the range starts in IPv4 space). */
function rangeToCidrs(first: bigint, last: bigint): string[] {
  const v4 = isV4(first);
  const bits = v4 ? 32 : 128;
  const base = v4 ? V4_PREFIX : 0n;
  const out: string[] = [];
  let cur = first - base;
  const end = last - base;
  while (cur <= end) {
    let size = 0;
    while (size < bits && cur % (1n << BigInt(size + 1)) === 0n && cur + (1n << BigInt(size + 1)) - 1n <= end) size++;
    out.push(formatNet(cur + base, v4 ? 4 : 16, bits - size));
    cur += 1n << BigInt(size);
  }
  return out;
}

function cidrMerge(addrs: unknown): unknown[] {
  if (!Array.isArray(addrs)) throw new BuiltinError('net.cidr_merge', 'operand must be an array');
  const ranges = addrs.map(toRange).sort((a, b) => (a.last !== b.last ? (a.last < b.last ? -1 : 1) : a.first < b.first ? -1 : a.first > b.first ? 1 : 0));
  for (let i = ranges.length - 1; i > 0; i--) {
    const cur = ranges[i]!;
    const prev = ranges[i - 1]!;
    if (previous(cur.first) <= prev.last) {
      ranges[i - 1] = { first: prev.first < cur.first ? prev.first : cur.first, last: cur.last };
      ranges.splice(i, 1);
    }
  }
  const out = ranges.flatMap((r) => (r.network !== undefined ? [r.network] : rangeToCidrs(r.first, r.last)));
  return asSet(out);
}

/** OPA's net.cidr_contains (Go semantics): does CIDR a contain the address or CIDR b? */
function cidrContains(a: unknown, b: unknown): boolean {
  const name = 'net.cidr_contains_matches';
  if (typeof a !== 'string') throw new BuiltinError(name, `operand 1 must be string but got ${typeOf(a)}`);
  const netA = parseCidr(a);
  if (!netA) throw new BuiltinError(name, `invalid CIDR address: ${a}`);
  if (typeof b !== 'string') throw new BuiltinError(name, `operand 1 must be string but got ${typeOf(b)}`);
  const ip = parseIp(b);
  if (ip !== undefined) return netContains(netA, ip);
  const netB = parseCidr(b);
  if (!netB) throw new BuiltinError(name, `not a valid textual representation of an IP address or CIDR: ${b}`);
  const plainV6 = (n: IpNet) => n.maskBytes === 16 && !isV4(n.ip);
  if (plainV6(netA) && plainV6(netB)) return netA.ones <= netB.ones && (netB.ip & mask128(netA)) === netA.ip;
  return netContains(netA, netB.ip) && netContains(netA, lastIp(netB));
}

/** OPA's evalNetCIDRContainsMatchesOperand: (cidr, index) pairs of a string, array or object operand. */
function matchTerms(operand: number, v: unknown): Array<[unknown, unknown]> {
  const term = (x: unknown): unknown => {
    if (typeof x === 'string') return x;
    if (Array.isArray(x) && x.length > 0) return x[0];
    throw new BuiltinError('net.cidr_contains_matches', `operand ${operand}: element must be string or non-empty array`);
  };
  if (typeof v === 'string') return [[v, v]];
  if (v instanceof RegoSetArg) return v.items.map((x) => [term(x), x]);
  if (Array.isArray(v)) return v.map((x, i) => [term(x), i]);
  if (v && typeof v === 'object') return Object.keys(v).sort().map((k) => [term((v as Record<string, unknown>)[k]), k]);
  return [];
}

export const netBuiltins: BuiltinTable = {
  'net.cidr_merge': cidrMerge,
  'net.cidr_contains_matches': (cidrs, cidrsOrIps) => {
    const out: Array<[unknown, unknown]> = [];
    for (const [a, i] of matchTerms(1, cidrs)) {
      for (const [b, j] of matchTerms(2, cidrsOrIps)) if (cidrContains(a, b)) out.push([i, j]);
    }
    return asSet(out);
  },
};
