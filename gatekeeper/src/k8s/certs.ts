// Webhook serving certificates, as Gatekeeper's cert controller (open-policy-agent/cert-controller) manages them:
// a self-signed CA and a serving certificate kept in a Secret (ca.crt, ca.key, tls.crt, tls.key), regenerated when
// missing, invalid, not for our DNS name or within the look-ahead window of expiry, and the CA injected into the
// caBundle of every webhook of the named ValidatingWebhookConfigurations (re-injected when someone overwrites it).
import { X509Certificate, createPrivateKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import forge from 'node-forge';
import type { Logger } from 'pino';
import { isConflict, isNotFound, type KubeClient, type KubeObject } from './client.js';
import { Informer } from './informer.js';

export interface CertBundle {
  caPem: string;
  caKeyPem: string;
  certPem: string;
  keyPem: string;
}

export interface CertRotatorOptions {
  namespace: string;
  secretName: string;
  /** Names (DNS names or IP addresses) the serving certificate must be valid for; the first is its common name. */
  hosts: string[];
  /** ValidatingWebhookConfigurations whose caBundle this controller keeps current. */
  validatingWebhooks: string[];
  /** Validity of a new CA (default 10 years, as Gatekeeper). */
  caValidityMs?: number;
  /** Validity of a new serving certificate (default 10 years, as Gatekeeper). */
  certValidityMs?: number;
  /** Regenerate when a certificate expires within this window (default 90 days, as Gatekeeper). */
  lookaheadMs?: number;
  /** How often the Secret is re-checked besides watch events (default 12 h). */
  checkIntervalMs?: number;
  /** Called with every new or changed bundle: the webhook server swaps its TLS context. */
  onCertificate(bundle: CertBundle): void;
  logger?: Logger;
}

const DAY = 86_400_000;
const YEAR = 365 * DAY;

export class CertRotator {
  private current: CertBundle | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly informers: Informer[] = [];
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly client: KubeClient,
    private readonly opts: CertRotatorOptions,
  ) {
    if (!opts.hosts.length) throw new Error('cert rotator: at least one host name is required');
  }

  get bundle(): CertBundle | undefined {
    return this.current;
  }

  /** Ensures a valid certificate exists (creating it if needed), injects the CA, and keeps both current. */
  async start(): Promise<CertBundle> {
    await this.serialized(() => this.reconcile());
    const secretPath = `/api/v1/namespaces/${this.opts.namespace}/secrets`;
    this.informers.push(
      new Informer(this.client, { path: secretPath, fieldSelector: `metadata.name=${this.opts.secretName}`, logger: this.opts.logger }, {
        update: () => this.serialized(() => this.reconcile()),
        delete: () => this.serialized(() => this.reconcile()),
      }).start(),
    );
    for (const name of this.opts.validatingWebhooks) {
      this.informers.push(
        new Informer(
          this.client,
          { path: '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations', fieldSelector: `metadata.name=${name}`, logger: this.opts.logger },
          {
            add: (o) => this.serialized(() => this.inject(o)),
            update: (o) => this.serialized(() => this.inject(o)),
          },
        ).start(),
      );
    }
    this.timer = setInterval(() => void this.serialized(() => this.reconcile()), this.opts.checkIntervalMs ?? 12 * 3_600_000);
    this.timer.unref();
    return this.current!;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all(this.informers.map((i) => i.stop()));
    await this.chain;
  }

  private serialized(fn: () => Promise<void>): Promise<void> {
    this.chain = this.chain.then(fn).catch((e) => this.opts.logger?.error({ err: (e as Error).message }, 'certificate reconcile failed'));
    return this.chain;
  }

  private async reconcile(): Promise<void> {
    const { namespace, secretName } = this.opts;
    const path = `/api/v1/namespaces/${namespace}/secrets/${secretName}`;
    for (let attempt = 0; attempt < 5; attempt++) {
      const secret = await this.client.tryGet<KubeObject & { data?: Record<string, string> }>(path);
      const existing = secret?.data ? fromSecretData(secret.data) : undefined;
      const problem = existing ? this.whyInvalid(existing) : 'no certificate yet';
      let bundle = existing;
      if (problem) {
        const keepCa = existing && !this.caProblem(existing) ? existing : undefined;
        bundle = generateBundle(this.opts.hosts, {
          ...(keepCa ? { ca: { certPem: keepCa.caPem, keyPem: keepCa.caKeyPem } } : {}),
          caValidityMs: this.opts.caValidityMs ?? 10 * YEAR,
          certValidityMs: this.opts.certValidityMs ?? 10 * YEAR,
        });
        const body = {
          apiVersion: 'v1',
          kind: 'Secret',
          type: 'kubernetes.io/tls',
          metadata: { name: secretName, namespace, ...(secret ? { resourceVersion: secret.metadata.resourceVersion } : {}) },
          data: toSecretData(bundle),
        };
        try {
          if (secret) await this.client.replace(path, { ...secret, ...body, metadata: { ...secret.metadata, ...body.metadata } });
          else await this.client.create(`/api/v1/namespaces/${namespace}/secrets`, body);
          this.opts.logger?.info({ secret: `${namespace}/${secretName}`, reason: problem }, 'generated webhook certificate');
        } catch (e) {
          if (isConflict(e)) continue; // another replica wrote it first: take theirs
          throw e;
        }
      }
      if (bundle && bundle.certPem !== this.current?.certPem) {
        this.current = bundle;
        this.opts.onCertificate(bundle);
      }
      for (const name of this.opts.validatingWebhooks) {
        const vwc = await this.client.tryGet(`/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/${name}`);
        if (vwc) await this.inject(vwc);
      }
      return;
    }
    throw new Error(`could not write secret ${namespace}/${secretName}: kept conflicting`);
  }

  private caProblem(b: CertBundle): string | undefined {
    try {
      const ca = new X509Certificate(b.caPem);
      if (Date.parse(ca.validTo) - (this.opts.lookaheadMs ?? 90 * DAY) < Date.now()) return 'CA expires soon';
      if (!ca.checkPrivateKey(createPrivateKey(b.caKeyPem))) return 'CA key does not match';
    } catch (e) {
      return `CA unreadable: ${(e as Error).message}`;
    }
    return undefined;
  }

  private whyInvalid(b: CertBundle): string | undefined {
    const caProblem = this.caProblem(b);
    if (caProblem) return caProblem;
    try {
      const ca = new X509Certificate(b.caPem);
      const cert = new X509Certificate(b.certPem);
      if (!cert.verify(ca.publicKey)) return 'certificate not signed by the CA';
      if (Date.parse(cert.validTo) - (this.opts.lookaheadMs ?? 90 * DAY) < Date.now()) return 'certificate expires soon';
      if (!cert.checkPrivateKey(createPrivateKey(b.keyPem))) return 'certificate key does not match';
      for (const host of this.opts.hosts) {
        const ok = isIP(host) ? cert.checkIP(host) : cert.checkHost(host);
        if (!ok) return `certificate not valid for ${host}`;
      }
    } catch (e) {
      return `certificate unreadable: ${(e as Error).message}`;
    }
    return undefined;
  }

  private async inject(vwc: KubeObject & { webhooks?: Array<{ clientConfig?: { caBundle?: string } }> }): Promise<void> {
    if (!this.current) return;
    const ca = Buffer.from(this.current.caPem).toString('base64');
    const ops: unknown[] = [];
    (vwc.webhooks ?? []).forEach((w, i) => {
      if (w.clientConfig?.caBundle !== ca) ops.push({ op: 'add', path: `/webhooks/${i}/clientConfig/caBundle`, value: ca });
    });
    if (!ops.length) return;
    ops.unshift({ op: 'test', path: '/metadata/resourceVersion', value: vwc.metadata.resourceVersion });
    const path = `/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/${vwc.metadata.name}`;
    try {
      await this.client.jsonPatch(path, ops);
      this.opts.logger?.info({ webhookConfiguration: vwc.metadata.name }, 'injected CA bundle');
    } catch (e) {
      if (isNotFound(e)) return;
      // A concurrent change fails the test op (422) or conflicts: read again and retry once.
      const fresh = await this.client.tryGet(path);
      if (fresh && fresh.metadata.resourceVersion !== vwc.metadata.resourceVersion) return this.inject(fresh);
      throw e;
    }
  }
}

function fromSecretData(d: Record<string, string>): CertBundle | undefined {
  const dec = (k: string) => (d[k] ? Buffer.from(d[k], 'base64').toString('utf8') : '');
  const b = { caPem: dec('ca.crt'), caKeyPem: dec('ca.key'), certPem: dec('tls.crt'), keyPem: dec('tls.key') };
  return b.caPem && b.caKeyPem && b.certPem && b.keyPem ? b : undefined;
}

function toSecretData(b: CertBundle): Record<string, string> {
  const enc = (s: string) => Buffer.from(s).toString('base64');
  return { 'ca.crt': enc(b.caPem), 'ca.key': enc(b.caKeyPem), 'tls.crt': enc(b.certPem), 'tls.key': enc(b.keyPem) };
}

function newKeyPair(): { privatePem: string; publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    privatePem: privateKey.export({ type: 'pkcs1', format: 'pem' }) as string,
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }) as string,
  };
}

function serial(): string {
  const b = randomBytes(16);
  b[0] = b[0]! & 0x7f; // positive
  return b.toString('hex');
}

/** A CA (new, or the one given) and a serving certificate for the hosts, signed by it. RSA 2048, SHA-256. */
export function generateBundle(
  hosts: string[],
  opts: { ca?: { certPem: string; keyPem: string }; caValidityMs: number; certValidityMs: number },
): CertBundle {
  const { pki } = forge;
  const now = Date.now();
  const notBefore = new Date(now - 60 * 60_000); // tolerate clock skew between replicas and the API server

  let caCert: forge.pki.Certificate;
  let caKeyPem: string;
  if (opts.ca) {
    caCert = pki.certificateFromPem(opts.ca.certPem);
    caKeyPem = opts.ca.keyPem;
  } else {
    const kp = newKeyPair();
    caKeyPem = kp.privatePem;
    caCert = pki.createCertificate();
    caCert.publicKey = pki.publicKeyFromPem(kp.publicPem);
    caCert.serialNumber = serial();
    caCert.validity.notBefore = notBefore;
    caCert.validity.notAfter = new Date(now + opts.caValidityMs);
    const subject = [{ name: 'commonName', value: 'gatekeeper-ca' }, { name: 'organizationName', value: 'gatekeeper' }];
    caCert.setSubject(subject);
    caCert.setIssuer(subject);
    caCert.setExtensions([
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
      { name: 'subjectKeyIdentifier' },
    ]);
    caCert.sign(pki.privateKeyFromPem(caKeyPem), forge.md.sha256.create());
  }

  const kp = newKeyPair();
  const cert = pki.createCertificate();
  cert.publicKey = pki.publicKeyFromPem(kp.publicPem);
  cert.serialNumber = serial();
  cert.validity.notBefore = notBefore;
  cert.validity.notAfter = new Date(Math.min(now + opts.certValidityMs, caCert.validity.notAfter.getTime()));
  cert.setSubject([{ name: 'commonName', value: hosts[0]! }]);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: hosts.map((h) => (isIP(h) ? { type: 7, ip: h } : { type: 2, value: h })) },
  ]);
  cert.sign(pki.privateKeyFromPem(caKeyPem), forge.md.sha256.create());
  return { caPem: pki.certificateToPem(caCert), caKeyPem, certPem: pki.certificateToPem(cert), keyPem: kp.privatePem };
}
