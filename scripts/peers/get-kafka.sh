#!/usr/bin/env bash
# Fetches the pinned Kafka broker jars (and a logging backend) from Maven Central into the peer cache; prints the
# directory holding libs/ (run it with `java -cp '<dir>/libs/*' kafka.Kafka server.properties`, KRaft single node).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
out="$PEERS_CACHE/kafka-${KAFKA_SCALA}-${KAFKA_VERSION}"
if [ ! -f "$out/.complete" ]; then
  mkdir -p "$PEERS_CACHE/locks"; exec 9>"$PEERS_CACHE/locks/kafka.lock"; flock 9
fi
if [ ! -f "$out/.complete" ]; then
  log "fetching kafka_${KAFKA_SCALA} $KAFKA_VERSION from Maven Central (once)"
  rm -rf "$out" && mkdir -p "$out"
  cat > "$out/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.peers</groupId><artifactId>kafka-broker</artifactId><version>1</version><packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_${KAFKA_SCALA}</artifactId><version>${KAFKA_VERSION}</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-reload4j</artifactId><version>${SLF4J_RELOAD4J_VERSION}</version></dependency>
  </dependencies>
</project>
POM
  mvn -q -B -f "$out/pom.xml" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$out/libs" >&2
  cat > "$out/log4j.properties" <<'LOG'
log4j.rootLogger=WARN, stderr
log4j.appender.stderr=org.apache.log4j.ConsoleAppender
log4j.appender.stderr.Target=System.err
log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.server.KafkaServer=INFO
log4j.logger.kafka.server.BrokerServer=INFO
LOG
  touch "$out/.complete"
fi
echo "$out"
