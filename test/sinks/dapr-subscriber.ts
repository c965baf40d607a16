// A subscriber app behind a second daprd, reading messages the way Gatekeeper's Dapr subscribers do: the CloudEvent's
// `data` is a JSON string (Go SDK: TopicEvent.RawData is that quoted string), unquoted, then decoded into Gatekeeper's
// export message fields.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** Gatekeeper's export message (every field optional); our records must decode into it unchanged. */
export const GATEKEEPER_FIELDS = [
  'id', 'details', 'eventType', 'group', 'version', 'kind', 'name', 'namespace', 'message', 'enforcementAction',
  'constraintAnnotations', 'resourceGroup', 'resourceAPIVersion', 'resourceKind', 'resourceNamespace', 'resourceName',
  'resourceLabels',
] as const;

export interface Delivered {
  /** The CloudEvent as the subscriber app received it. */
  cloudEvent: Record<string, unknown>;
  /** The record, decoded the Gatekeeper way (unquote data, then JSON). */
  record: Record<string, unknown>;
}

export interface Subscriber {
  port: number;
  delivered: Delivered[];
  /** Deliveries that a Gatekeeper subscriber could not decode (must stay empty). */
  undecodable: string[];
  /** Requests received on the route (diagnostics). */
  readonly requests: number;
  close(): Promise<void>;
}

export async function startSubscriber(pubsub: string, topic: string, opts: { raw?: boolean } = {}): Promise<Subscriber> {
  const delivered: Delivered[] = [];
  const undecodable: string[] = [];
  let requests = 0;
  const server = http.createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      if (req.method === 'GET' && req.url === '/dapr/subscribe') {
        res.end(JSON.stringify([{ pubsubname: pubsub, topic, route: '/checkout', ...(opts.raw ? { metadata: { rawPayload: 'true' } } : {}) }]));
        return;
      }
      if (req.url !== '/checkout') {
        res.statusCode = 404;
        res.end('{}');
        return;
      }
      requests++;
      const body = Buffer.concat(parts).toString();
      try {
        const ce = JSON.parse(body) as Record<string, unknown>;
        let record: Record<string, unknown>;
        if (opts.raw) {
          // rawPayload subscription: daprd wraps the raw bytes in data_base64.
          const raw = typeof ce['data_base64'] === 'string' ? Buffer.from(ce['data_base64'], 'base64').toString() : JSON.stringify(ce['data'] ?? ce);
          record = JSON.parse(raw) as Record<string, unknown>;
        } else if (ce['datacontenttype'] === 'application/json') {
          // The sink's dataContentType application/json: the record is the CloudEvent's data as JSON.
          if (!ce['data'] || typeof ce['data'] !== 'object') throw new Error(`data is not an object: ${JSON.stringify(ce['data']).slice(0, 80)}`);
          record = ce['data'] as Record<string, unknown>;
        } else {
          // Gatekeeper's subscriber: strconv.Unquote(string(e.RawData)) then json.Unmarshal: data must be a JSON string.
          if (typeof ce['data'] !== 'string') throw new Error(`data is not a string: ${JSON.stringify(ce['data']).slice(0, 80)}`);
          record = JSON.parse(ce['data']) as Record<string, unknown>;
        }
        delivered.push({ cloudEvent: ce, record });
        res.end('{"status":"SUCCESS"}');
      } catch (e) {
        undecodable.push(`${(e as Error).message}: ${body.slice(0, 200)}`);
        res.end('{"status":"DROP"}');
      }
    });
  });
  // daprd keeps connections to the app alive (Go's idle timeout is 90 s); if the app closed them first, a request racing
  // the close is reset, and daprd's redis subscriber then treats that delivery as failed.
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 125_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    delivered,
    undecodable,
    get requests() {
      return requests;
    },
    close: () => new Promise((r) => server.close(() => r())),
  };
}
