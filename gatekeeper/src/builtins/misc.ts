// The remaining non-native builtins real-world templates call: encodings, hashes, ranges, ids.
import crypto from 'node:crypto';
import net from 'node:net';
import { BuiltinError, type BuiltinTable } from './types.js';
import { str, typeOf } from './strings.js';

const hash = (alg: string) => (x: unknown) => crypto.createHash(alg).update(str(`crypto.${alg}`, 1, x)).digest('hex');
const hmac = (alg: string) => (x: unknown, key: unknown) =>
  crypto.createHmac(alg, str(`crypto.hmac.${alg}`, 2, key)).update(str(`crypto.hmac.${alg}`, 1, x)).digest('hex');

export const miscBuiltins: BuiltinTable = {
  'crypto.sha256': hash('sha256'),
  'crypto.sha1': hash('sha1'),
  'crypto.md5': hash('md5'),
  'crypto.hmac.sha256': hmac('sha256'),
  'crypto.hmac.sha512': hmac('sha512'),
  'crypto.hmac.equal': (a, b) => {
    const x = Buffer.from(str('crypto.hmac.equal', 1, a));
    const y = Buffer.from(str('crypto.hmac.equal', 2, b));
    return x.length === y.length && crypto.timingSafeEqual(x, y);
  },
  'hex.encode': (x) => Buffer.from(str('hex.encode', 1, x)).toString('hex'),
  'hex.decode': (x) => {
    // Go's hex.DecodeString: the first byte that is not a hex digit, else an odd length, is the error
    const bytes = Buffer.from(str('hex.decode', 1, x), 'utf8');
    const bad = bytes.findIndex((b) => !/[0-9a-fA-F]/.test(String.fromCharCode(b)));
    if (bad >= 0) {
      const b = bytes[bad]!;
      const code = `U+${b.toString(16).toUpperCase().padStart(4, '0')}`;
      const printable = (b >= 0x20 && b < 0x7f) || b >= 0xa1;
      throw new Error(`encoding/hex: invalid byte: ${code}${printable ? ` '${String.fromCharCode(b)}'` : ''}`);
    }
    if (bytes.length % 2) throw new Error('encoding/hex: odd length hex string');
    return Buffer.from(bytes.toString('latin1'), 'hex').toString('utf8');
  },
  'urlquery.encode': (x) => encodeURIComponent(str('urlquery.encode', 1, x)).replace(/%20/g, '+').replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase()),
  'urlquery.decode': (x) => {
    try {
      return decodeURIComponent(str('urlquery.decode', 1, x).replace(/\+/g, ' '));
    } catch {
      throw new BuiltinError('urlquery.decode', 'invalid URL escape');
    }
  },
  'urlquery.encode_object': (o) => {
    if (!o || typeof o !== 'object' || Array.isArray(o)) throw new BuiltinError('urlquery.encode_object', `operand 1 must be object but got ${typeOf(o)}`);
    const p = new URLSearchParams();
    for (const k of Object.keys(o).sort()) {
      const v = (o as Record<string, unknown>)[k];
      for (const item of Array.isArray(v) ? v : [v]) p.append(k, String(item));
    }
    return p.toString();
  },
  'urlquery.decode_object': (x) => {
    const out: Record<string, string[]> = {};
    for (const [k, v] of new URLSearchParams(str('urlquery.decode_object', 1, x))) (out[k] ??= []).push(v);
    return out;
  },
  'numbers.range_step': (a, b, step) => {
    const [x, y, s] = [Number(a), Number(b), Number(step)];
    if (!Number.isInteger(s) || s <= 0) throw new BuiltinError('numbers.range_step', 'step must be a positive integer');
    const out: number[] = [];
    if (x <= y) for (let i = x; i <= y; i += s) out.push(i);
    else for (let i = x; i >= y; i -= s) out.push(i);
    return out;
  },
  'net.cidr_is_valid': (x) => {
    if (typeof x !== 'string') return false;
    const [ip, bits, extra] = x.split('/');
    if (extra !== undefined || bits === undefined || !/^\d+$/.test(bits)) return false;
    const family = net.isIP(ip ?? '');
    return family !== 0 && Number(bits) <= (family === 4 ? 32 : 128);
  },
  // Gatekeeper gives OPA no runtime information, where opa.runtime() is an empty object
  'opa.runtime': () => ({}),
  // Gatekeeper evaluates without a tracer, where OPA's trace is a no-op that succeeds
  trace: (note) => {
    str('trace', 1, note);
    return true;
  },
};
