#!/usr/bin/env bash
# Ensures Debian's redis-server (the store behind Dapr's pubsub.redis in the tests) is installed; prints its path.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
apt_install redis-server
command -v redis-server
