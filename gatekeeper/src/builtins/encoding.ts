// base64url without padding, the HMACs OPA offers beyond sha256/sha512, uuid.parse (OPA's internal/uuid over
// github.com/google/uuid).
import crypto from 'node:crypto';
import type { BuiltinTable } from './types.js';
import { str } from './strings.js';

const hmac = (alg: string) => (x: unknown, key: unknown) =>
  crypto.createHmac(alg, str(`crypto.hmac.${alg}`, 2, key)).update(str(`crypto.hmac.${alg}`, 1, x)).digest('hex');

/** google/uuid's Parse: 36 chars, 38 (any one char either side), urn:uuid: + 36, or 32 hex digits. */
function parseUuid(s: string): Buffer | undefined {
  const bytes = Buffer.from(s, 'utf8');
  let body: Buffer;
  switch (bytes.length) {
    case 32:
      return /^[0-9a-fA-F]{32}$/.test(s) ? Buffer.from(s, 'hex') : undefined;
    case 36:
      body = bytes;
      break;
    case 45:
      if (bytes.subarray(0, 9).toString('latin1').toLowerCase() !== 'urn:uuid:') return undefined;
      body = bytes.subarray(9);
      break;
    case 38:
      body = bytes.subarray(1, 37);
      break;
    default:
      return undefined;
  }
  const text = body.toString('latin1');
  if (!/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(text)) return undefined;
  return Buffer.from(text.replaceAll('-', ''), 'hex');
}

function variant(b: number): string {
  if ((b & 0xc0) === 0x80) return 'RFC4122';
  if ((b & 0xe0) === 0xc0) return 'Microsoft';
  if ((b & 0xe0) === 0xe0) return 'Future';
  return 'Reserved';
}

function macVariables(b: number): string {
  if ((b & 0b11) === 0b11) return 'local:multicast';
  if ((b & 0b01) === 0b01) return 'global:multicast';
  if ((b & 0b10) === 0b10) return 'local:unicast';
  return 'global:unicast';
}

/** 100ns intervals between 1582-10-15 (the UUID epoch) and 1970-01-01. */
const G1582 = 122192928000000000n;

function describeUuid(u: Buffer): Record<string, unknown> {
  const version = u[6]! >> 4;
  const out: Record<string, unknown> = { version, variant: variant(u[8]!) };
  if (version === 1 || version === 2) {
    const t = BigInt(u.readUInt32BE(0)) | (BigInt(u.readUInt16BE(4)) << 32n) | (BigInt(u.readUInt16BE(6) & 0xfff) << 48n);
    const since = t - G1582;
    // Go's / and % truncate toward zero, as BigInt's do
    out.time = (since / 10_000_000n) * 1_000_000_000n + (since % 10_000_000n) * 100n;
    out.nodeid = [...u.subarray(10, 16)].map((b) => b.toString(16).padStart(2, '0')).join('-');
    out.macvariables = macVariables(u[10]!);
    out.clocksequence = u.readUInt16BE(8) & 0x3fff;
    if (version === 2) {
      out.id = u.readUInt32BE(0);
      out.domain = ['Person', 'Group', 'Org'][u[9]!] ?? `Domain${u[9]}`;
    }
  }
  return out;
}

export const encodingBuiltins: BuiltinTable = {
  'base64url.encode_no_pad': (x) => Buffer.from(str('base64url.encode_no_pad', 1, x), 'utf8').toString('base64url'),
  'crypto.hmac.md5': hmac('md5'),
  'crypto.hmac.sha1': hmac('sha1'),
  'uuid.parse': (x) => {
    const u = parseUuid(str('uuid.parse', 1, x));
    return u && describeUuid(u);
  },
};
