// A small DER reader: enough ASN.1 for X.509 certificates, CSRs and keys.

export interface Tlv {
  /** The identifier octet: class, constructed bit and tag number (tags above 30 are not used by X.509). */
  tag: number;
  /** The whole element (header and contents). */
  full: Buffer;
  contents: Buffer;
}

export class DerError extends Error {
  constructor(
    message: string,
    /** what went wrong, for callers that word it as Go's encoding/asn1 does */
    readonly kind: 'tag' | 'truncated' | 'other' = 'other',
  ) {
    super(message);
  }
}

/** A DER error in Go's encoding/asn1 wording (what x509.ParseCertificateRequest reports). */
export function asn1Message(e: DerError): string {
  if (e.kind === 'tag') return `asn1: structure error: tags don't match (${e.message})`;
  if (e.kind === 'truncated') return 'asn1: syntax error: data truncated';
  return `asn1: structure error: ${e.message}`;
}

export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8String: 0x0c,
  SEQUENCE: 0x30,
  SET: 0x31,
  PrintableString: 0x13,
  T61String: 0x14,
  IA5String: 0x16,
  UTCTime: 0x17,
  GeneralizedTime: 0x18,
  NumericString: 0x12,
  UniversalString: 0x1c,
  BMPString: 0x1e,
} as const;

/** Context-specific tag n, primitive or constructed. */
export const ctx = (n: number, constructed = false) => 0x80 | (constructed ? 0x20 : 0) | n;

/** Sequential reading of the elements inside a buffer. */
export class DerReader {
  private pos = 0;
  constructor(private readonly buf: Buffer) {}

  get empty(): boolean {
    return this.pos >= this.buf.length;
  }

  peekTag(): number | undefined {
    return this.empty ? undefined : this.buf[this.pos];
  }

  read(expected?: number): Tlv {
    const b = this.buf;
    const start = this.pos;
    if (start + 2 > b.length) throw new DerError('truncated element');
    const tag = b[start]!;
    if ((tag & 0x1f) === 0x1f) throw new DerError('high tag numbers are not supported');
    let len = b[start + 1]!;
    let header = 2;
    if (len & 0x80) {
      const n = len & 0x7f;
      if (n === 0 || n > 4 || start + 2 + n > b.length) throw new DerError('invalid length');
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + b[start + 2 + i]!;
      header += n;
    }
    const end = start + header + len;
    // the tag first, then the length, in the order of Go's encoding/asn1
    if (expected !== undefined && tag !== expected) throw new DerError(`expected tag 0x${expected.toString(16)} but got 0x${tag.toString(16)}`, 'tag');
    if (end > b.length) throw new DerError('truncated element', 'truncated');
    this.pos = end;
    return { tag, full: b.subarray(start, end), contents: b.subarray(start + header, end) };
  }

  readOptional(tag: number): Tlv | undefined {
    return this.peekTag() === tag ? this.read(tag) : undefined;
  }

  all(): Tlv[] {
    const out: Tlv[] = [];
    while (!this.empty) out.push(this.read());
    return out;
  }
}

export const children = (t: Tlv) => new DerReader(t.contents);

export function readOid(contents: Buffer): number[] {
  if (contents.length === 0) throw new DerError('empty OID');
  const arcs: number[] = [];
  let v = 0;
  for (const byte of contents) {
    v = v * 128 + (byte & 0x7f);
    if (!(byte & 0x80)) {
      if (arcs.length === 0) arcs.push(v < 80 ? Math.floor(v / 40) : 2, v < 80 ? v % 40 : v - 80);
      else arcs.push(v);
      v = 0;
    }
  }
  return arcs;
}

export const oidString = (arcs: number[]) => arcs.join('.');

export function readInteger(contents: Buffer): bigint {
  if (contents.length === 0) throw new DerError('empty integer');
  let v = BigInt('0x' + contents.toString('hex'));
  if (contents[0]! & 0x80) v -= 1n << BigInt(contents.length * 8);
  return v;
}

/** UTCTime (YYMMDDHHMMSSZ, 19xx for YY >= 50) or GeneralizedTime (YYYYMMDDHHMMSSZ), as Go's time JSON (UTC). */
export function readTime(t: Tlv): string {
  const s = t.contents.toString('latin1');
  const m = t.tag === TAG.UTCTime ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s) : /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (!m) throw new DerError(`malformed time ${JSON.stringify(s)}`);
  let year = Number(m[1]);
  if (t.tag === TAG.UTCTime) year += year >= 50 ? 1900 : 2000;
  return `${String(year).padStart(4, '0')}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`;
}

/** The string types Go's x509 accepts in names. */
export function readString(t: Tlv): string {
  switch (t.tag) {
    case TAG.UTF8String:
    case TAG.PrintableString:
    case TAG.IA5String:
    case TAG.NumericString:
      return t.contents.toString('utf8');
    case TAG.T61String:
      return t.contents.toString('latin1');
    case TAG.BMPString:
      return Buffer.from(t.contents).swap16().toString('utf16le');
    case TAG.UniversalString: {
      let s = '';
      for (let i = 0; i + 4 <= t.contents.length; i += 4) s += String.fromCodePoint(t.contents.readUInt32BE(i));
      return s;
    }
    default:
      throw new DerError(`unsupported string type: ${t.tag}`);
  }
}
