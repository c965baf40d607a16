#!/usr/bin/env bash
# Ensures Debian's kcat (an independent Kafka consumer for the tests) is installed; prints its path.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
apt_install kcat
command -v kcat
