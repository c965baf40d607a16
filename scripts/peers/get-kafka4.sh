#!/usr/bin/env bash
# The Kafka 4.x broker (KRaft only, Java 17) the Kafka sink's tests also run against; see get-kafka.sh.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
exec bash "$PEERS_DIR/get-kafka.sh" "$KAFKA4_VERSION"
