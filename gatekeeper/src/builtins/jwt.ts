// io.jwt.verify_*, io.jwt.decode_verify and io.jwt.encode_sign(_raw) with node:crypto, after OPA's topdown/tokens.go: the same key sources (PEM
// certificate, PEM public key, JWK or JWK set), the same order of checks, and Go's errors where they are OPA's own.
import crypto from 'node:crypto';
import { BuiltinError, type BuiltinTable, type EvalContext } from './types.js';
import { str, typeOf } from './strings.js';
import { nowNs } from './time.js';
import { base64UrlDecode, decodeHeader, decodeJwt, Fail, jsonObject, jwtDecode } from './jwt-decode.js';

const tokenAlgorithms = new Set(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'HS256', 'HS384', 'HS512', 'EdDSA']);

interface Header {
  alg: string;
  kid: string;
  cty: string;
  crit: Set<string>;
  unknown: string[];
}

/** OPA's parseTokenHeader. */
function parseHeader(h: Record<string, unknown>): Header {
  const out: Header = { alg: '', kid: '', cty: '', crit: new Set(), unknown: [] };
  for (const [k, v] of Object.entries(h)) {
    if (k === 'alg' || k === 'kid' || k === 'typ' || k === 'cty') {
      if (typeof v !== 'string') throw new Fail(`${k}: must be a string`);
      if (k !== 'typ') out[k] = v;
    } else if (k === 'crit') {
      if (!Array.isArray(v)) throw new Fail('crit: must be a list');
      out.crit = new Set(v.filter((x): x is string => typeof x === 'string'));
      if (out.crit.size === 0) throw new Fail('crit: must be a nonempty list');
    } else out.unknown.push(k);
  }
  return out;
}

interface VerificationKey {
  alg: string;
  kid: string;
  key: crypto.KeyObject;
}

/** OPA's parseKeysFromCertOrJWK. */
function keysFrom(text: string): VerificationKey[] {
  const pem = /^\s*-----BEGIN ([^-\n]*)-----\r?\n[\s\S]*?-----END \1-----\r?\n?/.exec(text);
  if (pem) {
    if (pem[0].length < text.length) throw new Fail('extra data after a PEM certificate block');
    if (pem[1] === 'CERTIFICATE') {
      try {
        return [{ alg: '', kid: '', key: new crypto.X509Certificate(pem[0]).publicKey }];
      } catch (e) {
        throw new Fail(`failed to parse a PEM certificate: ${(e as Error).message}`);
      }
    }
    if (pem[1] === 'PUBLIC KEY') {
      try {
        return [{ alg: '', kid: '', key: crypto.createPublicKey(pem[0]) }];
      } catch (e) {
        throw new Fail(`failed to parse a PEM public key: ${(e as Error).message}`);
      }
    }
    throw new Fail('failed to extract a Key from the PEM certificate');
  }
  let set: unknown;
  try {
    set = JSON.parse(text);
  } catch (e) {
    throw new Fail(`failed to parse a JWK key (set): ${(e as Error).message}`);
  }
  const jwks = set && typeof set === 'object' && Array.isArray((set as { keys?: unknown }).keys) ? ((set as { keys: unknown[] }).keys as Array<Record<string, unknown>>) : [set as Record<string, unknown>];
  const keys: VerificationKey[] = [];
  for (const jwk of jwks) {
    let key: crypto.KeyObject;
    try {
      key = jwk.kty === 'oct' ? crypto.createSecretKey(Buffer.from(String(jwk.k ?? ''), 'base64url')) : 'd' in jwk ? crypto.createPrivateKey({ key: jwk as crypto.JsonWebKey, format: 'jwk' }) : crypto.createPublicKey({ key: jwk as crypto.JsonWebKey, format: 'jwk' });
    } catch (e) {
      throw new Fail(`failed to parse a JWK key (set): ${(e as Error).message}`);
    }
    const alg = typeof jwk.alg === 'string' ? jwk.alg : '';
    if (alg && !tokenAlgorithms.has(alg)) continue;
    keys.push({ alg, kid: typeof jwk.kid === 'string' ? jwk.kid : '', key });
  }
  return keys;
}

const hashOf = (alg: string) => `sha${alg.slice(2)}`;
const ecSizes: Record<string, number> = { 'prime256v1': 32, 'secp384r1': 48, 'secp521r1': 66 };

/** r||s (split in half, as OPA does) to a DER ECDSA signature. */
function ecdsaDer(sig: Buffer): Buffer {
  const n = Math.floor(sig.length / 2);
  const int = (b: Buffer) => {
    let x = b;
    while (x.length > 1 && x[0] === 0) x = x.subarray(1);
    if (x.length === 0) x = Buffer.from([0]);
    if (x[0]! & 0x80) x = Buffer.concat([Buffer.from([0]), x]);
    return Buffer.concat([Buffer.from([0x02, x.length]), x]);
  };
  const body = Buffer.concat([int(sig.subarray(0, n)), int(sig.subarray(n))]);
  const len = body.length < 128 ? Buffer.from([body.length]) : Buffer.from([0x81, body.length]);
  return Buffer.concat([Buffer.from([0x30]), len, body]);
}

/**
 * Does `signature` sign `data` with `key` under `alg`? Keys of the wrong type (OPA: "incorrect public key type") and
 * failed checks are both false. `strict`: jwx's rules (decode_verify): exact ECDSA signature size, PSS salt = hash size.
 */
function verifySignature(alg: string, key: crypto.KeyObject, data: Buffer, signature: Buffer, strict = false): boolean {
  const family = alg.slice(0, 2);
  try {
    if (family === 'HS') {
      if (key.type !== 'secret') return false;
      const mac = crypto.createHmac(hashOf(alg), key.export()).update(data).digest();
      return mac.length === signature.length && crypto.timingSafeEqual(mac, signature);
    }
    if (key.type !== 'public') return false;
    const type = key.asymmetricKeyType;
    if (family === 'RS' || family === 'PS') {
      if (type !== 'rsa') return false;
      // OPA's own PSS check detects the salt length; jwx (decode_verify) wants it equal to the hash length
      const saltLength = strict ? crypto.constants.RSA_PSS_SALTLEN_DIGEST : crypto.constants.RSA_PSS_SALTLEN_AUTO;
      const padding = family === 'PS' ? { padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength } : {};
      return crypto.verify(hashOf(alg), data, { key, ...padding }, signature);
    }
    if (family === 'ES') {
      if (type !== 'ec') return false;
      const size = ecSizes[key.asymmetricKeyDetails?.namedCurve ?? ''];
      if (strict && signature.length !== 2 * (size ?? 0)) return false;
      return crypto.verify(hashOf(alg), data, { key, dsaEncoding: 'der' }, ecdsaDer(signature));
    }
    if (alg === 'EdDSA') return type === 'ed25519' && crypto.verify(null, data, key, signature);
  } catch {
    return false;
  }
  return false;
}

/** OPA's builtinJWTVerify (verify_rs*, ps*, es*, EdDSA). */
function verifyWithKeys(name: string, alg: string, jwt: unknown, keyText: unknown): boolean {
  const token = decodeJwt(jwt);
  const keys = keysFrom(str(name, 2, keyText));
  const signature = base64UrlDecode(token.signature);
  const header = parseHeader(decodeHeader(token));
  const data = Buffer.from(`${token.header}.${token.payload}`);
  if (header.kid) {
    const byKid = keys.find((k) => k.kid === header.kid);
    if (byKid) return verifySignature(alg, byKid.key, data, signature);
  }
  return keys.some((k) => (k.alg === '' || k.alg === header.alg) && verifySignature(alg, k.key, data, signature));
}

function verifyHs(name: string, alg: string, jwt: unknown, secret: unknown): boolean {
  const t = str(name, 1, jwt);
  const s = str(name, 2, secret);
  const token = decodeJwt(t);
  const mac = crypto.createHmac(hashOf(alg), Buffer.from(s)).update(`${token.header}.${token.payload}`).digest();
  const signature = base64UrlDecode(token.signature);
  return mac.length === signature.length && crypto.timingSafeEqual(mac, signature);
}

interface Constraints {
  keys?: VerificationKey[];
  secret: string;
  alg: string;
  iss: string;
  aud: string;
  time: number;
}

function constraintsOf(o: Record<string, unknown>, ctx: EvalContext): Constraints {
  const c: Constraints = { secret: '', alg: '', iss: '', aud: '', time: -1 };
  const timeFrom = (v: unknown) => {
    if (typeof v !== 'number' && typeof v !== 'bigint') throw new Fail('token time constraint: must be a number');
    const t = Number(v);
    if (t < 0) throw new Fail('token time constraint: must not be negative');
    return t;
  };
  for (const [k, v] of Object.entries(o)) {
    if (k === 'cert') {
      if (typeof v !== 'string') throw new Fail('cert constraint: must be a string');
      c.keys = keysFrom(v);
    } else if (k === 'secret' || k === 'alg' || k === 'iss' || k === 'aud') {
      if (typeof v !== 'string') throw new Fail(`${k} constraint: must be a string`);
      c[k] = v;
    } else if (k === 'time') c.time = timeFrom(v);
    else throw new Fail(`unknown token validation constraint: ${k}`);
  }
  if (c.time === -1) c.time = Number(nowNs(ctx));
  const keyConstraints = (c.keys ? 1 : 0) + (c.secret ? 1 : 0);
  if (keyConstraints > 1) throw new Fail('duplicate key constraints');
  if (keyConstraints < 1) throw new Fail('no key constraint');
  return c;
}

/** jwsbb.Verify through the constraints' keys or secret. */
function constraintsVerify(c: Constraints, header: Header, data: Buffer, signature: Buffer): boolean {
  if (!tokenAlgorithms.has(header.alg)) return false;
  if (c.keys) {
    if (header.kid) {
      const byKid = c.keys.find((k) => k.kid === header.kid);
      if (byKid) return verifySignature(header.alg, byKid.key, data, signature, true);
    }
    return c.keys.some((k) => (k.alg === '' || k.alg === header.alg) && verifySignature(header.alg, k.key, data, signature, true));
  }
  return verifySignature(header.alg, crypto.createSecretKey(Buffer.from(c.secret)), data, signature, true);
}

function decodeVerify(jwt: unknown, constraintsArg: unknown, ctx: EvalContext): unknown[] {
  if (!constraintsArg || typeof constraintsArg !== 'object' || Array.isArray(constraintsArg)) {
    throw new Fail(`operand 2 must be object but got ${typeOf(constraintsArg)}`);
  }
  const unverified = [false, {}, {}];
  const c = constraintsOf(constraintsArg as Record<string, unknown>, ctx);
  let current: unknown = jwt;
  let decodedHeader: Record<string, unknown>;
  let payloadText: string;
  for (;;) {
    const token = decodeJwt(current);
    decodedHeader = decodeHeader(token);
    const header = parseHeader(decodedHeader);
    if (!header.alg || header.unknown.some((u) => header.crit.has(u))) return unverified;
    if (c.alg && c.alg !== header.alg) return unverified;
    const signature = base64UrlDecode(token.signature);
    if (!constraintsVerify(c, header, Buffer.from(`${token.header}.${token.payload}`), signature)) return unverified;
    try {
      payloadText = base64UrlDecode(token.payload).toString('utf8');
    } catch (e) {
      throw new Fail(`JWT payload had invalid encoding: ${(e as Error).message}`);
    }
    if (header.cty.toLowerCase() !== 'jwt') break;
    current = payloadText;
  }
  const payload = jsonObject(payloadText);
  if (c.iss && payload.iss !== c.iss) return unverified;
  if ('aud' in payload) {
    const aud = payload.aud;
    const ok = typeof aud === 'string' ? aud === c.aud : Array.isArray(aud) && aud.some((a) => typeof a === 'string' && a === c.aud);
    if (!ok) return unverified;
  } else if (c.aud) return unverified;
  const now = c.time / 1e9;
  if ('exp' in payload) {
    if (typeof payload.exp !== 'number') throw new Fail('exp value must be a number');
    if (now >= payload.exp) return unverified;
  }
  if ('nbf' in payload) {
    if (typeof payload.nbf !== 'number') throw new Fail('nbf value must be a number');
    if (now < payload.nbf) return unverified;
  }
  return [true, decodedHeader, payload];
}

/** Go's json.Marshal of a JSON value: object keys sorted, <, >, & and U+2028/9 escaped. */
function goJson(v: unknown): string {
  const sort = (x: unknown): unknown =>
    Array.isArray(x) ? x.map(sort) : x && typeof x === 'object' ? Object.fromEntries(Object.keys(x).sort().map((k) => [k, sort((x as Record<string, unknown>)[k])])) : x;
  return JSON.stringify(sort(v)).replace(/[<>&\u2028\u2029]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}

/** The first key of a JWK or JWK set, as a signing key. */
function signingKey(jwkText: string): crypto.KeyObject {
  let parsed: unknown;
  try {
    parsed = JSON.parse(jwkText);
  } catch (e) {
    throw new Fail(`failed to unmarshal JWK: ${(e as Error).message}`);
  }
  const set = parsed as { keys?: unknown };
  const keys = parsed && typeof parsed === 'object' && Array.isArray(set.keys) ? (set.keys as Array<Record<string, unknown>>) : [parsed as Record<string, unknown>];
  if (!keys.length) throw new Fail('no keys found in JWK set');
  const jwk = keys[0]!;
  try {
    if (jwk.kty === 'oct') return crypto.createSecretKey(Buffer.from(String(jwk.k ?? ''), 'base64url'));
    return 'd' in jwk ? crypto.createPrivateKey({ key: jwk as crypto.JsonWebKey, format: 'jwk' }) : crypto.createPublicKey({ key: jwk as crypto.JsonWebKey, format: 'jwk' });
  } catch (e) {
    throw new Fail(`failed to parse JWK: ${(e as Error).message}`);
  }
}

/** jwsbb.Sign: the key must suit the algorithm (jwx signs PSS with a salt as long as the hash). */
function signWith(alg: string, key: crypto.KeyObject, data: Buffer): Buffer {
  const family = alg.slice(0, 2);
  const type = key.type === 'secret' ? 'oct' : key.asymmetricKeyType;
  const wrongKey = () => new Fail(`failed to sign payload using ${alg}: invalid key type ${type}`);
  if (family === 'HS') {
    if (key.type !== 'secret') throw wrongKey();
    return crypto.createHmac(hashOf(alg), key.export()).update(data).digest();
  }
  if (key.type !== 'private') throw wrongKey();
  if (family === 'RS' || family === 'PS') {
    if (type !== 'rsa') throw wrongKey();
    const pss = family === 'PS' ? { padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: crypto.constants.RSA_PSS_SALTLEN_DIGEST } : {};
    return crypto.sign(hashOf(alg), data, { key, ...pss });
  }
  if (family === 'ES') {
    if (type !== 'ec') throw wrongKey();
    return crypto.sign(hashOf(alg), data, { key, dsaEncoding: 'ieee-p1363' });
  }
  if (type !== 'ed25519') throw wrongKey();
  return crypto.sign(null, data, key);
}

/** OPA's commonBuiltinJWTEncodeSign over the header and payload bytes as given. */
function encodeSign(headerText: string, payloadText: string, jwkText: string): string {
  const key = signingKey(jwkText);
  let headers: unknown;
  try {
    headers = JSON.parse(headerText);
  } catch {
    headers = undefined;
  }
  const h = (headers && typeof headers === 'object' ? headers : {}) as Record<string, unknown>;
  // the wording of the JOSE library OPA signs with (its header lookup)
  if (headerText === '') throw new Fail("missing or invalid 'alg' header: cannot parse JSON: cannot parse empty string");
  if (headers === undefined && /^\s*\{/.test(headerText)) throw new Fail("missing or invalid 'alg' header: cannot parse JSON");
  if (h.alg === undefined) throw new Fail('missing or invalid \'alg\' header: jwsbb: header "alg" not found');
  if (typeof h.alg !== 'string') throw new Fail("missing or invalid 'alg' header: 'alg' is not a string");
  if (!tokenAlgorithms.has(h.alg)) throw new Fail(`unknown JWS algorithm: ${h.alg}`);
  if (typeof h.typ !== 'string' || h.typ === 'JWT') {
    try {
      JSON.parse(payloadText);
    } catch {
      throw new Fail('type is JWT but payload is not JSON');
    }
  }
  const input = `${Buffer.from(headerText).toString('base64url')}.${Buffer.from(payloadText).toString('base64url')}`;
  return `${input}.${signWith(h.alg, key, Buffer.from(input)).toString('base64url')}`;
}

/** Runs a builtin body, turning its failures into errors named after the builtin. */
const named =
  (name: string, f: (...args: unknown[]) => unknown) =>
  (...args: unknown[]) => {
    try {
      return f(...args);
    } catch (e) {
      if (e instanceof Fail) throw new BuiltinError(name, e.message);
      throw e;
    }
  };

export function jwtBuiltins(ctx: () => EvalContext): BuiltinTable {
  const table: BuiltinTable = {
    'io.jwt.decode': named('io.jwt.decode', jwtDecode),
    'io.jwt.decode_verify': named('io.jwt.decode_verify', (jwt, constraints) => decodeVerify(jwt, constraints, ctx())),
    'io.jwt.encode_sign': named('io.jwt.encode_sign', (headers, payload, key) => encodeSign(goJson(headers), goJson(payload), goJson(key))),
    'io.jwt.encode_sign_raw': named('io.jwt.encode_sign_raw', (headers, payload, key) =>
      encodeSign(str('io.jwt.encode_sign_raw', 1, headers), str('io.jwt.encode_sign_raw', 2, payload), str('io.jwt.encode_sign_raw', 3, key)),
    ),
  };
  for (const alg of ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA']) {
    const name = `io.jwt.verify_${alg.toLowerCase()}`;
    table[name] = named(name, (jwt, key) => verifyWithKeys(name, alg, jwt, key));
  }
  for (const alg of ['HS256', 'HS384', 'HS512']) {
    const name = `io.jwt.verify_${alg.toLowerCase()}`;
    table[name] = named(name, (jwt, secret) => verifyHs(name, alg, jwt, secret));
  }
  return table;
}
