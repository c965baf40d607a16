// Packs a root filesystem folder as a one-layer image in the `docker save` layout (manifest.json, the config as
// <digest>.json, <diff id>/layer.tar), which `ctr images import` and `docker load` accept. Layer and archive are
// reproducible: entries sorted, owned by root (0:0, numeric), mtime 0, so equal inputs give equal digests.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const TAR_FLAGS = ['--format=gnu', '--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=@0'];

export function sha256File(file) {
  const hash = createHash('sha256');
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.alloc(1 << 20);
  try {
    for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0; ) hash.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest('hex');
}

function tar(dir, entries, out) {
  execFileSync('tar', ['--create', `--file=${out}`, ...TAR_FLAGS, '-C', dir, '--', ...entries], { stdio: ['ignore', 'ignore', 'inherit'] });
}

/**
 * @param {{ rootfs: string, work: string, config: object, ref: string, out: string, createdBy: string }} o
 * @returns {{ imageId: string, diffId: string }} sha256:... of the config (the image id) and of the layer
 */
export function packImage(o) {
  const dir = path.join(o.work, 'image');
  fs.mkdirSync(dir, { recursive: true });
  const layerTmp = path.join(o.work, 'layer.tar');
  tar(o.rootfs, fs.readdirSync(o.rootfs).sort(), layerTmp);
  const diffId = sha256File(layerTmp);
  fs.mkdirSync(path.join(dir, diffId));
  fs.renameSync(layerTmp, path.join(dir, diffId, 'layer.tar'));
  const created = '1970-01-01T00:00:00Z';
  const configText = JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    created,
    config: o.config,
    rootfs: { type: 'layers', diff_ids: [`sha256:${diffId}`] },
    history: [{ created, created_by: o.createdBy }],
  });
  const configDigest = createHash('sha256').update(configText).digest('hex');
  fs.writeFileSync(path.join(dir, `${configDigest}.json`), configText);
  const [repo, tag] = splitRef(o.ref);
  fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify([{ Config: `${configDigest}.json`, RepoTags: [o.ref], Layers: [`${diffId}/layer.tar`] }]));
  fs.writeFileSync(path.join(dir, 'repositories'), JSON.stringify({ [repo]: { [tag]: diffId } }));
  tar(dir, ['manifest.json', 'repositories', `${configDigest}.json`, diffId], o.out);
  return { imageId: `sha256:${configDigest}`, diffId: `sha256:${diffId}` };
}

/** "registry/repo:tag" → [repository, tag] (a registry port's colon is not the tag's). */
export function splitRef(ref) {
  const i = ref.lastIndexOf(':');
  if (i < 0 || ref.slice(i).includes('/')) throw new Error(`image reference ${ref}: no tag`);
  return [ref.slice(0, i), ref.slice(i + 1)];
}
