// crypto.x509.parse_certificates and crypto.x509.parse_certificate_request: DER parsed into the JSON OPA produces
// from Go's x509.Certificate / x509.CertificateRequest (field names, Go's enum numbers, []byte as base64, nil as null).
import { asn1Message, children, ctx, DerError, DerReader, oidString, readInteger, readOid, readString, readTime, TAG, type Tlv } from './der.js';

import { applyExtensions, b64, extensions, subjectAltNames, X509Error, type Extension, type Json } from './x509-extensions.js';

export { X509Error };

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
