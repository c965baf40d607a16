// Helpers for tests that run the real `gatekeeper webhook` CLI over HTTPS.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Agent, request } from 'undici';
import { repoRoot } from '../../test/helpers/peers.js';

export const examplesDir = path.join(repoRoot, 'examples');

/** A self-signed certificate for 127.0.0.1 / localhost in a fresh folder (tls.crt, tls.key), made with openssl. */
export function selfSignedCertDir(): { dir: string; cert: Buffer } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gk-cert-'));
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
    '-keyout', path.join(dir, 'tls.key'), '-out', path.join(dir, 'tls.crt'),
  ], { stdio: 'ignore' });
  return { dir, cert: readFileSync(path.join(dir, 'tls.crt')) };
}

export function readExample(name: string): any {
  return JSON.parse(readFileSync(path.join(examplesDir, name), 'utf8'));
}

/** A Pod AdmissionReview built from parts. */
export function podReview(opts: { uid?: string; namespace?: string; name?: string; containers: any[]; labels?: Record<string, string>; dryRun?: boolean }): any {
  const name = opts.name ?? 'p';
  const namespace = opts.namespace ?? 'payments';
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: opts.uid ?? `uid-${Math.random().toString(16).slice(2)}`,
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      name,
      namespace,
      operation: 'CREATE',
      userInfo: { username: 'tester', uid: 'u-1', groups: ['testers'] },
      object: { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace, labels: opts.labels ?? { app: 'x' } }, spec: { containers: opts.containers } },
      dryRun: opts.dryRun ?? false,
    },
  };
}

export function namespaceReview(name: string, labels: Record<string, string>, operation = 'CREATE'): any {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: `ns-${name}`,
      kind: { group: '', version: 'v1', kind: 'Namespace' },
      resource: { group: '', version: 'v1', resource: 'namespaces' },
      name,
      operation,
      userInfo: { username: 'tester' },
      object: { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } },
    },
  };
}

export class HttpsClient {
  readonly agent: Agent;
  constructor(
    readonly base: string,
    ca: Buffer,
  ) {
    this.agent = new Agent({ connect: { ca, servername: 'localhost' } });
  }

  async post(p: string, body: string | object, headers: Record<string, string> = {}): Promise<{ status: number; json: any; text: string }> {
    const res = await request(this.base + p, {
      method: 'POST',
      dispatcher: this.agent,
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.body.text();
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.statusCode, json, text };
  }

  async get(p: string): Promise<{ status: number; text: string }> {
    const res = await request(this.base + p, { dispatcher: this.agent });
    return { status: res.statusCode, text: await res.body.text() };
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}
