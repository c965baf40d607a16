// crypto.x509.parse_certificates and crypto.x509.parse_certificate_request: DER parsed into the JSON OPA produces
// from Go's x509.Certificate / x509.CertificateRequest (field names, Go's enum numbers, []byte as base64, nil as null).
import { asn1Message, children, ctx, DerError, DerReader, oidString, readInteger, readOid, readString, readTime, TAG, type Tlv } from './der.js';
import { formatIp, V4_PREFIX } from './ip.js';
import { parseUrl, UrlError } from './go-url.js';

export class X509Error extends Error {}

const b64 = (b: Buffer) => b.toString('base64');

const signatureAlgorithms: Record<string, number> = {
  '1.2.840.113549.1.1.2': 1, // MD2WithRSA
  '1.2.840.113549.1.1.4': 2, // MD5WithRSA
  '1.2.840.113549.1.1.5': 3, // SHA1WithRSA
  '1.3.14.3.2.29': 3,
  '1.2.840.113549.1.1.11': 4, // SHA256WithRSA
  '1.2.840.113549.1.1.12': 5, // SHA384WithRSA
  '1.2.840.113549.1.1.13': 6, // SHA512WithRSA
  '1.2.840.10040.4.3': 7, // DSAWithSHA1
  '2.16.840.1.101.3.4.3.2': 8, // DSAWithSHA256
  '1.2.840.10045.4.1': 9, // ECDSAWithSHA1
  '1.2.840.10045.4.3.2': 10, // ECDSAWithSHA256
  '1.2.840.10045.4.3.3': 11, // ECDSAWithSHA384
  '1.2.840.10045.4.3.4': 12, // ECDSAWithSHA512
  '1.3.101.112': 16, // PureEd25519
};
const pssByHash: Record<string, number> = { '2.16.840.1.101.3.4.2.1': 13, '2.16.840.1.101.3.4.2.2': 14, '2.16.840.1.101.3.4.2.3': 15 };

function signatureAlgorithm(alg: Tlv): number {
  const r = children(alg);
  const oid = oidString(readOid(r.read(TAG.OID).contents));
  if (oid !== '1.2.840.113549.1.1.10') return signatureAlgorithms[oid] ?? 0;
  // RSASSA-PSS: the hash is in the parameters ([0] hashAlgorithm)
  try {
    const params = children(r.read(TAG.SEQUENCE));
    const hash = params.readOptional(ctx(0, true));
    if (!hash) return 0;
    return pssByHash[oidString(readOid(children(children(hash).read(TAG.SEQUENCE)).read(TAG.OID).contents))] ?? 0;
  } catch {
    return 0;
  }
}

const curves: Record<string, number> = { '1.2.840.10045.3.1.7': 32, '1.3.132.0.34': 48, '1.3.132.0.35': 66, '1.3.132.0.33': 28 };

/** [PublicKeyAlgorithm, PublicKey] of a SubjectPublicKeyInfo. */
function publicKey(spki: Tlv): [number, unknown] {
  const r = children(spki);
  const alg = children(r.read(TAG.SEQUENCE));
  const oid = oidString(readOid(alg.read(TAG.OID).contents));
  const bits = r.read(TAG.BIT_STRING).contents.subarray(1);
  switch (oid) {
    case '1.2.840.113549.1.1.1': {
      const key = children(new DerReader(bits).read(TAG.SEQUENCE));
      const n = readInteger(key.read(TAG.INTEGER).contents);
      const e = readInteger(key.read(TAG.INTEGER).contents);
      return [1, { N: n, E: e }];
    }
    case '1.2.840.10045.2.1': {
      const curve = oidString(readOid(alg.read(TAG.OID).contents));
      const size = curves[curve];
      if (!size) throw new X509Error('x509: unsupported elliptic curve');
      if (bits[0] !== 4 || bits.length !== 1 + 2 * size) throw new X509Error('x509: failed to unmarshal elliptic curve point');
      const coord = (b: Buffer) => BigInt('0x' + b.toString('hex'));
      return [3, { Curve: {}, X: coord(bits.subarray(1, 1 + size)), Y: coord(bits.subarray(1 + size)) }];
    }
    case '1.3.101.112':
      if (bits.length !== 32) throw new X509Error('x509: wrong Ed25519 public key size');
      return [4, b64(bits)];
    case '1.2.840.10040.4.1':
      return [2, null];
    default:
      return [0, null];
  }
}

interface PkixName {
  Country: string[] | null;
  Organization: string[] | null;
  OrganizationalUnit: string[] | null;
  Locality: string[] | null;
  Province: string[] | null;
  StreetAddress: string[] | null;
  PostalCode: string[] | null;
  SerialNumber: string;
  CommonName: string;
  Names: Array<{ Type: number[]; Value: unknown }> | null;
  ExtraNames: null;
}

const nameFields: Record<number, keyof PkixName> = {
  6: 'Country',
  10: 'Organization',
  11: 'OrganizationalUnit',
  7: 'Locality',
  8: 'Province',
  9: 'StreetAddress',
  17: 'PostalCode',
};

/** Go's pkix.Name.FillFromRDNSequence. */
function pkixName(name: Tlv): PkixName {
  const out: PkixName = {
    Country: null,
    Organization: null,
    OrganizationalUnit: null,
    Locality: null,
    Province: null,
    StreetAddress: null,
    PostalCode: null,
    SerialNumber: '',
    CommonName: '',
    Names: null,
    ExtraNames: null,
  };
  for (const rdn of children(name).all()) {
    if (rdn.tag !== TAG.SET) throw new X509Error('x509: invalid RDNSequence');
    for (const atv of children(rdn).all()) {
      const r = children(atv);
      const type = readOid(r.read(TAG.OID).contents);
      let value: string;
      try {
        value = readString(r.read());
      } catch (e) {
        throw new X509Error(`x509: invalid RDNSequence: ${(e as Error).message}`);
      }
      (out.Names ??= []).push({ Type: type, Value: value });
      if (type.length !== 4 || type[0] !== 2 || type[1] !== 5 || type[2] !== 4) continue;
      if (type[3] === 3) out.CommonName = value;
      else if (type[3] === 5) out.SerialNumber = value;
      else {
        const field = nameFields[type[3]!];
        if (field) ((out[field] as string[] | null) ??= [] as string[]).push(value);
      }
    }
  }
  return out;
}

interface Extension {
  Id: number[];
  Critical: boolean;
  Value: string;
  raw: Buffer;
}

function extensions(t: Tlv): Extension[] {
  return children(t)
    .all()
    .map((e) => {
      const r = children(e);
      const id = readOid(r.read(TAG.OID).contents);
      const critical = r.readOptional(TAG.BOOLEAN)?.contents[0] === 0xff;
      const value = r.read(TAG.OCTET_STRING).contents;
      return { Id: id, Critical: critical, Value: b64(value), raw: value };
    });
}

interface SubjectAltNames {
  DNSNames: string[] | null;
  EmailAddresses: string[] | null;
  IPAddresses: string[] | null;
  URIs: Array<Record<string, unknown>> | null;
  uriStrings: string[] | null;
}

function subjectAltNames(value: Buffer): SubjectAltNames {
  const out: SubjectAltNames = { DNSNames: null, EmailAddresses: null, IPAddresses: null, URIs: null, uriStrings: null };
  for (const gn of children(new DerReader(value).read(TAG.SEQUENCE)).all()) {
    const text = () => gn.contents.toString('latin1');
    switch (gn.tag) {
      case ctx(1):
        (out.EmailAddresses ??= []).push(text());
        break;
      case ctx(2):
        (out.DNSNames ??= []).push(text());
        break;
      case ctx(6): {
        let uri: ReturnType<typeof parseUrl>;
        try {
          uri = parseUrl(gn.contents.toString('utf8'));
        } catch (e) {
          if (e instanceof UrlError) throw new X509Error(`x509: cannot parse URI ${JSON.stringify(text())}: ${e.message}`);
          throw e;
        }
        (out.URIs ??= []).push(uri.url as unknown as Record<string, unknown>);
        (out.uriStrings ??= []).push(uri.text);
        break;
      }
      case ctx(7): {
        const b = gn.contents;
        if (b.length !== 4 && b.length !== 16) throw new X509Error(`x509: cannot parse IP address of length ${b.length}`);
        const v = BigInt('0x' + b.toString('hex'));
        (out.IPAddresses ??= []).push(formatIp(b.length === 4 ? V4_PREFIX | v : v));
        break;
      }
    }
  }
  return out;
}

const extKeyUsages: Record<string, number> = {
  '2.5.29.37.0': 0,
  '1.3.6.1.5.5.7.3.1': 1,
  '1.3.6.1.5.5.7.3.2': 2,
  '1.3.6.1.5.5.7.3.3': 3,
  '1.3.6.1.5.5.7.3.4': 4,
  '1.3.6.1.5.5.7.3.5': 5,
  '1.3.6.1.5.5.7.3.6': 6,
  '1.3.6.1.5.5.7.3.7': 7,
  '1.3.6.1.5.5.7.3.8': 8,
  '1.3.6.1.5.5.7.3.9': 9,
  '1.3.6.1.4.1.311.10.3.3': 10,
  '2.16.840.1.113730.4.1': 11,
  '1.3.6.1.4.1.311.2.1.22': 12,
  '1.3.6.1.4.1.311.61.1.1': 13,
};

type Json = Record<string, unknown>;

/** Go's processExtensions: the fields the known extensions fill in. */
function applyExtensions(out: Json, exts: Extension[]): void {
  for (const e of exts) {
    let unhandled = false;
    const id = oidString(e.Id);
    const seq = () => children(new DerReader(e.raw).read(TAG.SEQUENCE));
    if (id.startsWith('2.5.29.') && e.Id.length === 4) {
      switch (e.Id[3]) {
        case 15: {
          const bits = new DerReader(e.raw).read(TAG.BIT_STRING).contents;
          let usage = 0;
          for (let i = 0; i < 9; i++) if ((bits[1 + (i >> 3)] ?? 0) & (0x80 >> (i & 7))) usage |= 1 << i;
          out.KeyUsage = usage;
          break;
        }
        case 19: {
          const r = seq();
          out.IsCA = r.readOptional(TAG.BOOLEAN)?.contents[0] === 0xff;
          const len = r.readOptional(TAG.INTEGER);
          out.MaxPathLen = len ? Number(readInteger(len.contents)) : -1;
          out.BasicConstraintsValid = true;
          out.MaxPathLenZero = out.MaxPathLen === 0;
          break;
        }
        case 17: {
          const san = subjectAltNames(e.raw);
          Object.assign(out, { DNSNames: san.DNSNames, EmailAddresses: san.EmailAddresses, IPAddresses: san.IPAddresses, URIs: san.URIs, URIStrings: san.uriStrings });
          if (!san.DNSNames && !san.EmailAddresses && !san.IPAddresses && !san.URIs) unhandled = true;
          break;
        }
        case 30:
          unhandled = nameConstraints(out, e);
          break;
        case 31:
          for (const dp of seq().all()) {
            const name = children(dp).readOptional(ctx(0, true));
            if (!name) continue;
            const full = children(name).readOptional(ctx(0, true));
            if (!full) continue;
            for (const gn of children(full).all()) {
              if (gn.tag !== ctx(6)) break;
              ((out.CRLDistributionPoints as string[] | null) ??= [] as string[]).push(gn.contents.toString('latin1'));
            }
          }
          break;
        case 35: {
          const keyId = seq().readOptional(ctx(0));
          if (keyId) out.AuthorityKeyId = b64(keyId.contents);
          break;
        }
        case 37:
          for (const usage of seq().all()) {
            const oid = readOid(usage.contents);
            const known = extKeyUsages[oidString(oid)];
            if (known === undefined) ((out.UnknownExtKeyUsage as number[][] | null) ??= [] as number[][]).push(oid);
            else ((out.ExtKeyUsage as number[] | null) ??= [] as number[]).push(known);
          }
          break;
        case 14:
          if (e.Critical) throw new X509Error('x509: subject key identifier incorrectly marked critical');
          out.SubjectKeyId = b64(new DerReader(e.raw).read(TAG.OCTET_STRING).contents);
          break;
        case 32: {
          const oids = seq()
            .all()
            .map((p) => readOid(children(p).read(TAG.OID).contents));
          out.Policies = oids.map(oidString);
          out.PolicyIdentifiers = oids;
          break;
        }
        case 33:
          out.PolicyMappings = seq()
            .all()
            .map((m) => {
              const r = children(m);
              return { IssuerDomainPolicy: oidString(readOid(r.read(TAG.OID).contents)), SubjectDomainPolicy: oidString(readOid(r.read(TAG.OID).contents)) };
            });
          break;
        case 36: {
          const r = seq();
          const explicit = r.readOptional(ctx(0));
          if (explicit) {
            out.RequireExplicitPolicy = Number(readInteger(explicit.contents));
            out.RequireExplicitPolicyZero = out.RequireExplicitPolicy === 0;
          }
          const inhibit = r.readOptional(ctx(1));
          if (inhibit) {
            out.InhibitPolicyMapping = Number(readInteger(inhibit.contents));
            out.InhibitPolicyMappingZero = out.InhibitPolicyMapping === 0;
          }
          break;
        }
        case 54:
          out.InhibitAnyPolicy = Number(readInteger(new DerReader(e.raw).read(TAG.INTEGER).contents));
          out.InhibitAnyPolicyZero = out.InhibitAnyPolicy === 0;
          break;
        default:
          unhandled = true;
      }
    } else if (id === '1.3.6.1.5.5.7.1.1') {
      if (e.Critical) throw new X509Error('x509: authority info access incorrectly marked critical');
      for (const ad of seq().all()) {
        const r = children(ad);
        const method = oidString(readOid(r.read(TAG.OID).contents));
        const location = r.readOptional(ctx(6));
        if (!location) continue;
        const field = method === '1.3.6.1.5.5.7.48.1' ? 'OCSPServer' : method === '1.3.6.1.5.5.7.48.2' ? 'IssuingCertificateURL' : undefined;
        if (field) ((out[field] as string[] | null) ??= [] as string[]).push(location.contents.toString('latin1'));
      }
    } else unhandled = true;
    if (e.Critical && unhandled) ((out.UnhandledCriticalExtensions as number[][] | null) ??= [] as number[][]).push(e.Id);
  }
}

/** Name constraints: the DNS, IP, email and URI subtrees; other name forms leave the extension unhandled. */
function nameConstraints(out: Json, e: Extension): boolean {
  let unhandled = false;
  const r = children(new DerReader(e.raw).read(TAG.SEQUENCE));
  const permitted = r.readOptional(ctx(0, true));
  const excluded = r.readOptional(ctx(1, true));
  if (!permitted && !excluded) throw new X509Error('x509: empty name constraints extension');
  out.PermittedDNSDomainsCritical = e.Critical;
  const subtrees = (t: Tlv | undefined, prefix: 'Permitted' | 'Excluded') => {
    if (!t) return;
    for (const subtree of children(t).all()) {
      const gn = children(subtree).read();
      const text = gn.contents.toString('latin1');
      const push = (field: string, v: unknown) => ((out[prefix + field] as unknown[] | null) ??= [] as unknown[]).push(v);
      if (gn.tag === ctx(2)) push('DNSDomains', text);
      else if (gn.tag === ctx(1)) push('EmailAddresses', text);
      else if (gn.tag === ctx(6)) push('URIDomains', text);
      else if (gn.tag === ctx(7)) {
        const half = gn.contents.length / 2;
        if (half !== 4 && half !== 16) throw new X509Error(`x509: IP constraint contained value of length ${gn.contents.length}`);
        // net.IP marshals as text, net.IPMask as bytes
        const ip = BigInt('0x' + gn.contents.subarray(0, half).toString('hex'));
        push('IPRanges', { IP: formatIp(half === 4 ? V4_PREFIX | ip : ip), Mask: b64(gn.contents.subarray(half)) });
      } else unhandled = true;
    }
  };
  subtrees(permitted, 'Permitted');
  subtrees(excluded, 'Excluded');
  return unhandled;
}

/** Reads with `f`; a DER error becomes Go's "x509: malformed <what>". */
function field<T>(what: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof DerError) throw new X509Error(`x509: malformed ${what}`);
    throw e;
  }
}

function certificate(r0: DerReader): Json {
  const der = field('certificate', () => r0.read(TAG.SEQUENCE));
  const top = children(der);
  const tbs = field('tbs certificate', () => top.read(TAG.SEQUENCE));
  const r = children(tbs);
  const version = field('version', () => r.readOptional(ctx(0, true)));
  const serial = field('serial number', () => readInteger(r.read(TAG.INTEGER).contents));
  if (serial < 0n) throw new X509Error('x509: negative serial number');
  field('signature algorithm identifier', () => r.read(TAG.SEQUENCE));
  const issuer = field('issuer', () => r.read(TAG.SEQUENCE));
  const [notBefore, notAfter] = field('validity', () => {
    const validity = children(r.read(TAG.SEQUENCE));
    return [readTime(validity.read()), readTime(validity.read())];
  });
  // Go's parser says "issuer" for a malformed subject too
  const subject = field('issuer', () => r.read(TAG.SEQUENCE));
  const spki = field('spki', () => r.read(TAG.SEQUENCE));
  const extsTlv = field('extensions', () => {
    r.readOptional(ctx(1));
    r.readOptional(ctx(2));
    return r.readOptional(ctx(3, true));
  });
  const sigAlg = field('algorithm identifier', () => top.read(TAG.SEQUENCE));
  const signature = field('signature', () => top.read(TAG.BIT_STRING).contents.subarray(1));
  const v = version ? Number(readInteger(children(version).read(TAG.INTEGER).contents)) + 1 : 1;
  if (v < 1 || v > 3) throw new X509Error('x509: invalid version');
  const [pkAlg, pk] = publicKey(spki);
  const exts = extsTlv ? field('extensions', () => extensions(children(extsTlv).read(TAG.SEQUENCE))) : [];
  const out: Json = {
    Raw: b64(der.full),
    RawTBSCertificate: b64(tbs.full),
    RawSubjectPublicKeyInfo: b64(spki.full),
    RawSubject: b64(subject.full),
    RawIssuer: b64(issuer.full),
    Signature: b64(signature),
    SignatureAlgorithm: signatureAlgorithm(sigAlg),
    PublicKeyAlgorithm: pkAlg,
    PublicKey: pk,
    Version: v,
    SerialNumber: serial,
    Issuer: pkixName(issuer),
    Subject: pkixName(subject),
    NotBefore: notBefore,
    NotAfter: notAfter,
    KeyUsage: 0,
    Extensions: exts.length ? exts.map(({ raw: _raw, ...e }) => e) : null,
    ExtraExtensions: null,
    UnhandledCriticalExtensions: null,
    ExtKeyUsage: null,
    UnknownExtKeyUsage: null,
    BasicConstraintsValid: false,
    IsCA: false,
    MaxPathLen: 0,
    MaxPathLenZero: false,
    SubjectKeyId: null,
    AuthorityKeyId: null,
    OCSPServer: null,
    IssuingCertificateURL: null,
    DNSNames: null,
    EmailAddresses: null,
    IPAddresses: null,
    URIs: null,
    URIStrings: null,
    PermittedDNSDomainsCritical: false,
    PermittedDNSDomains: null,
    ExcludedDNSDomains: null,
    PermittedIPRanges: null,
    ExcludedIPRanges: null,
    PermittedEmailAddresses: null,
    ExcludedEmailAddresses: null,
    PermittedURIDomains: null,
    ExcludedURIDomains: null,
    CRLDistributionPoints: null,
    PolicyIdentifiers: null,
    Policies: null,
    InhibitAnyPolicy: 0,
    InhibitAnyPolicyZero: false,
    InhibitPolicyMapping: 0,
    InhibitPolicyMappingZero: false,
    RequireExplicitPolicy: 0,
    RequireExplicitPolicyZero: false,
    PolicyMappings: null,
  };
  if (v >= 3) applyExtensions(out, exts);
  return out;
}

/** Go's x509.ParseCertificates over concatenated DER; errors become X509Error. */
export function parseCertificates(der: Buffer): Json[] {
  try {
    const r = new DerReader(der);
    const out: Json[] = [];
    while (!r.empty) out.push(certificate(r));
    return out;
  } catch (e) {
    if (e instanceof DerError) throw new X509Error(`x509: malformed certificate: ${e.message}`);
    throw e;
  }
}

/** Go's x509.ParseCertificateRequest, as its JSON. */
export function parseCertificateRequest(der: Buffer): Json {
  try {
    const csr = new DerReader(der).read(TAG.SEQUENCE);
    const top = children(csr);
    const info = top.read(TAG.SEQUENCE);
    const sigAlg = top.read(TAG.SEQUENCE);
    const signature = top.read(TAG.BIT_STRING).contents.subarray(1);
    const r = children(info);
    const version = Number(readInteger(r.read(TAG.INTEGER).contents));
    const subject = r.read(TAG.SEQUENCE);
    const spki = r.read(TAG.SEQUENCE);
    const attrs = r.readOptional(ctx(0, true));
    const [pkAlg, pk] = publicKey(spki);
    const attributes: Json[] = [];
    let exts: Extension[] = [];
    for (const attr of attrs ? children(attrs).all() : []) {
      const a = children(attr);
      const type = readOid(a.read(TAG.OID).contents);
      const values = a.read(TAG.SET);
      if (oidString(type) === '1.2.840.113549.1.9.14') {
        exts = [...exts, ...children(values).all().flatMap((s) => extensions(s))];
        attributes.push({
          Type: type,
          Value: children(values)
            .all()
            .map((s) => extensions(s).map(({ Id, Value }) => ({ Type: Id, Value: Buffer.from(Value, 'base64').toString('base64') }))),
        });
      }
    }
    const out: Json = {
      Raw: b64(csr.full),
      RawTBSCertificateRequest: b64(info.full),
      RawSubjectPublicKeyInfo: b64(spki.full),
      RawSubject: b64(subject.full),
      Version: version,
      Signature: b64(signature),
      SignatureAlgorithm: signatureAlgorithm(sigAlg),
      PublicKeyAlgorithm: pkAlg,
      PublicKey: pk,
      Subject: pkixName(subject),
      Attributes: attributes.length ? attributes : null,
      Extensions: exts.length ? exts.map(({ raw: _raw, ...e }) => e) : null,
      ExtraExtensions: null,
      DNSNames: null,
      EmailAddresses: null,
      IPAddresses: null,
      URIs: null,
    };
    const san = exts.find((e) => oidString(e.Id) === '2.5.29.17');
    if (san) {
      const names = subjectAltNames(san.raw);
      Object.assign(out, { DNSNames: names.DNSNames, EmailAddresses: names.EmailAddresses, IPAddresses: names.IPAddresses, URIs: names.URIs });
    }
    return out;
  } catch (e) {
    if (e instanceof DerError) throw new X509Error(asn1Message(e));
    throw e;
  }
}
