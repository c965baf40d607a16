// Credentials of the real one-node cluster, made with the openssl CLI into the cluster's private folder: a CA, the
// API server's serving certificate (valid for the node address, the kubernetes Service and 127.0.0.1, the relayed
// address the host uses), the API server's client certificate toward the kubelet, the service-account key pair, and one
// bearer token per component (--token-auth-file) so each runs as the identity Kubernetes' bootstrap RBAC expects.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface ClusterPki {
  dir: string;
  caCert: string;
  caKey: string;
  caPem: string;
  apiserverCert: string;
  apiserverKey: string;
  kubeletClientCert: string;
  kubeletClientKey: string;
  serviceAccountKey: string;
  serviceAccountPub: string;
  tokenFile: string;
  /** Bearer token per identity: admin (system:masters), controller-manager, scheduler, node, proxy. */
  tokens: Record<'admin' | 'controllerManager' | 'scheduler' | 'node' | 'proxy', string>;
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export function makeClusterPki(dir: string, opts: { nodeName: string; nodeIp: string; apiServiceIp: string }): ClusterPki {
  const f = (name: string) => path.join(dir, name);
  openssl(['req', '-x509', ...EC_KEY, '-keyout', f('ca.key'), '-out', f('ca.crt'), '-days', '3', '-subj', '/CN=gk-cluster-ca']);
  const leaf = (name: string, subject: string, ext: string[]) =>
    openssl([
      'req', '-x509', ...EC_KEY, '-CA', f('ca.crt'), '-CAkey', f('ca.key'),
      '-keyout', f(`${name}.key`), '-out', f(`${name}.crt`), '-days', '3', '-subj', subject,
      ...ext.flatMap((e) => ['-addext', e]),
    ]);
  const names = ['kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local', 'localhost'];
  const ips = [opts.nodeIp, opts.apiServiceIp, '127.0.0.1'];
  leaf('apiserver', '/CN=kube-apiserver', [
    `subjectAltName=${[...names.map((n) => `DNS:${n}`), ...ips.map((i) => `IP:${i}`)].join(',')}`,
    'extendedKeyUsage=serverAuth',
    'basicConstraints=critical,CA:FALSE',
  ]);
  leaf('apiserver-kubelet-client', '/O=system:masters/CN=kube-apiserver-kubelet-client', [
    'extendedKeyUsage=clientAuth',
    'basicConstraints=critical,CA:FALSE',
  ]);
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', f('sa.key')]);
  openssl(['pkey', '-in', f('sa.key'), '-pubout', '-out', f('sa.pub')]);

  const token = () => randomBytes(24).toString('hex');
  const tokens = { admin: token(), controllerManager: token(), scheduler: token(), node: token(), proxy: token() };
  writeFileSync(
    f('tokens.csv'),
    [
      `${tokens.admin},admin,admin,system:masters`,
      `${tokens.controllerManager},system:kube-controller-manager,kube-controller-manager`,
      `${tokens.scheduler},system:kube-scheduler,kube-scheduler`,
      `${tokens.node},system:node:${opts.nodeName},node,system:nodes`,
      `${tokens.proxy},system:kube-proxy,kube-proxy`,
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  return {
    dir,
    caCert: f('ca.crt'),
    caKey: f('ca.key'),
    caPem: readFileSync(f('ca.crt'), 'utf8'),
    apiserverCert: f('apiserver.crt'),
    apiserverKey: f('apiserver.key'),
    kubeletClientCert: f('apiserver-kubelet-client.crt'),
    kubeletClientKey: f('apiserver-kubelet-client.key'),
    serviceAccountKey: f('sa.key'),
    serviceAccountPub: f('sa.pub'),
    tokenFile: f('tokens.csv'),
    tokens,
  };
}

/** A kubeconfig for one identity (bearer token) against `server`, trusting the cluster's CA. */
export function kubeconfigText(server: string, caPem: string, user: string, token: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: gk-cluster',
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority-data: ${Buffer.from(caPem).toString('base64')}`,
    'users:',
    `- name: ${user}`,
    '  user:',
    `    token: ${token}`,
    'contexts:',
    '- name: gk-cluster',
    `  context: {cluster: gk-cluster, user: ${user}}`,
    'current-context: gk-cluster',
    '',
  ].join('\n');
}
