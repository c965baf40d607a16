// Kubernetes' IP and CIDR libraries (k8s.io/apiserver/pkg/cel/library/ip.go, cidr.go) on net/netip's rules: no zones,
// no IPv4-mapped IPv6, canonical forms as netip prints them. Parsing reuses the Rego net builtins' Go-compatible parser.
import { celFunc, celMethod, CelScalar, type CelFunc } from '@bufbuild/cel';
import { formatIp, isV4, parseIp, V4_PREFIX } from '../../builtins/ip.js';
import { opaqueType } from './opaque.js';

const { STRING, BOOL, INT } = CelScalar;
const IP = opaqueType('net.IP');
const CIDR = opaqueType('net.CIDR');

interface Addr {
  /** The 128-bit value; IPv4 as ::ffff:a.b.c.d (the builtins' form). */
  ip: bigint;
  v4: boolean;
}

function parseAddr(s: string, what: 'IP Address' | 'network address'): Addr {
  const fail = (why: string) => new Error(`${what} "${s}" parse error during conversion from string: ParseAddr("${s}"): ${why}`);
  if (s.includes('%')) throw new Error(`${what} ${JSON.stringify(s)} with zone value is not allowed`);
  const ip = parseIp(s);
  if (ip === undefined) throw fail('unable to parse IP');
  const v4 = isV4(ip);
  if (v4 && s.includes(':')) throw new Error(`IPv4-mapped IPv6 address ${JSON.stringify(s)} is not allowed`);
  return { ip, v4 };
}

const bitsOf = (a: Addr) => (a.v4 ? 32 : 128);
const formatAddr = (a: Addr) => (a.v4 || a.ip >> 32n !== 0xffffn ? formatIp(a.ip) : `::ffff:${formatIp(a.ip)}`);
const maskOf = (a: Addr, bits: number) => {
  const hostBits = BigInt(bitsOf(a) - bits);
  return a.ip & ~((1n << hostBits) - 1n);
};
const inRange = (a: Addr, prefix: string) => {
  const [addr, bits] = prefix.split('/');
  const net = parseAddr(addr!, 'IP Address');
  return net.v4 === a.v4 && maskOf(a, Number(bits)) === net.ip;
};

const wrapIp = (a: Addr) => IP.wrap(formatAddr(a));
const unwrapIp = (v: unknown): Addr => parseAddr(IP.unwrap(v), 'IP Address');

interface Prefix {
  addr: Addr;
  bits: number;
}

/** Kubernetes wraps netip's error twice in the same words. */
const PREFIX_ERROR = 'network address parse error during conversion from string: network address parse error during conversion from string';

function parsePrefix(s: string): Prefix {
  const slash = s.lastIndexOf('/');
  if (slash < 0) throw new Error(`${PREFIX_ERROR}: netip.ParsePrefix(${JSON.stringify(s)}): no '/'`);
  const addr = parseAddr(s.slice(0, slash), 'network address');
  const bitsText = s.slice(slash + 1);
  const bits = /^(0|[1-9]\d{0,2})$/.test(bitsText) ? Number(bitsText) : NaN;
  if (!(bits <= bitsOf(addr))) {
    throw new Error(`${PREFIX_ERROR}: netip.ParsePrefix(${JSON.stringify(s)}): bad bits after slash: ${JSON.stringify(bitsText)}`);
  }
  return { addr, bits };
}
const formatPrefix = (p: Prefix) => `${formatAddr(p.addr)}/${p.bits}`;
const unwrapCidr = (v: unknown) => parsePrefix(CIDR.unwrap(v));
const contains = (p: Prefix, a: Addr) => p.addr.v4 === a.v4 && maskOf(a, p.bits) === maskOf(p.addr, p.bits);
const attempt = (f: () => unknown) => {
  try {
    f();
    return true;
  } catch {
    return false;
  }
};

const ipMethod = (name: string, test: (a: Addr) => boolean) =>
  celMethod(name, IP.type, [], BOOL, function (this: unknown) {
    return test(unwrapIp(this));
  });
const isUnspecified = (a: Addr) => (a.v4 ? a.ip === V4_PREFIX : a.ip === 0n);
const isLoopback = (a: Addr) => (a.v4 ? inRange(a, '127.0.0.0/8') : a.ip === 1n);
const isMulticast = (a: Addr) => inRange(a, a.v4 ? '224.0.0.0/4' : 'ff00::/8');
const isLinkLocalUnicast = (a: Addr) => inRange(a, a.v4 ? '169.254.0.0/16' : 'fe80::/10');

export const networkFuncs: CelFunc[] = [
  celFunc('ip', [STRING], IP.type, (s: string) => wrapIp(parseAddr(s, 'IP Address'))),
  celFunc('isIP', [STRING], BOOL, (s: string) => attempt(() => parseAddr(s, 'IP Address'))),
  celFunc('ip.isCanonical', [STRING], BOOL, (s: string) => formatAddr(parseAddr(s, 'IP Address')) === s),
  celFunc('string', [IP.type], STRING, (v: unknown) => IP.unwrap(v)),
  celMethod('family', IP.type, [], INT, function (this: unknown) {
    return unwrapIp(this).v4 ? 4n : 6n;
  }),
  ipMethod('isUnspecified', isUnspecified),
  ipMethod('isLoopback', isLoopback),
  ipMethod('isLinkLocalMulticast', (a) => inRange(a, a.v4 ? '224.0.0.0/24' : 'ff02::/16')),
  ipMethod('isLinkLocalUnicast', isLinkLocalUnicast),
  ipMethod('isGlobalUnicast', (a) => !isUnspecified(a) && !isLoopback(a) && !isMulticast(a) && !isLinkLocalUnicast(a) && !(a.v4 && a.ip === (V4_PREFIX | 0xffffffffn))),

  celFunc('cidr', [STRING], CIDR.type, (s: string) => CIDR.wrap(formatPrefix(parsePrefix(s)))),
  celFunc('isCIDR', [STRING], BOOL, (s: string) => attempt(() => parsePrefix(s))),
  celFunc('string', [CIDR.type], STRING, (v: unknown) => CIDR.unwrap(v)),
  celMethod('containsIP', CIDR.type, [IP.type], BOOL, function (this: unknown, ip: unknown) {
    return contains(unwrapCidr(this), unwrapIp(ip));
  }),
  celMethod('containsIP', CIDR.type, [STRING], BOOL, function (this: unknown, ip: string) {
    return contains(unwrapCidr(this), parseAddr(ip, 'IP Address'));
  }),
  celMethod('containsCIDR', CIDR.type, [CIDR.type], BOOL, function (this: unknown, other: unknown) {
    const p = unwrapCidr(this);
    const o = unwrapCidr(other);
    return o.bits >= p.bits && contains(p, o.addr);
  }),
  celMethod('containsCIDR', CIDR.type, [STRING], BOOL, function (this: unknown, other: string) {
    const p = unwrapCidr(this);
    const o = parsePrefix(other);
    return o.bits >= p.bits && contains(p, o.addr);
  }),
  celMethod('ip', CIDR.type, [], IP.type, function (this: unknown) {
    return wrapIp(unwrapCidr(this).addr);
  }),
  celMethod('masked', CIDR.type, [], CIDR.type, function (this: unknown) {
    const p = unwrapCidr(this);
    return CIDR.wrap(formatPrefix({ addr: { ip: maskOf(p.addr, p.bits), v4: p.addr.v4 }, bits: p.bits }));
  }),
  celMethod('prefixLength', CIDR.type, [], INT, function (this: unknown) {
    return BigInt(unwrapCidr(this).bits);
  }),
];
