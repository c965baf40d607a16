// A real OpenTelemetry Collector (scripts/peers/get-otelcol.sh: the otlp receiver and the file exporter only) on a
// loopback port: what it receives over OTLP/HTTP lands in an ndjson file, one ExportLogsServiceRequest (OTLP/JSON) a line.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { freePort } from '../helpers/ports.js';
import { peerPath } from '../helpers/peers.js';
import { start, waitFor, type Started } from '../helpers/process.js';

export interface LogRecordJson {
  timeUnixNano?: string;
  severityNumber?: number;
  severityText?: string;
  eventName?: string;
  body?: unknown;
  attributes?: { key: string; value: Record<string, unknown> }[];
}
export interface ResourceLogsJson {
  resource?: { attributes?: { key: string; value: Record<string, unknown> }[] };
  scopeLogs?: { scope?: { name?: string }; logRecords?: LogRecordJson[] }[];
}

export interface Collector {
  /** http://127.0.0.1:<port> (the OTLP/HTTP receiver; POST /v1/logs) */
  readonly endpoint: string;
  /** Graceful stop (SIGTERM: in-flight requests finish, the file exporter flushes). */
  stop(): Promise<void>;
  /** Starts it again on the same port, appending to the same file. */
  restart(): Promise<void>;
  /** Every resourceLogs the collector has written so far. */
  received(): ResourceLogsJson[];
}

/** maxRequestBodySize: the receiver's max_request_body_size (bytes; the collector's default when absent). */
export async function startCollector(dir: string, opts: { maxRequestBodySize?: number } = {}): Promise<Collector> {
  const bin = peerPath('otelcol');
  const port = await freePort();
  const out = path.join(dir, 'otelcol-logs.ndjson');
  const cfg = path.join(dir, 'otelcol.yaml');
  writeFileSync(
    cfg,
    `receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:${port}${opts.maxRequestBodySize ? `\n        max_request_body_size: ${opts.maxRequestBodySize}` : ''}
exporters:
  file:
    path: ${out}
    append: true
    flush_interval: 50ms
service:
  telemetry:
    metrics:
      level: none
    logs:
      level: warn
  pipelines:
    logs:
      receivers: [otlp]
      exporters: [file]
`,
  );
  const endpoint = `http://127.0.0.1:${port}`;
  let proc: Started | undefined;
  const launch = async () => {
    const p = start(bin, ['--config', cfg]);
    proc = p;
    await waitFor(`otelcol on ${port}`, async () => {
      if (p.child.exitCode !== null) throw new Error(`otelcol exited: ${p.output()}`);
      const r = await fetch(`${endpoint}/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }).catch(() => undefined);
      await r?.text();
      return r?.status === 200;
    }, 60_000, 100);
  };
  await launch();
  return {
    endpoint,
    async stop() {
      await proc?.kill('SIGTERM');
    },
    restart: launch,
    received() {
      if (!existsSync(out)) return [];
      return readFileSync(out, 'utf8')
        .split('\n')
        .filter(Boolean)
        .flatMap((l) => (JSON.parse(l) as { resourceLogs?: ResourceLogsJson[] }).resourceLogs ?? []);
    },
  };
}

/** The log records of everything received, in order. */
export function logRecords(received: ResourceLogsJson[]): LogRecordJson[] {
  return received.flatMap((r) => (r.scopeLogs ?? []).flatMap((s) => s.logRecords ?? []));
}

/** Attributes as a plain object: {key: stringValue | boolValue | intValue ...}. */
export function attributeMap(attrs: { key: string; value: Record<string, unknown> }[] | undefined): Record<string, unknown> {
  return Object.fromEntries((attrs ?? []).map((a) => [a.key, Object.values(a.value)[0]]));
}
