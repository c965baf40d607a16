#!/usr/bin/env node
// A Dapr subscriber app: daprd delivers the exporter's records published on a pub/sub topic here; it drops duplicates
// by decisionId, prints a summary, and serves it on GET /summary. Run it beside daprd --app-port $APP_PORT:
//   APP_PORT=6002 PUBSUB_NAME=pubsub TOPIC=gatekeeper-decisions node dapr-subscriber.mjs
import http from 'node:http';
import { Summary, dedupSettings, printEvery, take } from './summary.mjs';

const env = process.env;
const pubsubname = env.PUBSUB_NAME ?? 'pubsub';
const topic = env.TOPIC ?? 'gatekeeper-decisions';
const summary = new Summary(dedupSettings());
const print = printEvery(summary);

/** The record in a delivery, whichever way the exporter's dapr sink published it (see proto-docs/sinks/dapr.md). */
function recordOf(event) {
  if (typeof event.data_base64 === 'string') return JSON.parse(Buffer.from(event.data_base64, 'base64').toString('utf8')); // rawPayload
  if (typeof event.data === 'string') return JSON.parse(event.data); // dataContentType text/plain, Gatekeeper's
  if (event.data && typeof event.data === 'object') return event.data; // dataContentType application/json
  return event; // envelope: raw without rawPayload: the record itself
}

function reply(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

const server = http.createServer((req, res) => {
  const parts = [];
  req.on('data', (d) => parts.push(d));
  req.on('end', () => {
    if (req.method === 'GET' && req.url === '/dapr/subscribe') return reply(res, 200, [{ pubsubname, topic, route: '/records' }]);
    if (req.method === 'GET' && req.url === '/summary') return reply(res, 200, summary);
    if (req.method !== 'POST' || req.url !== '/records') return reply(res, 404, {});
    try {
      const record = recordOf(JSON.parse(Buffer.concat(parts).toString('utf8')));
      take(summary, record);
      reply(res, 200, { status: 'SUCCESS' });
    } catch (e) {
      // Redelivering a message that does not parse would not help: DROP it (daprd logs it, or dead-letters it if configured).
      process.stderr.write(`dropping a delivery that is not a record: ${e.message}\n`);
      reply(res, 200, { status: 'DROP' });
    }
  });
});
// daprd keeps connections to the app open longer than Node's default 5 s; closing them first races its next request.
server.keepAliveTimeout = 120_000;
server.listen(Number(env.APP_PORT ?? 6002), env.APP_HOST ?? '127.0.0.1', () => {
  process.stderr.write(`dapr subscriber on ${JSON.stringify(server.address())} for ${pubsubname}/${topic}\n`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    print();
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}
