// The certificate extensions Go's x509 parser understands, into the fields of its x509.Certificate JSON: SANs, key
// usages, basic and name constraints, policies; anything critical it does not handle is listed as unhandled.

import { children, ctx, DerReader, oidString, readInteger, readOid, TAG, type Tlv } from './der.js';
import { formatIp, V4_PREFIX } from './ip.js';
import { parseUrl, UrlError } from './go-url.js';

export class X509Error extends Error {}

export type Json = Record<string, unknown>;

export const b64 = (b: Buffer) => b.toString('base64');

export interface Extension {
  Id: number[];
  Critical: boolean;
  Value: string;
  raw: Buffer;
}

export function extensions(t: Tlv): Extension[] {
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

export interface SubjectAltNames {
  DNSNames: string[] | null;
  EmailAddresses: string[] | null;
  IPAddresses: string[] | null;
  URIs: Array<Record<string, unknown>> | null;
  uriStrings: string[] | null;
}

export function subjectAltNames(value: Buffer): SubjectAltNames {
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

/** Go's processExtensions: the fields the known extensions fill in. */
export function applyExtensions(out: Json, exts: Extension[]): void {
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
export function nameConstraints(out: Json, e: Extension): boolean {
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
