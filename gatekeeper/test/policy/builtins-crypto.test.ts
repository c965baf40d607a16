// crypto.x509.* and crypto.parse_private_keys against OPA's Go evaluator: the JSON of Go's x509.Certificate, CSRs and
// keys, field by field, for RSA / EC / Ed25519 / RSA-PSS material with every extension the parser reads.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { agreeWithGo } from './go-agreement.js';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures/x509');
const pem = (file: string) => JSON.stringify(fs.readFileSync(path.join(dir, file), 'utf8'));
const b64 = (text: string) => JSON.stringify(Buffer.from(text).toString('base64'));
const read = (file: string) => fs.readFileSync(path.join(dir, file), 'utf8');
const der = (file: string) => {
  const text = fs.readFileSync(path.join(dir, file), 'utf8');
  return JSON.stringify(text.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''));
};

t.test('crypto.x509.parse_certificates', async (t) => {
  await agreeWithGo(t, [
    `crypto.x509.parse_certificates(${pem('root.pem')})`,
    `crypto.x509.parse_certificates(${pem('inter.pem')})`,
    `crypto.x509.parse_certificates(${pem('leaf.pem')})`,
    `crypto.x509.parse_certificates(${pem('ed.pem')})`,
    `crypto.x509.parse_certificates(${pem('pss.pem')})`,
    `crypto.x509.parse_certificates(${pem('uris.pem')})`,
    `count(crypto.x509.parse_certificates(${JSON.stringify(['root.pem', 'inter.pem', 'leaf.pem'].map((f) => fs.readFileSync(path.join(dir, f), 'utf8')).join(''))}))`,
    `crypto.x509.parse_certificates(${der('leaf.pem')})[0].Subject`,
    `crypto.x509.parse_certificates(${b64(fs.readFileSync(path.join(dir, 'inter.pem'), 'utf8'))})[0].NotAfter`,
    // JSON numbers of 600 digits are Infinity to JSON.parse: compare their residues, computed exactly by both sides
    `crypto.x509.parse_certificates(${pem('root.pem')})[0].PublicKey.N % 1000000007`,
    `crypto.x509.parse_certificates(${pem('inter.pem')})[0].SerialNumber % 1000000007`,
    `crypto.x509.parse_certificates(${pem('leaf.key')})`,
    `crypto.x509.parse_certificates("not base64!")`,
    `crypto.x509.parse_certificates("aGVsbG8=")`,
    `crypto.x509.parse_certificates("MAMCAQE=")`,
    `crypto.x509.parse_certificates("bm90IGEgY2VydGlmaWNhdGU=")`,
    `crypto.x509.parse_certificates("")`,
  ]);
});

t.test('crypto.x509.parse_certificate_request', async (t) => {
  await agreeWithGo(t, [
    `crypto.x509.parse_certificate_request(${pem('leaf.csr')})`,
    `crypto.x509.parse_certificate_request(${der('leaf.csr')}).Subject`,
    `crypto.x509.parse_certificate_request(${b64(fs.readFileSync(path.join(dir, 'root.pem'), 'utf8'))})`,
    { expr: `crypto.x509.parse_certificate_request("aGVsbG8=")`, anyError: true },
  ]);
});

t.test('crypto.x509.parse_keypair', async (t) => {
  const rootDer = JSON.stringify(Buffer.from(read('root.pem').replace(/-----[^-]+-----/g, ''), 'base64').toString('base64'));
  await agreeWithGo(t, [
    `crypto.x509.parse_keypair(${pem('leaf.pem')}, ${pem('leaf.key')})`,
    `crypto.x509.parse_keypair(${pem('leaf.pem')}, ${pem('leaf-sec1.key')}).PrivateKey`,
    `crypto.x509.parse_keypair(${pem('root.pem')}, ${pem('root.key')}).PrivateKey.E`,
    `crypto.x509.parse_keypair(${rootDer}, ${b64(read('root.key'))}).Leaf.Subject`,
    `crypto.x509.parse_keypair(${pem('ed.pem')}, ${pem('ed.key')})`,
    `crypto.x509.parse_keypair(${JSON.stringify(read('leaf.pem') + read('inter.pem'))}, ${pem('leaf.key')}).Certificate`,
    `crypto.x509.parse_keypair(${pem('leaf.pem')}, ${pem('root.key')})`,
    `crypto.x509.parse_keypair(${pem('leaf.pem')}, ${pem('inter.key')})`,
    `crypto.x509.parse_keypair(${pem('leaf.key')}, ${pem('leaf.key')})`,
    `crypto.x509.parse_keypair(${pem('leaf.pem')}, ${pem('leaf.pem')})`,
    `crypto.x509.parse_keypair(${pem('leaf.csr')}, ${pem('leaf.key')})`,
    `crypto.x509.parse_keypair("-----BEGIN nothing", ${pem('leaf.key')})`,
    `crypto.x509.parse_keypair(${pem('leaf.pem')}, "%%%")`,
  ]);
});

t.test('private keys', async (t) => {
  await agreeWithGo(t, [
    `crypto.parse_private_keys(${pem('rsa-pkcs1.key')})`,
    `crypto.parse_private_keys(${pem('leaf-sec1.key')})`,
    `[[k.D % 1000000007, k.Primes[0] % 1000000007, k.Precomputed.Qinv % 1000000007] | k := crypto.parse_private_keys(${pem('root.key')})[0]]`,
    `crypto.parse_private_keys(${pem('ed.key')})`,
    `crypto.parse_private_keys(${JSON.stringify(['root.key', 'leaf.key', 'inter.key'].map((f) => fs.readFileSync(path.join(dir, f), 'utf8')).join('\n'))})`,
    `crypto.parse_private_keys(${b64(fs.readFileSync(path.join(dir, 'leaf.key'), 'utf8'))})`,
    `crypto.parse_private_keys(${pem('leaf.pem')})`,
    `crypto.parse_private_keys("")`,
    `crypto.parse_private_keys("junk")`,
    `crypto.x509.parse_rsa_private_key(${pem('rsa-pkcs1.key')})`,
    `crypto.x509.parse_rsa_private_key(${pem('root.key')})`,
    `crypto.x509.parse_rsa_private_key(${pem('leaf-sec1.key')})`,
    `crypto.x509.parse_rsa_private_key(${pem('ed.key')})`,
    `crypto.x509.parse_rsa_private_key(${b64(fs.readFileSync(path.join(dir, 'rsa-pkcs1.key'), 'utf8'))})`,
    `crypto.x509.parse_rsa_private_key(${pem('leaf.pem')})`,
    `crypto.x509.parse_rsa_private_key("")`,
  ]);
});
