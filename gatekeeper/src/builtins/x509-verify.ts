// crypto.x509.parse_and_verify_certificates(_with_options), after OPA's verifyX509CertificateChain over Go's
// x509.Certificate.Verify: the first certificate is the root, the last the leaf, those between intermediates; chains
// are built from the leaf by issuer name, each parent must be a CA allowed to sign certificates, sign its child with a
// secure algorithm (node:crypto checks the signature), be within its validity period and path length; the leaf must
// carry no unhandled critical extension, match DNSName when given, and the chain the key usages (server auth unless
// told). Name constraints and certificate policy constraints, which Go also enforces, are not reproduced: they can
// only reject a chain, so a chain found without them that carries them is an error (an undefined call), never a
// verdict that could disagree with Go's.
import crypto from 'node:crypto';
import net from 'node:net';
import { BuiltinError } from './types.js';

type Cert = Record<string, unknown>;

/** Go's x509.ExtKeyUsage values, by the names OPA's KeyUsages option takes. */
export const extKeyUsages: Record<string, number> = {
  KeyUsageAny: 0,
  KeyUsageServerAuth: 1,
  KeyUsageClientAuth: 2,
  KeyUsageCodeSigning: 3,
  KeyUsageEmailProtection: 4,
  KeyUsageIPSECEndSystem: 5,
  KeyUsageIPSECTunnel: 6,
  KeyUsageIPSECUser: 7,
  KeyUsageTimeStamping: 8,
  KeyUsageOCSPSigning: 9,
  KeyUsageMicrosoftServerGatedCrypto: 10,
  KeyUsageNetscapeServerGatedCrypto: 11,
  KeyUsageMicrosoftCommercialCodeSigning: 12,
  KeyUsageMicrosoftKernelCodeSigning: 13,
};

export interface VerifyOptions {
  dnsName?: string;
  /** nanoseconds since the epoch; now when absent */
  currentTimeNs?: bigint;
  keyUsages?: number[];
}

/** MD2, MD5 and SHA-1 signatures (Go's InsecureAlgorithmError), unknown and DSA ones (Go cannot check them). */
const unusableSignatures = new Set([0, 1, 2, 3, 7, 8, 9]);
const KEY_USAGE_CERT_SIGN = 1 << 5;
const nameConstraintFields = ['PermittedDNSDomains', 'ExcludedDNSDomains', 'PermittedIPRanges', 'ExcludedIPRanges', 'PermittedEmailAddresses', 'ExcludedEmailAddresses', 'PermittedURIDomains', 'ExcludedURIDomains'];

function unsupported(c: Cert): string | undefined {
  if (nameConstraintFields.some((f) => c[f] !== null && c[f] !== undefined)) return 'name constraints';
  if (c.PolicyMappings || c.RequireExplicitPolicy || c.RequireExplicitPolicyZero || c.InhibitPolicyMapping || c.InhibitPolicyMappingZero || c.InhibitAnyPolicy || c.InhibitAnyPolicyZero) {
    return 'certificate policy constraints';
  }
  return undefined;
}

const der = (c: Cert) => Buffer.from(String(c.Raw), 'base64');

/** Go's CheckSignatureFrom: the parent may sign certificates and its key verifies the child's signature. */
function signedBy(child: Cert, parent: Cert): boolean {
  if ((parent.Version === 3 && !parent.BasicConstraintsValid) || (parent.BasicConstraintsValid && !parent.IsCA)) return false;
  if (parent.KeyUsage !== 0 && ((parent.KeyUsage as number) & KEY_USAGE_CERT_SIGN) === 0) return false;
  if (unusableSignatures.has(child.SignatureAlgorithm as number)) return false;
  try {
    return new crypto.X509Certificate(der(child)).verify(new crypto.X509Certificate(der(parent)).publicKey);
  } catch {
    return false;
  }
}

function withinValidity(c: Cert, nowMs: number): boolean {
  return nowMs >= Date.parse(String(c.NotBefore)) && nowMs <= Date.parse(String(c.NotAfter));
}

/** Go's checkChainForKeyUsage: walking from the root, each certificate with usages must allow one still requested. */
function chainAllows(chain: Cert[], requested: number[]): boolean {
  const usages = [...requested];
  let remaining = usages.length;
  for (let i = chain.length - 1; i >= 0; i--) {
    const eku = (chain[i]!.ExtKeyUsage as number[] | null) ?? [];
    const unknown = (chain[i]!.UnknownExtKeyUsage as unknown[] | null) ?? [];
    if (!eku.length && !unknown.length) continue;
    if (eku.includes(0)) continue;
    for (let u = 0; u < usages.length; u++) {
      if (usages[u] === -1 || eku.includes(usages[u]!)) continue;
      usages[u] = -1;
      if (--remaining === 0) return false;
    }
  }
  return true;
}

/** The verified chain, leaf first, or undefined when Go's Verify would fail. */
export function verifyChain(name: string, certs: Cert[], opts: VerifyOptions): Cert[] | undefined {
  if (certs.length < 2) return undefined;
  const root = certs[0]!;
  const intermediates = certs.slice(1, -1);
  const leaf = certs.at(-1)!;
  const nowMs = opts.currentTimeNs === undefined ? Date.now() : Number(opts.currentTimeNs / 1_000_000n);
  if ((leaf.UnhandledCriticalExtensions as unknown[] | null)?.length) return undefined;
  if (!withinValidity(leaf, nowMs)) return undefined;
  if (opts.dnsName) {
    try {
      const x = new crypto.X509Certificate(der(leaf));
      const ip = net.isIP(opts.dnsName.replace(/^\[|\]$/g, ''));
      if ((ip ? x.checkIP(opts.dnsName.replace(/^\[|\]$/g, '')) : x.checkHost(opts.dnsName, { subject: 'never' })) === undefined) return undefined;
    } catch {
      return undefined;
    }
  }
  const chains: Cert[][] = [];
  const extend = (chain: Cert[]) => {
    const child = chain.at(-1)!;
    // roots before intermediates, as Go considers them
    for (const [candidate, isRoot] of [...[root].map((c) => [c, true] as const), ...intermediates.map((c) => [c, false] as const)]) {
      if (candidate.RawSubject !== child.RawIssuer || chain.some((c) => c.Raw === candidate.Raw)) continue;
      if (!signedBy(child, candidate) || !withinValidity(candidate, nowMs)) continue;
      if (!isRoot && (!candidate.BasicConstraintsValid || !candidate.IsCA)) continue;
      if (candidate.BasicConstraintsValid && (candidate.MaxPathLen as number) >= 0 && chain.length - 1 > (candidate.MaxPathLen as number)) continue;
      if (isRoot) chains.push([...chain, candidate]);
      else extend([...chain, candidate]);
    }
  };
  if (leaf.Raw === root.Raw) chains.push([leaf]);
  else extend([leaf]);
  const usages = opts.keyUsages?.length ? opts.keyUsages : [extKeyUsages.KeyUsageServerAuth!];
  const chain = usages.includes(0) ? chains[0] : chains.find((c) => chainAllows(c, usages));
  // the constraints left out can only reject a chain: without one the answer is Go's, with one it might not be
  const why = chain?.map(unsupported).find(Boolean);
  if (why) throw new BuiltinError(name, `verifying a chain with ${why} is not supported`);
  return chain;
}
