#!/usr/bin/env bash
# Fetches the pinned Kafka broker jars (and a logging backend) from Maven Central into the peer cache; prints the
# directory holding libs/ (run it with `java -cp '<dir>/libs/*' kafka.Kafka server.properties`, KRaft single node).
# Usage: get-kafka.sh [VERSION] (default KAFKA_VERSION; get-kafka4.sh passes KAFKA4_VERSION).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
version="${1:-$KAFKA_VERSION}"
out="$PEERS_CACHE/kafka-${KAFKA_SCALA}-${version}"
if [ ! -f "$out/.complete" ]; then
  mkdir -p "$PEERS_CACHE/locks"; exec 9>"$PEERS_CACHE/locks/kafka-${version}.lock"; flock 9
fi
if [ ! -f "$out/.complete" ]; then
  log "fetching kafka_${KAFKA_SCALA} $version from Maven Central (once)"
  rm -rf "$out" && mkdir -p "$out"
  if [ "${version%%.*}" -ge 4 ]; then
    # Kafka 4 logs through log4j 2 (log4j-core comes with it); SLF4J 1.7 needs its log4j 2 binding.
    logging="<groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>${LOG4J2_VERSION}</version>"
  else
    logging="<groupId>org.slf4j</groupId><artifactId>slf4j-reload4j</artifactId><version>${SLF4J_RELOAD4J_VERSION}</version>"
  fi
  cat > "$out/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.peers</groupId><artifactId>kafka-broker</artifactId><version>1</version><packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_${KAFKA_SCALA}</artifactId><version>${version}</version></dependency>
    <dependency>${logging}</dependency>
  </dependencies>
</project>
POM
  mvn -q -B -f "$out/pom.xml" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$out/libs" >&2
  # The same levels for both logging generations: the test helper passes both files, each version reads its own.
  cat > "$out/log4j.properties" <<'LOG'
log4j.rootLogger=WARN, stderr
log4j.appender.stderr=org.apache.log4j.ConsoleAppender
log4j.appender.stderr.Target=System.err
log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.server.KafkaServer=INFO
log4j.logger.kafka.server.BrokerServer=INFO
LOG
  cat > "$out/log4j2.properties" <<'LOG'
appender.stderr.type=Console
appender.stderr.name=stderr
appender.stderr.target=SYSTEM_ERR
appender.stderr.layout.type=PatternLayout
appender.stderr.layout.pattern=[%d] %p %m (%c)%n
rootLogger.level=WARN
rootLogger.appenderRef.stderr.ref=stderr
logger.server.name=kafka.server.BrokerServer
logger.server.level=INFO
LOG
  touch "$out/.complete"
fi
echo "$out"
