#!/usr/bin/env bash
# Shared helpers for the peer scripts: pinned versions and the cache outside the repository.
set -euo pipefail
PEERS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$PEERS_DIR/versions.env"
PEERS_CACHE="${PEERS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gk-exporter/peers}"
mkdir -p "$PEERS_CACHE/bin"
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"
log() { echo "[peers] $*" >&2; }

# Installs Debian packages when missing, serialised so get-*.sh scripts may run side by side.
apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing Debian packages: ${missing[*]}"
  (
    flock 9
    if [ ! -f /var/lib/apt/periodic/gk-updated ] || [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -print -quit)" ]; then
      apt-get update -qq >&2 && mkdir -p /var/lib/apt/periodic && touch /var/lib/apt/periodic/gk-updated
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  ) 9>/tmp/gk-peers-apt.lock
}

# Packs a root filesystem folder as a one-layer `docker save` archive (manifest.json, config, layer) that
# `ctr images import` reads: pack_docker_archive ROOTFS REFERENCE OUT ENTRYPOINT_JSON USER.
# Fixed owners and times keep the layer's diff id reproducible.
pack_docker_archive() {
  local rootfs="$1" ref="$2" out="$3" entrypoint="$4" user="$5" work layer_sha config_sha
  work="$(mktemp -d)"
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime='1970-01-01' -C "$rootfs" -cf "$work/layer.tar" .
  layer_sha="$(sha256sum "$work/layer.tar" | cut -d' ' -f1)"
  mkdir -p "$work/$layer_sha"; mv "$work/layer.tar" "$work/$layer_sha/layer.tar"
  printf '{"architecture":"amd64","os":"linux","config":{"Entrypoint":%s,"User":"%s"},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
    "$entrypoint" "$user" "$layer_sha" >"$work/config.json"
  config_sha="$(sha256sum "$work/config.json" | cut -d' ' -f1)"
  mv "$work/config.json" "$work/$config_sha.json"
  printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["%s/layer.tar"]}]' "$config_sha" "$ref" "$layer_sha" >"$work/manifest.json"
  tar --owner=0 --group=0 --numeric-owner --mtime='1970-01-01' -C "$work" -cf "$out.tmp" manifest.json "$config_sha.json" "$layer_sha"
  mv "$out.tmp" "$out"
  rm -rf "$work"
}
