// IP addresses and networks the way Go's net package sees them: every address is 128 bits, IPv4 as ::ffff:a.b.c.d
// (Go's 16-byte form); an address "is IPv4" when it lies in ::ffff:0:0/96 (Go's To4() != nil).

export const V4_PREFIX = 0xffffn << 32n;
const ALL = (1n << 128n) - 1n;

export const isV4 = (ip: bigint) => ip >> 32n === 0xffffn;

/** Go's netip.ParseAddr without zones (net.ParseIP): dotted IPv4 (no leading zeros) or IPv6. */
export function parseIp(s: string): bigint | undefined {
  if (s.includes(':')) return parseV6(s);
  const v4 = parseV4(s);
  return v4 === undefined ? undefined : V4_PREFIX | v4;
}

function parseV4(s: string): bigint | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  let v = 0n;
  for (const p of parts) {
    if (!/^(0|[1-9]\d{0,2})$/.test(p) || Number(p) > 255) return undefined;
    v = (v << 8n) | BigInt(p);
  }
  return v;
}

function parseV6(s: string): bigint | undefined {
  if (s.includes('%')) return undefined;
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const groups = (h: string): bigint[] | undefined => {
    if (h === '') return [];
    const out: bigint[] = [];
    const parts = h.split(':');
    for (const [i, p] of parts.entries()) {
      if (i === parts.length - 1 && p.includes('.')) {
        const v4 = parseV4(p);
        if (v4 === undefined) return undefined;
        out.push(v4 >> 16n, v4 & 0xffffn);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(p)) out.push(BigInt('0x' + p));
      else return undefined;
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !tail) return undefined;
  const n = head.length + tail.length;
  if (halves.length === 2 ? n > 7 : n !== 8) return undefined;
  const all = [...head, ...Array<bigint>(8 - n).fill(0n), ...tail];
  return all.reduce((v, g) => (v << 16n) | g, 0n);
}

/** A network as Go's net.ParseCIDR returns it: the masked address and a 4- or 16-byte mask of `ones` bits. */
export interface IpNet {
  ip: bigint;
  maskBytes: 4 | 16;
  ones: number;
}

/** Go's net.ParseCIDR; undefined where Go reports "invalid CIDR address". */
export function parseCidr(s: string): IpNet | undefined {
  const slash = s.indexOf('/');
  if (slash < 0) return undefined;
  const addr = s.slice(0, slash);
  const bits = s.slice(slash + 1);
  const v4 = !addr.includes(':');
  const ip = parseIp(addr);
  if (ip === undefined || !/^\d+$/.test(bits) || bits.length > 7) return undefined;
  const ones = Number(bits);
  if (ones > (v4 ? 32 : 128)) return undefined;
  const net: IpNet = { ip, maskBytes: v4 ? 4 : 16, ones };
  return { ...net, ip: ip & mask128(net) };
}

/** The mask over all 128 bits (a 4-byte mask leaves the ::ffff: prefix alone). */
export function mask128(n: { maskBytes: 4 | 16; ones: number }): bigint {
  const total = n.maskBytes === 4 ? 32 : 128;
  const host = (1n << BigInt(total - n.ones)) - 1n;
  return ALL ^ host;
}

/** Go's IPNet.Contains: an IPv4 network only holds IPv4 addresses and an IPv6 one only IPv6 addresses. */
export function netContains(n: IpNet, ip: bigint): boolean {
  if (isV4(n.ip) !== isV4(ip)) return false;
  if (isV4(n.ip)) {
    const ones = n.maskBytes === 4 ? n.ones : Math.max(0, n.ones - 96);
    const m = (0xffffffffn << BigInt(32 - ones)) & 0xffffffffn;
    return ((n.ip ^ ip) & m) === 0n;
  }
  return ((n.ip ^ ip) & mask128(n)) === 0n;
}

/** The last address of a network. */
export const lastIp = (n: IpNet) => n.ip | (ALL ^ mask128(n));

/** Go's IP.String: dotted IPv4 for ::ffff:a.b.c.d, RFC 5952 IPv6 otherwise. */
export function formatIp(ip: bigint): string {
  if (isV4(ip)) return [24n, 16n, 8n, 0n].map((s) => String((ip >> s) & 0xffn)).join('.');
  const groups = [...Array(8).keys()].map((i) => Number((ip >> BigInt(112 - i * 16)) & 0xffffn));
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const hex = (g: number[]) => g.map((x) => x.toString(16)).join(':');
  if (best < 0) return hex(groups);
  return hex(groups.slice(0, best)) + '::' + hex(groups.slice(best + bestLen));
}

/** Go's IPNet.String: the address as stored, then the prefix length in the address's own family. */
export function formatNet(ip: bigint, maskBytes: 4 | 16, ones: number): string {
  const prefix = isV4(ip) && maskBytes === 16 ? Math.max(0, ones - 96) : ones;
  return `${formatIp(ip)}/${prefix}`;
}
