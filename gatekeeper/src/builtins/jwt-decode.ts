// io.jwt.decode and the token parsing the io.jwt.* builtins share, after OPA's topdown/tokens.go (its order of
// checks and its errors).
import { typeOf } from './strings.js';

/** A failure the builtin reports under its own name. */
export class Fail extends Error {}

/** OPA's base64url.decode: padding optional. */
export function base64UrlDecode(s: string): Buffer {
  let padded = s;
  if (!s.endsWith('=')) {
    const rem = s.length % 4;
    if (rem === 1) throw new Fail(`illegal base64url string: ${s}`);
    padded += rem === 2 ? '==' : rem === 3 ? '=' : '';
  }
  const bad = [...padded].findIndex((c) => !/[A-Za-z0-9_=-]/.test(c));
  if (bad >= 0) throw new Fail(`illegal base64 data at input byte ${bad}`);
  if (padded.length % 4 !== 0 || /=[^=]/.test(padded) || /={3,}$/.test(padded)) {
    throw new Fail(`illegal base64 data at input byte ${Math.max(0, padded.indexOf('='))}`);
  }
  return Buffer.from(padded, 'base64url');
}

export interface Token {
  header: string;
  payload: string;
  signature: string;
}

export function decodeJwt(v: unknown): Token {
  if (typeof v !== 'string') throw new Fail(`operand 1 must be string but got ${typeOf(v)}`);
  if (!v.includes('.')) throw new Fail('encoded JWT had no period separators');
  const parts = v.split('.');
  if (parts.length !== 3) throw new Fail(`encoded JWT must have 3 sections, found ${parts.length}`);
  return { header: parts[0]!, payload: parts[1]!, signature: parts[2]! };
}

export function jsonObject(text: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new Fail(`invalid JSON: ${(e as Error).message}`);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Fail('decoded JSON type was not an Object');
  return v as Record<string, unknown>;
}

export function decodeHeader(token: Token): Record<string, unknown> {
  let text: string;
  try {
    text = base64UrlDecode(token.header).toString('utf8');
  } catch (e) {
    throw new Fail(`JWT header had invalid encoding: ${(e as Error).message}`);
  }
  let header: Record<string, unknown>;
  try {
    header = jsonObject(text);
  } catch (e) {
    throw new Fail(`bad JWT header: ${(e as Error).message}`);
  }
  if ('enc' in header) throw new Fail('JWT is a JWE object, which is not supported');
  return header;
}

/** io.jwt.decode: [header, payload, signature as hex]; a payload that is itself a JWT (cty "JWT") is decoded instead. */
export function jwtDecode(jwt: unknown): unknown {
  const token = decodeJwt(jwt);
  const header = decodeHeader(token);
  let payloadText: string;
  try {
    payloadText = base64UrlDecode(token.payload).toString('utf8');
  } catch (e) {
    throw new Fail(`JWT payload had invalid encoding: ${(e as Error).message}`);
  }
  // a nested token arrives quoted (as jwt.io writes it): trimmed of quotes, then decoded
  if (header.cty === 'JWT') return jwtDecode(payloadText.replace(/^["']+|["']+$/g, ''));
  const payload = jsonObject(payloadText);
  let signature: Buffer;
  try {
    signature = base64UrlDecode(token.signature);
  } catch (e) {
    throw new Fail(`JWT signature had invalid encoding: ${(e as Error).message}`);
  }
  return [header, payload, signature.toString('hex')];
}
