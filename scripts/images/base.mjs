// What the distroless base (gcr.io/distroless/nodejs24-debian12:nonroot) gives the images, taken from this Debian 12
// host: glibc and the shared libraries the binaries need (found with ldd), the users and groups, CA certificates, the
// time zone database, os-release, and the runtime directories. Nothing in it is writable by the runtime user except
// /tmp (sticky, world-writable, as in distroless; the chart mounts an emptyDir there).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** Environment the distroless base image sets (a Dockerfile's ENV adds to it). */
export const BASE_ENV = ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt'];

const PASSWD = `root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
`;
const GROUP = `root:x:0:
tty:x:5:
staff:x:50:
nobody:x:65534:
nonroot:x:65532:
`;
const NSSWITCH = `passwd: files
group: files
shadow: files
hosts: files dns
networks: files
protocols: files
services: files
`;

/** Shared libraries (and the dynamic loader) the given ELF files load, as absolute host paths. */
export function sharedLibraries(binaries) {
  const libs = new Set();
  for (const bin of binaries) {
    const out = execFileSync('ldd', [bin], { encoding: 'utf8' });
    for (const line of out.split('\n')) {
      const m = /=>\s*(\/\S+)|^\s*(\/\S+)\s+\(/.exec(line);
      if (m) libs.add(m[1] ?? m[2]);
      if (/not found/.test(line)) throw new Error(`${bin}: ${line.trim()}`);
    }
  }
  return [...libs].sort();
}

/**
 * Copies a host file to the same path under root: the file itself at its real path, and the name it was asked by
 * (e.g. /lib64/ld-linux-x86-64.so.2, libstdc++.so.6) as a relative symbolic link, as on the host.
 */
export function copyHostFile(root, hostPath) {
  const real = fs.realpathSync(hostPath);
  const dest = path.join(root, real);
  fs.mkdirSync(path.dirname(dest), { recursive: true, mode: 0o755 });
  if (!fs.existsSync(dest)) {
    fs.copyFileSync(real, dest);
    fs.chmodSync(dest, fs.statSync(real).mode & 0o755);
  }
  const askedDir = fs.realpathSync(path.dirname(hostPath));
  const asked = path.join(askedDir, path.basename(hostPath));
  if (asked !== real) {
    const link = path.join(root, asked);
    fs.mkdirSync(path.dirname(link), { recursive: true, mode: 0o755 });
    if (!fs.existsSync(link)) fs.symlinkSync(path.relative(askedDir, real), link);
  }
}

function write(root, p, text, mode = 0o644) {
  fs.mkdirSync(path.join(root, path.dirname(p)), { recursive: true, mode: 0o755 });
  fs.writeFileSync(path.join(root, p), text, { mode });
}

/** The base layer's content under root, for binaries that run in it (their libraries are added). */
export function assembleBase(root, binaries) {
  // Debian 12's merged /usr, as on the host the libraries come from.
  fs.mkdirSync(path.join(root, 'usr'), { recursive: true, mode: 0o755 });
  for (const [link, target] of [['bin', 'usr/bin'], ['lib', 'usr/lib'], ['lib64', 'usr/lib64'], ['sbin', 'usr/sbin']]) {
    fs.mkdirSync(path.join(root, target), { recursive: true, mode: 0o755 });
    fs.symlinkSync(target, path.join(root, link));
  }
  for (const lib of sharedLibraries(binaries)) copyHostFile(root, lib);
  write(root, 'etc/passwd', PASSWD);
  write(root, 'etc/group', GROUP);
  write(root, 'etc/nsswitch.conf', NSSWITCH);
  write(root, 'etc/os-release', fs.readFileSync('/etc/os-release', 'utf8'));
  write(root, 'etc/ssl/certs/ca-certificates.crt', fs.readFileSync('/etc/ssl/certs/ca-certificates.crt'));
  // The time zone database as Debian's tzdata installs it (relative links between zones kept; the host's own
  // /usr/share/zoneinfo/localtime link to /etc/localtime is not part of it).
  fs.cpSync('/usr/share/zoneinfo', path.join(root, 'usr/share/zoneinfo'), {
    recursive: true,
    verbatimSymlinks: true,
    filter: (src) => !(fs.lstatSync(src).isSymbolicLink() && path.isAbsolute(fs.readlinkSync(src))),
  });
  fs.mkdirSync(path.join(root, 'root'), { mode: 0o700 });
  // The runtime user's home exists (HOME resolves to it) but belongs to root: the image has nothing it may write.
  fs.mkdirSync(path.join(root, 'home/nonroot'), { recursive: true, mode: 0o755 });
  fs.mkdirSync(path.join(root, 'tmp'));
  fs.chmodSync(path.join(root, 'tmp'), 0o1777);
}
