// crypto.x509.parse_and_verify_certificates(_with_options) through the wasm path give what OPA's Go evaluator gives:
// valid chains and the ways Go refuses one (order, missing intermediate, a parent that is no CA, SHA-1, expiry, host
// name, key usage), plus a chain whose policy constraints we do not check (an error where Go has a verdict).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { agreeWithGo } from './go-agreement.js';
import { evalBoth } from './opa-reference.js';
import { tempDir } from './helpers.js';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');
const read = (f: string) => fs.readFileSync(path.join(dir, f), 'utf8');
const chain = (...files: string[]) => JSON.stringify(files.map((f) => read(`x509-chain/${f}.pem`)).join(''));
const b64 = (...files: string[]) => JSON.stringify(Buffer.from(files.map((f) => read(`x509-chain/${f}.pem`)).join('')).toString('base64'));
// what a policy reads of a verified chain: the verdict and each certificate's names, leaf first
const summary = (call: string) => `[${call}[0], [[c.Subject.CommonName, c.DNSNames, c.IsCA] | some c in ${call}[1]]]`;
const verify = (certs: string) => summary(`crypto.x509.parse_and_verify_certificates(${certs})`);
const withOptions = (certs: string, options: object) => summary(`crypto.x509.parse_and_verify_certificates_with_options(${certs}, ${JSON.stringify(options)})`);
const year2200 = 7258118400n * 1_000_000_000n;

t.test('chains verify or fail as Go decides', async (t) => {
  await agreeWithGo(t, [
    verify(chain('root', 'inter', 'server')),
    verify(b64('root', 'inter', 'server')),
    verify(chain('root', 'server')),
    verify(chain('server', 'inter', 'root')),
    verify(chain('root', 'inter')),
    verify(chain('root')),
    verify(chain('root', 'notca', 'under-notca')),
    verify(chain('root', 'inter', 'sha1')),
    verify(chain('root', 'inter', 'client')),
    verify('"not a certificate"'),
    verify('""'),
  ]);
});

t.test('verification options: host name, time, key usages', async (t) => {
  await agreeWithGo(t, [
    withOptions(chain('root', 'inter', 'server'), { DNSName: 'app.example.test' }),
    withOptions(chain('root', 'inter', 'server'), { DNSName: 'other.example.test' }),
    withOptions(chain('root', 'inter', 'server'), { DNSName: '10.0.0.7' }),
    withOptions(chain('root', 'inter', 'client'), { KeyUsages: ['KeyUsageClientAuth'] }),
    withOptions(chain('root', 'inter', 'client'), { KeyUsages: ['KeyUsageServerAuth', 'KeyUsageCodeSigning'] }),
    withOptions(chain('root', 'inter', 'server'), { KeyUsages: ['KeyUsageAny'] }),
    withOptions(chain('root', 'inter', 'server'), { CurrentTime: 1_000_000_000_000_000_000 }),
    withOptions(chain('root', 'inter', 'server'), { MaxConstraintComparisons: 10 }),
    `crypto.x509.parse_and_verify_certificates_with_options(${chain('root', 'inter', 'server')}, {"CurrentTime": ${year2200}})[0]`,
    `crypto.x509.parse_and_verify_certificates_with_options(${chain('root', 'inter', 'server')}, {"KeyUsages": ["NoSuchUsage"]})`,
    `crypto.x509.parse_and_verify_certificates_with_options(${chain('root', 'inter', 'server')}, {"Unknown": 1})`,
    `crypto.x509.parse_and_verify_certificates_with_options(${chain('root', 'inter', 'server')}, {"DNSName": 1})`,
  ]);
});

t.test('a chain Go rejects for an unknown critical extension, and one whose policy constraints we do not check', async (t) => {
  const certs = JSON.stringify(['root.pem', 'inter.pem', 'leaf.pem'].map((f) => read(`x509/${f}`)).join(''));
  await agreeWithGo(t, [`crypto.x509.parse_and_verify_certificates(${certs})`]);
  const constrained = JSON.stringify(read('x509/root.pem') + read('x509/inter.pem'));
  const [r] = await evalBoth(tempDir(t, 'gk-verify-'), [`crypto.x509.parse_and_verify_certificates_with_options(${constrained}, {"KeyUsages": ["KeyUsageAny"]})[0]`]);
  // an error (undefined in a template, as Gatekeeper runs OPA), never a verdict that could differ from Go's
  t.same(r!.wasm, { error: 'crypto.x509.parse_and_verify_certificates_with_options: verifying a chain with certificate policy constraints is not supported' });
  t.equal(typeof r!.go.value, 'boolean', 'Go has a verdict');
});
