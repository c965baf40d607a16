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
