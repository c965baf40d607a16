// Serving certificate: from --tls-cert-file/--tls-private-key-file or --cert-dir (tls.crt, tls.key), checked at start and
// re-read when the files change (cert-manager / Secret rotation).
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';

export interface TlsFiles {
  certFile: string;
  keyFile: string;
}
export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  /** Subject and expiry, for the start-up log. */
  subject: string;
  validTo: string;
}

export function resolveTlsFiles(opts: { tlsCertFile?: string; tlsPrivateKeyFile?: string; certDir?: string }): TlsFiles {
  if (opts.tlsCertFile || opts.tlsPrivateKeyFile) {
    if (!opts.tlsCertFile || !opts.tlsPrivateKeyFile) throw new Error('--tls-cert-file and --tls-private-key-file go together: give both');
    return { certFile: opts.tlsCertFile, keyFile: opts.tlsPrivateKeyFile };
  }
  if (opts.certDir) return { certFile: path.join(opts.certDir, 'tls.crt'), keyFile: path.join(opts.certDir, 'tls.key') };
  throw new Error('no serving certificate: give --cert-dir (holding tls.crt and tls.key) or --tls-cert-file and --tls-private-key-file, or --insecure-plain-http for local use');
}

export async function loadTls(files: TlsFiles): Promise<TlsMaterial> {
  const read = async (file: string, what: string) => {
    try {
      return await readFile(file);
    } catch (e) {
      throw new Error(`cannot read the ${what} ${file}: ${(e as Error).message}`);
    }
  };
  const cert = await read(files.certFile, 'TLS certificate');
  const key = await read(files.keyFile, 'TLS private key');
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (e) {
    throw new Error(`${files.certFile} is not a PEM certificate: ${(e as Error).message}`);
  }
  try {
    const pk = createPrivateKey(key);
    if (!x509.checkPrivateKey(pk)) throw new Error(`${files.keyFile} is not the private key of ${files.certFile}`);
  } catch (e) {
    if ((e as Error).message.includes('is not the private key')) throw e;
    throw new Error(`${files.keyFile} is not a PEM private key: ${(e as Error).message}`);
  }
  return { cert, key, subject: x509.subject.replace(/\n/g, ', '), validTo: x509.validTo };
}

/** Polls the two files' mtimes and calls onChange with the new material; returns a stop function. */
export function watchTls(files: TlsFiles, everyMs: number, onChange: (m: TlsMaterial) => void, onError: (e: Error) => void): () => void {
  let last = '';
  const sig = async () => {
    const [a, b] = await Promise.all([stat(files.certFile), stat(files.keyFile)]);
    return `${a.mtimeMs}:${a.size}:${b.mtimeMs}:${b.size}`;
  };
  void sig().then((s) => (last = s), () => {});
  const timer = setInterval(async () => {
    try {
      const s = await sig();
      if (s === last) return;
      const m = await loadTls(files);
      last = s;
      onChange(m);
    } catch (e) {
      onError(e as Error);
    }
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
