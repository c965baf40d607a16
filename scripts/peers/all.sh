#!/usr/bin/env bash
# Gets every real peer the tests talk to (pinned in versions.env, cached outside the repo, reused when present).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
for peer in opa; do
  log "ensuring $peer"
  bash "$PEERS_DIR/$peer.sh" >/dev/null
done
