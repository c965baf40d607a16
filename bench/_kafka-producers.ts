// The Kafka producers the sinks bench compares on one broker: the sink alone through each transport (the same seam,
// the same batches), and kcat (librdkafka) producing the same records, as the reference of what the broker takes.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createSink } from '../test/sinks/kafka-sink-from-config.js';
import type { KafkaTransportName } from '../exporter/src/sinks/kafka/transport.js';
import type { OutgoingRecord } from '../exporter/src/sinks/sink.js';
import { peerPath } from '../test/helpers/peers.js';

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

/** CPU time (user + system) a process has used so far, in microseconds, from /proc/<pid>/stat. */
export function cpuMicros(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100; // utime + stime, in clock ticks of 1/100 s
}

export interface AloneRun {
  broker: string;
  brokerPid: () => number | undefined;
  topic: string;
  transport: KafkaTransportName;
  label: string;
  cfg: Record<string, unknown>;
  batches: OutgoingRecord[][];
  /** Another build's createSink (KAFKA_SINK_AB), for before/after in one run; default this tree's. */
  create?: typeof createSink;
}

/**
 * The sink alone, in this process: records/s acknowledged (acks -1, idempotent), CPU per record here and in the broker,
 * and how busy this process' event loop was (below 100 %: it waited for acknowledgements).
 */
export async function sinkAlone(r: AloneRun): Promise<number> {
  const ac = new AbortController();
  const sink = (r.create ?? createSink)({ name: 'bench', brokers: [r.broker], topic: r.topic, ...r.cfg }, { transport: r.transport });
  await sink.start(ac.signal);
  await sink.send(r.batches[0]!.slice(0, 10), ac.signal); // warm-up: connection, producer id, metadata
  const n = r.batches.reduce((k, b) => k + b.length, 0);
  const cpu0 = process.cpuUsage();
  const broker0 = cpuMicros(r.brokerPid());
  const elu0 = performance.eventLoopUtilization();
  const t = performance.now();
  for (const b of r.batches) {
    const res = await sink.send(b, ac.signal);
    if (res.failures?.length) throw new Error(`kafka sink: ${res.failures.length} failures`);
  }
  const secs = (performance.now() - t) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const busy = performance.eventLoopUtilization(elu0).utilization;
  const broker = (cpuMicros(r.brokerPid()) - broker0) / n;
  const rate = n / secs;
  console.log(
    `kafka sink alone via ${r.transport}${r.label} (acks -1, idempotent, batches of ${r.batches[0]!.length}): ${fmt(rate)} records/s; ` +
      `sink CPU ${((cpu.user + cpu.system) / n).toFixed(1)} µs/record, event loop busy ${(busy * 100).toFixed(0)} %, broker CPU ${broker.toFixed(1)} µs/record`,
  );
  await sink.close();
  return rate;
}

/**
 * kcat producing the same records (key TAB value, one a line; no headers) with acks=all and idempotence, as the sink
 * does: records/s from its start to its exit, which waits for every delivery report.
 */
export async function kcatProduce(broker: string, topic: string, records: readonly OutgoingRecord[], keyOf: (r: OutgoingRecord) => string): Promise<number> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kcat-bench-'));
  const file = path.join(dir, 'records.txt');
  fs.writeFileSync(file, records.map((r) => `${keyOf(r)}\t${r.json}\n`).join(''));
  const kcat = peerPath('kcat');
  const args = ['-P', '-b', broker, '-t', topic, '-K', '\t', '-X', 'acks=all', '-X', 'enable.idempotence=true', '-l', file];
  try {
    const t = performance.now();
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(kcat, args, { stdio: ['ignore', 'ignore', 'inherit'] });
      child.once('error', reject).once('exit', resolve);
    });
    if (code !== 0) throw new Error(`kcat exited with ${code}`);
    const rate = records.length / ((performance.now() - t) / 1000);
    console.log(`kcat producer (librdkafka, acks=all, idempotent, uncompressed, default linger/batch), same records: ${fmt(rate)} records/s`);
    return rate;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
