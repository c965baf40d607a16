// The remaining non-native builtins real-world templates call: encodings, hashes, YAML, JSON schema, objects, ids.
import crypto from 'node:crypto';
import net from 'node:net';
import YAML from 'yaml';
import { Ajv } from 'ajv';
import { BuiltinError, type BuiltinTable } from './types.js';
import { str, typeOf } from './strings.js';

const hash = (alg: string) => (x: unknown) => crypto.createHash(alg).update(str(`crypto.${alg}`, 1, x)).digest('hex');
const hmac = (alg: string) => (x: unknown, key: unknown) =>
  crypto.createHmac(alg, str(`crypto.hmac.${alg}`, 2, key)).update(str(`crypto.hmac.${alg}`, 1, x)).digest('hex');

const ajv = new Ajv({ allErrors: true, strict: false });

function schemaOf(name: string, s: unknown): object {
  const v = typeof s === 'string' ? JSON.parse(s) : s;
  if (v === null || typeof v !== 'object') throw new BuiltinError(name, `schema must be object or string but got ${typeOf(s)}`);
  return v as object;
}

function isSubset(sup: unknown, sub: unknown): boolean {
  if (Array.isArray(sup) && Array.isArray(sub)) {
    // array in array: sub must be a contiguous subsequence; OPA treats sets (which arrive as arrays) the same way here
    if (sub.length === 0) return true;
    for (let i = 0; i + sub.length <= sup.length; i++) {
      if (sub.every((x, j) => JSON.stringify(x) === JSON.stringify(sup[i + j]))) return true;
    }
    return sub.every((x) => sup.some((y) => JSON.stringify(x) === JSON.stringify(y)));
  }
  if (sup && sub && typeof sup === 'object' && typeof sub === 'object' && !Array.isArray(sup) && !Array.isArray(sub)) {
    return Object.entries(sub as Record<string, unknown>).every(([k, v]) => {
      const w = (sup as Record<string, unknown>)[k];
      if (w === undefined) return false;
      if (w && v && typeof w === 'object' && typeof v === 'object' && !Array.isArray(w)) return isSubset(w, v);
      return JSON.stringify(w) === JSON.stringify(v);
    });
  }
  return JSON.stringify(sup) === JSON.stringify(sub);
}

const uuids = new Map<string, string>();

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
    const s = str('hex.decode', 1, x);
    if (!/^([0-9a-fA-F]{2})*$/.test(s)) throw new BuiltinError('hex.decode', `invalid hex string ${JSON.stringify(s)}`);
    return Buffer.from(s, 'hex').toString('utf8');
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
  'yaml.is_valid': (x) => {
    if (typeof x !== 'string') return undefined;
    try {
      YAML.parse(x);
      return true;
    } catch {
      return false;
    }
  },
  'yaml.marshal': (x) => YAML.stringify(x),
  'yaml.unmarshal': (x) => {
    try {
      return YAML.parse(str('yaml.unmarshal', 1, x)) ?? null;
    } catch (e) {
      throw new BuiltinError('yaml.unmarshal', (e as Error).message);
    }
  },
  'json.verify_schema': (s) => {
    try {
      ajv.compile(schemaOf('json.verify_schema', s));
      return [true, null];
    } catch (e) {
      return [false, (e as Error).message];
    }
  },
  'json.match_schema': (doc, s) => {
    const d = typeof doc === 'string' ? JSON.parse(doc) : doc;
    const validate = ajv.compile(schemaOf('json.match_schema', s));
    if (validate(d)) return [true, []];
    return [
      false,
      (validate.errors ?? []).map((e) => ({ error: `${e.instancePath || '(root)'}: ${e.message}`, type: e.keyword, field: e.instancePath, desc: e.message })),
    ];
  },
  'object.subset': (sup, sub) => isSubset(sup, sub),
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
  'uuid.rfc4122': (k) => {
    const key = str('uuid.rfc4122', 1, k);
    let u = uuids.get(key);
    if (!u) {
      u = crypto.randomUUID();
      if (uuids.size > 10_000) uuids.clear();
      uuids.set(key, u);
    }
    return u;
  },
  'rand.intn': (_k, n) => Math.floor(Math.random() * Math.abs(Number(n))),
  'opa.runtime': () => ({ env: {}, version: 'wasm' }),
  // Gatekeeper evaluates without a tracer, where OPA's trace is a no-op that succeeds
  trace: (note) => {
    str('trace', 1, note);
    return true;
  },
  'io.jwt.decode': (t) => {
    const parts = str('io.jwt.decode', 1, t).split('.');
    if (parts.length !== 3) throw new BuiltinError('io.jwt.decode', 'encoded JWT had no period separators');
    try {
      const dec = (p: string) => JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
      return [dec(parts[0]!), dec(parts[1]!), Buffer.from(parts[2]!, 'base64url').toString('hex')];
    } catch (e) {
      throw new BuiltinError('io.jwt.decode', (e as Error).message);
    }
  },
};
