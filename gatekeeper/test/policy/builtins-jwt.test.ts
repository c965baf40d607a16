// io.jwt.verify_*, io.jwt.decode_verify and io.jwt.encode_sign(_raw) against OPA's Go evaluator. Tokens are signed here with node:crypto (test
// input); both evaluators then verify them with certificates, PEM public keys, JWKs and JWK sets.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { agreeWithGo } from './go-agreement.js';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures/x509');
const read = (f: string) => fs.readFileSync(path.join(dir, f), 'utf8');
const rsa = crypto.createPrivateKey(read('root.key'));
const ec256 = crypto.createPrivateKey(read('leaf.key'));
const ec384 = crypto.createPrivateKey(read('inter.key'));
const ed = crypto.createPrivateKey(read('ed.key'));
const pub = (k: crypto.KeyObject) => crypto.createPublicKey(k).export({ type: 'spki', format: 'pem' }) as string;
const jwk = (k: crypto.KeyObject, extra: object = {}) => ({ ...crypto.createPublicKey(k).export({ format: 'jwk' }), ...extra });
const b64u = (x: string | Buffer) => Buffer.from(x).toString('base64url');

function sign(header: object, payload: object | string, alg: string, key: crypto.KeyObject | string): string {
  const input = `${b64u(JSON.stringify(header))}.${b64u(typeof payload === 'string' ? payload : JSON.stringify(payload))}`;
  const hash = alg === 'EdDSA' ? null : `sha${alg.slice(2)}`;
  let sig: Buffer;
  if (alg.startsWith('HS')) sig = crypto.createHmac(hash!, key as string).update(input).digest();
  else if (alg.startsWith('PS')) sig = crypto.sign(hash, Buffer.from(input), { key: key as crypto.KeyObject, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
  else if (alg.startsWith('ES')) sig = crypto.sign(hash, Buffer.from(input), { key: key as crypto.KeyObject, dsaEncoding: 'ieee-p1363' });
  else sig = crypto.sign(hash, Buffer.from(input), key as crypto.KeyObject);
  return `${input}.${b64u(sig)}`;
}

const q = JSON.stringify;
const claims = { iss: 'issuer', aud: ['api', 'web'], sub: 'me', exp: 4102444800, nbf: 1000000000 };
const rs256 = sign({ alg: 'RS256', typ: 'JWT' }, claims, 'RS256', rsa);
const ps384 = sign({ alg: 'PS384' }, claims, 'PS384', rsa);
const ps256 = sign({ alg: 'PS256' }, claims, 'PS256', rsa);
const es256 = sign({ alg: 'ES256', kid: 'ec-1' }, claims, 'ES256', ec256);
const es384 = sign({ alg: 'ES384' }, claims, 'ES384', ec384);
const eddsa = sign({ alg: 'EdDSA' }, claims, 'EdDSA', ed);
const hs256 = sign({ alg: 'HS256', typ: 'JWT' }, claims, 'HS256', 'secret');
const hs512 = sign({ alg: 'HS512' }, { exp: 1000 }, 'HS512', 'secret');
const jwks = q({ keys: [jwk(ec384, { kid: 'other', alg: 'ES384' }), jwk(ec256, { kid: 'ec-1', alg: 'ES256' }), jwk(rsa, { alg: 'RS256' })] });

t.test('io.jwt.verify_*', async (t) => {
  await agreeWithGo(t, [
    `io.jwt.verify_rs256(${q(rs256)}, ${q(read('root.pem'))})`,
    `io.jwt.verify_rs256(${q(rs256)}, ${q(pub(rsa))})`,
    `io.jwt.verify_rs256(${q(rs256)}, ${q(JSON.stringify(jwk(rsa)))})`,
    `io.jwt.verify_rs256(${q(rs256)}, ${q(jwks)})`,
    `io.jwt.verify_rs512(${q(rs256)}, ${q(pub(rsa))})`,
    `io.jwt.verify_rs256(${q(rs256)}, ${q(pub(ec256))})`,
    `io.jwt.verify_ps384(${q(ps384)}, ${q(pub(rsa))})`,
    `io.jwt.verify_ps256(${q(ps384)}, ${q(pub(rsa))})`,
    `io.jwt.verify_es256(${q(es256)}, ${q(read('leaf.pem'))})`,
    `io.jwt.verify_es256(${q(es256)}, ${q(jwks)})`,
    `io.jwt.verify_es256(${q(es256)}, ${q(pub(ec384))})`,
    `io.jwt.verify_es384(${q(es384)}, ${q(read('inter.pem'))})`,
    `io.jwt.verify_es512(${q(es384)}, ${q(read('inter.pem'))})`,
    `io.jwt.verify_eddsa(${q(eddsa)}, ${q(read('ed.pem'))})`,
    `io.jwt.verify_eddsa(${q(eddsa)}, ${q(JSON.stringify(jwk(ed)))})`,
    `io.jwt.verify_eddsa(${q(rs256)}, ${q(pub(ed))})`,
    `io.jwt.verify_hs256(${q(hs256)}, "secret")`,
    `io.jwt.verify_hs256(${q(hs256)}, "wrong")`,
    `io.jwt.verify_hs512(${q(hs512)}, "secret")`,
    `io.jwt.verify_hs384(${q(hs256)}, "secret")`,
    `io.jwt.verify_hs256("nodots", "secret")`,
    `io.jwt.verify_hs256("a.b", "secret")`,
    `io.jwt.verify_hs256("a.b.c!", "secret")`,
    `io.jwt.verify_rs256("a.b.c", ${q(pub(rsa))})`,
    `io.jwt.verify_rs256(${q(rs256.replace(/\.[^.]*$/, '.x'))}, ${q(pub(rsa))})`,
    `io.jwt.verify_rs256(${q(rs256)}, ${q(read('leaf.key'))})`,
    `io.jwt.verify_rs256(${q(rs256)}, ${q(pub(rsa) + 'extra')})`,
    { expr: `io.jwt.verify_rs256(${q(rs256)}, "not a key")`, anyError: true },
    `io.jwt.verify_rs256(${q(sign({ alg: 'RS256', enc: 'A128GCM' }, claims, 'RS256', rsa))}, ${q(pub(rsa))})`,
    `io.jwt.verify_rs256(${q(sign({ alg: 1 }, claims, 'RS256', rsa))}, ${q(pub(rsa))})`,
  ]);
});

t.test('io.jwt.decode_verify', async (t) => {
  const at = 1700000000000000000;
  await agreeWithGo(t, [
    `io.jwt.decode_verify(${q(rs256)}, {"cert": ${q(read('root.pem'))}, "time": ${at}, "aud": "web"})`,
    `io.jwt.decode_verify(${q(rs256)}, {"cert": ${q(read('root.pem'))}, "time": ${at}})`,
    `io.jwt.decode_verify(${q(rs256)}, {"cert": ${q(pub(rsa))}, "time": ${at}, "aud": "api", "iss": "issuer", "alg": "RS256"})`,
    `io.jwt.decode_verify(${q(rs256)}, {"cert": ${q(pub(rsa))}, "time": ${at}, "aud": "api", "iss": "other"})`,
    `io.jwt.decode_verify(${q(rs256)}, {"cert": ${q(pub(rsa))}, "time": ${at}, "aud": "api", "alg": "RS512"})`,
    `io.jwt.decode_verify(${q(rs256)}, {"cert": ${q(pub(rsa))}, "time": 4102444800000000000, "aud": "api"})`,
    `io.jwt.decode_verify(${q(rs256)}, {"cert": ${q(pub(rsa))}, "time": 999999999000000000, "aud": "api"})`,
    `io.jwt.decode_verify(${q(es256)}, {"cert": ${q(jwks)}, "time": ${at}, "aud": "api"})`,
    `io.jwt.decode_verify(${q(es384)}, {"cert": ${q(jwks)}, "time": ${at}, "aud": "api"})`,
    `io.jwt.decode_verify(${q(eddsa)}, {"cert": ${q(read('ed.pem'))}, "time": ${at}, "aud": "web"})`,
    `io.jwt.decode_verify(${q(ps384)}, {"cert": ${q(pub(rsa))}, "time": ${at}, "aud": "web"})`,
    `io.jwt.decode_verify(${q(ps256)}, {"cert": ${q(pub(rsa))}, "time": ${at}, "aud": "web"})`,
    `io.jwt.decode_verify(${q(hs256)}, {"secret": "secret", "time": ${at}, "aud": "web"})`,
    `io.jwt.decode_verify(${q(hs256)}, {"secret": "wrong", "time": ${at}, "aud": "web"})`,
    `io.jwt.decode_verify(${q(hs512)}, {"secret": "secret"})`,
    `io.jwt.decode_verify(${q(sign({ alg: 'HS256', crit: ['x'], x: 1 }, {}, 'HS256', 's'))}, {"secret": "s"})`,
    `io.jwt.decode_verify(${q(sign({ alg: 'HS256' }, { exp: 'soon' }, 'HS256', 's'))}, {"secret": "s"})`,
    `io.jwt.decode_verify(${q(sign({ alg: 'HS256', cty: 'JWT' }, sign({ alg: 'HS256' }, { inner: true }, 'HS256', 's'), 'HS256', 's'))}, {"secret": "s"})`,
    `io.jwt.decode_verify(${q(hs256)}, {"secret": "secret", "cert": ${q(pub(rsa))}})`,
    `io.jwt.decode_verify(${q(hs256)}, {"time": 1})`,
    `io.jwt.decode_verify(${q(hs256)}, {"secret": "secret", "colour": "red"})`,
    `io.jwt.decode_verify(${q(hs256)}, {"secret": "secret", "time": -1})`,
    `io.jwt.decode_verify(${q(hs256)}, {"secret": 1})`,
    `io.jwt.decode_verify("x.y", {"secret": "s"})`,
  ]);
});

t.test('io.jwt.encode_sign and encode_sign_raw', async (t) => {
  const priv = (k: crypto.KeyObject) => JSON.stringify(k.export({ format: 'jwk' }));
  const oct = q(JSON.stringify({ kty: 'oct', k: b64u('secret') }));
  const payload = '{"iss": "me", "n": 1, "html": "<a&b>", "nested": {"z": 1, "a": [true, null]}}';
  await agreeWithGo(t, [
    // deterministic signatures: the tokens themselves must be identical
    `io.jwt.encode_sign({"alg": "HS256", "typ": "JWT"}, ${payload}, {"kty": "oct", "k": "${b64u('secret')}"})`,
    `io.jwt.encode_sign({"alg": "RS256"}, ${payload}, ${priv(rsa)})`,
    `io.jwt.encode_sign({"alg": "EdDSA", "kid": "k1"}, ${payload}, {"keys": [${priv(ed)}]})`,
    `io.jwt.encode_sign_raw(\`{"alg":"HS512"}\`, "not json but typ says so", ${oct})`,
    `io.jwt.encode_sign_raw(\`{"typ":"text","alg":"HS384"}\`, "plain text", ${oct})`,
    `io.jwt.encode_sign_raw(\`{"alg":"HS256","typ":"JWT"}\`, \`{"a":1}\`, ${oct})`,
    // randomised signatures: both verify what each produced
    `io.jwt.verify_es256(io.jwt.encode_sign({"alg": "ES256"}, {"a": 1}, ${priv(ec256)}), ${q(pub(ec256))})`,
    `io.jwt.verify_ps384(io.jwt.encode_sign({"alg": "PS384"}, {"a": 1}, ${priv(rsa)}), ${q(pub(rsa))})`,
    `io.jwt.decode_verify(io.jwt.encode_sign({"alg": "PS256"}, {"a": 1}, ${priv(rsa)}), {"cert": ${q(pub(rsa))}, "time": 1})`,
    `io.jwt.encode_sign({"alg": "XX256"}, {"a": 1}, ${priv(rsa)})`,
    `io.jwt.encode_sign({"alg": "HS256"}, {"a": 1}, {"keys": []})`,
    { expr: `io.jwt.encode_sign({"alg": "RS256"}, {"a": 1}, ${priv(ec256)})`, anyError: true },
    { expr: `io.jwt.encode_sign({"alg": "HS256"}, {"a": 1}, ${priv(rsa)})`, anyError: true },
    { expr: `io.jwt.encode_sign({"typ": "JWT"}, {"a": 1}, ${priv(rsa)})`, anyError: true },
    { expr: `io.jwt.encode_sign_raw("{}", "{}", "not json")`, anyError: true },
  ]);
});
