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
