// crypto.x509.* and crypto.parse_private_keys, after OPA's topdown/crypto.go: inputs are PEM, base64 PEM or base64
// DER; outputs the JSON of Go's x509.Certificate / CertificateRequest / private keys / tls.Certificate.
import crypto from 'node:crypto';
import { BuiltinError, type BuiltinTable } from './types.js';
import { parseCertificateRequest, parseCertificates, X509Error } from './x509.js';
import { extKeyUsages, verifyChain, type VerifyOptions } from './x509-verify.js';
import { str, typeOf } from './strings.js';

interface PemBlock {
  type: string;
  bytes: Buffer;
}

/** Go's pem.Decode, block after block; text that is not a PEM block is skipped, as Go does. */
function pemBlocks(text: string): PemBlock[] {
  const out: PemBlock[] = [];
  const re = /-----BEGIN ([^\n-]*)-----\r?\n((?:[^\n:]*:[^\n]*\r?\n)*\r?\n?)?([A-Za-z0-9+/=\s]*?)-----END \1-----/g;
  for (const m of text.matchAll(re)) out.push({ type: m[1]!, bytes: Buffer.from(m[3]!.replace(/\s+/g, ''), 'base64') });
  return out;
}

/** Go's base64.StdEncoding.DecodeString (padding required; CR and LF ignored). */
function stdBase64(name: string, s: string): Buffer {
  const clean = s.replace(/[\r\n]/g, '');
  const m = /^[A-Za-z0-9+/]*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.exec(clean);
  if (!m || clean.length % 4 !== 0) {
    const bad = [...clean].findIndex((c) => !/[A-Za-z0-9+/=]/.test(c));
    throw new BuiltinError(name, `illegal base64 data at input byte ${bad >= 0 ? bad : clean.length - (clean.length % 4 || 4)}`);
  }
  return Buffer.from(clean, 'base64');
}

function x509(name: string, f: () => unknown): unknown {
  try {
    return f();
  } catch (e) {
    if (e instanceof X509Error) throw new BuiltinError(name, e.message);
    throw e;
  }
}

/** OPA's getX509CertsFromString. */
function certificates(name: string, input: string): ReturnType<typeof parseCertificates> {
  let pem = input.startsWith('-----BEGIN') ? input : undefined;
  let der: Buffer | undefined;
  if (pem === undefined) {
    der = stdBase64(name, input);
    if (der.subarray(0, 10).toString('latin1') === '-----BEGIN') pem = der.toString('latin1');
  }
  if (pem !== undefined) {
    const blocks = pemBlocks(pem);
    const other = blocks.find((b) => b.type !== 'CERTIFICATE');
    if (other) throw new BuiltinError(name, `PEM block type is '${other.type}', expected CERTIFICATE`);
    der = Buffer.concat(blocks.map((b) => b.bytes));
  }
  return x509(name, () => parseCertificates(der!)) as ReturnType<typeof parseCertificates>;
}

const big = (b64url: string | undefined) => BigInt('0x' + (Buffer.from(b64url ?? '', 'base64url').toString('hex') || '0'));

/** A private key as Go's json.Marshal prints it (*rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey). */
function goPrivateKey(key: crypto.KeyObject): unknown {
  const jwk = key.export({ format: 'jwk' });
  switch (jwk.kty) {
    case 'RSA':
      return {
        N: big(jwk.n),
        E: big(jwk.e),
        D: big(jwk.d),
        Primes: [big(jwk.p), big(jwk.q)],
        Precomputed: { Dp: big(jwk.dp), Dq: big(jwk.dq), Qinv: big(jwk.qi), CRTValues: [] },
      };
    case 'EC':
      return { Curve: {}, X: big(jwk.x), Y: big(jwk.y), D: big(jwk.d) };
    case 'OKP':
      return Buffer.concat([Buffer.from(jwk.d!, 'base64url'), Buffer.from(jwk.x!, 'base64url')]).toString('base64');
    default:
      return {};
  }
}

const keyBlockFormats: Record<string, { type: 'pkcs1' | 'pkcs8' | 'sec1' }> = {
  'RSA PRIVATE KEY': { type: 'pkcs1' },
  'PRIVATE KEY': { type: 'pkcs8' },
  'EC PRIVATE KEY': { type: 'sec1' },
};

/** OPA's getPrivateKeysFromPEMData: every RSA, PKCS#8 and EC private key block (the input may be base64 PEM). */
function privateKeys(name: string, input: string): crypto.KeyObject[] {
  let text = input;
  const decoded = /^[A-Za-z0-9+/\r\n]*={0,2}$/.test(input) && input.replace(/[\r\n]/g, '').length % 4 === 0 ? Buffer.from(input, 'base64') : undefined;
  if (decoded) text = decoded.toString('latin1');
  const keys: crypto.KeyObject[] = [];
  for (const block of pemBlocks(text)) {
    const format = keyBlockFormats[block.type];
    if (!format) continue;
    try {
      keys.push(crypto.createPrivateKey({ key: block.bytes, format: 'der', type: format.type }));
    } catch (e) {
      throw new BuiltinError(name, `x509: failed to parse private key: ${(e as Error).message}`);
    }
  }
  return keys;
}

class Fail extends Error {}

/** Go's tls parsePrivateKey: PKCS#1, then PKCS#8 (RSA, ECDSA, Ed25519), then SEC 1. */
function tlsPrivateKey(der: Buffer): crypto.KeyObject {
  for (const type of ['pkcs1', 'pkcs8', 'sec1'] as const) {
    let key: crypto.KeyObject;
    try {
      key = crypto.createPrivateKey({ key: der, format: 'der', type });
    } catch {
      continue;
    }
    if (!['rsa', 'ec', 'ed25519'].includes(key.asymmetricKeyType ?? '')) throw new Fail('tls: found unknown private key type in PKCS#8 wrapping');
    return key;
  }
  throw new Fail('tls: failed to parse private key');
}

/** Go's tls.X509KeyPair, as the JSON of the tls.Certificate it returns. */
function x509KeyPair(certText: string, keyText: string): Record<string, unknown> {
  const certBlocks = pemBlocks(certText);
  const ders = certBlocks.filter((b) => b.type === 'CERTIFICATE').map((b) => b.bytes);
  if (!ders.length) {
    const skipped = certBlocks.map((b) => b.type);
    if (!skipped.length) throw new Fail('tls: failed to find any PEM data in certificate input');
    if (skipped.length === 1 && skipped[0]!.endsWith('PRIVATE KEY')) {
      throw new Fail('tls: failed to find certificate PEM data in certificate input, but did find a private key; PEM inputs may have been switched');
    }
    throw new Fail(`tls: failed to find "CERTIFICATE" PEM block in certificate input after skipping PEM blocks of the following types: [${skipped.join(' ')}]`);
  }
  const keyBlocks = pemBlocks(keyText);
  const keyBlock = keyBlocks.find((b) => b.type === 'PRIVATE KEY' || b.type.endsWith(' PRIVATE KEY'));
  if (!keyBlock) {
    const skipped = keyBlocks.map((b) => b.type);
    if (!skipped.length) throw new Fail('tls: failed to find any PEM data in key input');
    if (skipped.length === 1 && skipped[0] === 'CERTIFICATE') throw new Fail('tls: found a certificate rather than a key in the PEM for the private key');
    throw new Fail(`tls: failed to find PEM block with type ending in "PRIVATE KEY" in key input after skipping PEM blocks of the following types: [${skipped.join(' ')}]`);
  }
  const [leaf] = parseCertificates(ders[0]!);
  const key = tlsPrivateKey(keyBlock.bytes);
  const certKey = new crypto.X509Certificate(ders[0]!).publicKey;
  const type = certKey.asymmetricKeyType;
  if (!['rsa', 'ec', 'ed25519'].includes(type ?? '')) throw new Fail('tls: unknown public key algorithm');
  if (key.asymmetricKeyType !== type) throw new Fail('tls: private key type does not match public key type');
  const spki = (k: crypto.KeyObject) => (k.type === 'public' ? k : crypto.createPublicKey(k)).export({ type: 'spki', format: 'der' });
  if (!spki(key).equals(spki(certKey))) throw new Fail('tls: private key does not match public key');
  const { URIStrings: _uriStrings, ...leafJson } = leaf!;
  return {
    Certificate: ders.map((d) => d.toString('base64')),
    PrivateKey: goPrivateKey(key),
    SupportedSignatureAlgorithms: null,
    OCSPStaple: null,
    SignedCertificateTimestamps: null,
    Leaf: leafJson,
  };
}

/** OPA's getTLSx509KeyPairFromString: base64 input is decoded; DER gets a PEM wrapping. */
function keyPairInput(name: string, s: string, derType: string): string {
  let text = s;
  if (!text.startsWith('-----BEGIN')) text = stdBase64(name, text).toString('latin1');
  if (!text.startsWith('-----BEGIN')) {
    const b64 = Buffer.from(text, 'latin1').toString('base64').replace(/.{1,64}/g, '$&\n');
    text = `-----BEGIN ${derType}-----\n${b64}-----END ${derType}-----\n`;
  }
  return text;
}

const VERIFY = 'crypto.x509.parse_and_verify_certificates';
const VERIFY_WITH = 'crypto.x509.parse_and_verify_certificates_with_options';
const invalidChain = [false, []];

/** The certificates of a chain, or undefined where OPA answers [false, []] (unreadable input). */
function chainCertificates(name: string, input: string): Array<Record<string, unknown>> | undefined {
  try {
    return certificates(name, input) as Array<Record<string, unknown>>;
  } catch (e) {
    if (e instanceof BuiltinError) return undefined;
    throw e;
  }
}

/** OPA's extractVerifyOpts. */
function verifyOptions(options: Record<string, unknown>): VerifyOptions {
  const out: VerifyOptions = {};
  const fail = (message: string) => new BuiltinError(VERIFY_WITH, message);
  for (const [key, v] of Object.entries(options)) {
    if (key === 'DNSName') {
      if (typeof v !== 'string') throw fail("'DNSName' should be a string");
      out.dnsName = v.replace(/^"+|"+$/g, '');
    } else if (key === 'CurrentTime') {
      if (typeof v !== 'number' && typeof v !== 'bigint') throw fail("'CurrentTime' should be a number");
      if (!Number.isInteger(Number(v))) throw fail("'CurrentTime' should be a valid int64 number");
      out.currentTimeNs = BigInt(v);
    } else if (key === 'MaxConstraintComparisons') {
      if (typeof v !== 'number' && typeof v !== 'bigint') throw fail("'MaxConstraintComparisons' should be a number");
      if (!Number.isInteger(Number(v))) throw fail("'MaxConstraintComparisons' should be a valid number");
    } else if (key === 'KeyUsages') {
      if (!Array.isArray(v)) throw fail("'KeyUsages' should be an Array or Set");
      const names = v.filter((u): u is string => typeof u === 'string').map((u) => u.replace(/^"+|"+$/g, ''));
      const invalid = names.filter((u) => !(u in extKeyUsages));
      if (invalid.length) throw fail(`invalid entries for 'KeyUsages' found: [${invalid.join(' ')}]`);
      out.keyUsages = names.map((u) => extKeyUsages[u]!);
    } else throw fail('invalid key option');
  }
  return out;
}

export const cryptoX509Builtins: BuiltinTable = {
  [VERIFY]: (s) => {
    const certs = chainCertificates(VERIFY, str(VERIFY, 1, s));
    const chain = certs && verifyChain(VERIFY, certs, {});
    return chain ? [true, chain] : invalidChain;
  },
  [VERIFY_WITH]: (s, options) => {
    const input = str(VERIFY_WITH, 1, s);
    if (options === null || typeof options !== 'object' || Array.isArray(options)) throw new BuiltinError(VERIFY_WITH, `operand 2 must be object but got ${typeOf(options)}`);
    const certs = chainCertificates(VERIFY_WITH, input);
    if (!certs) return invalidChain;
    const chain = verifyChain(VERIFY_WITH, certs, verifyOptions(options as Record<string, unknown>));
    // this variant returns Go's certificates as they are, without OPA's URIStrings
    return chain ? [true, chain.map(({ URIStrings: _uris, ...c }) => c)] : invalidChain;
  },
  'crypto.x509.parse_keypair': (cert, key) => {
    const name = 'crypto.x509.parse_keypair';
    const certText = keyPairInput(name, str(name, 1, cert), 'CERTIFICATE');
    const keyText = keyPairInput(name, str(name, 1, key), 'PRIVATE KEY');
    try {
      return x509(name, () => x509KeyPair(certText, keyText));
    } catch (e) {
      if (e instanceof Fail) throw new BuiltinError(name, e.message);
      throw e;
    }
  },
  'crypto.x509.parse_certificates': (s) => certificates('crypto.x509.parse_certificates', str('crypto.x509.parse_certificates', 1, s)),
  'crypto.x509.parse_certificate_request': (s) => {
    const name = 'crypto.x509.parse_certificate_request';
    const input = str(name, 1, s);
    let der = input.startsWith('-----BEGIN CERTIFICATE REQUEST-----') ? Buffer.from(input, 'latin1') : stdBase64(name, input);
    const [block] = pemBlocks(der.toString('latin1'));
    if (block && block.type !== 'CERTIFICATE REQUEST') throw new BuiltinError(name, 'invalid PEM-encoded certificate signing request');
    if (block) der = block.bytes;
    return x509(name, () => parseCertificateRequest(der));
  },
  'crypto.parse_private_keys': (s) => {
    const input = str('crypto.parse_private_keys', 1, s);
    if (input === '') return null;
    return privateKeys('crypto.parse_private_keys', input).map(goPrivateKey);
  },
  'crypto.x509.parse_rsa_private_key': (s) => {
    const name = 'crypto.x509.parse_rsa_private_key';
    let input = str(name, 1, s);
    if (input === '') throw new BuiltinError(name, 'input PEM data was empty');
    if (!input.startsWith('-----BEGIN')) input = stdBase64(name, input).toString('latin1');
    const [key] = privateKeys(name, input);
    return key ? key.export({ format: 'jwk' }) : null;
  },
};
