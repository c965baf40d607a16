#!/usr/bin/env bash
# Gets every real peer the tests talk to: runs each scripts/peers/get-*.sh (pinned in versions.env, cached outside
# the repository, reused when present). Each get script prints the path of what it got.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
for script in "$PEERS_DIR"/get-*.sh; do
  peer="$(basename "$script" .sh)"; peer="${peer#get-}"
  start=$SECONDS
  log "ensuring $peer"
  bash "$script" >/dev/null
  log "$peer ready ($((SECONDS - start)) s)"
done
