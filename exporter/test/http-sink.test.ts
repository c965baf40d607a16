// The HTTP sink against a real local node:http / node:https server.
import t, { type Test } from 'tap';
import http from 'node:http';
import https from 'node:https';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { AddressInfo } from 'node:net';
import { createSink, type HttpSinkConfig } from '../src/sinks/http/sink.js';
import { resolveSinkConfig } from '../src/config/resolve.js';
import { SinkError, type OutgoingRecord, type Sink } from '../src/sinks/sink.js';

interface Received {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}
type Handler = (req: Received, res: http.ServerResponse) => void;

async function listen(server: http.Server | https.Server, handler: Handler): Promise<{ url: string; got: Received[] }> {
  const got: Received[] = [];
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => {
      const r = { method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(parts) };
      got.push(r);
      handler(r, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `${server instanceof https.Server ? 'https' : 'http'}://localhost:${port}/ingest`, got };
}

async function withServer(t: Test, handler: Handler, server: http.Server | https.Server = http.createServer()) {
  const s = await listen(server, handler);
  t.teardown(() => new Promise<void>((r) => { server.closeAllConnections?.(); server.close(() => r()); }));
  return s;
}

function records(n: number, from = 1): OutgoingRecord[] {
  return Array.from({ length: n }, (_, i) => {
    const seq = from + i;
    const decisionId = `id-${seq}`;
    return { seq, decisionId, eventType: 'admission_decision', json: JSON.stringify({ decisionId, eventType: 'admission_decision', n: seq }) };
  });
}

/** A sink's keys as the config file writes them. */
type Written = Record<string, unknown>;
const httpSink = (cfg: Written) => createSink(resolveSinkConfig<HttpSinkConfig>({ name: 'web', type: 'http', ...cfg }));

/** Called as the delivery worker calls a Sink (HttpSink's own start() takes no signal). */
function sink(t: Test, cfg: Written & { url: string }): Sink {
  const s = httpSink(cfg);
  t.teardown(() => s.close());
  return s;
}

const never = new AbortController().signal;
const ndjsonIds = (b: Buffer) => b.toString().trimEnd().split('\n').map((l) => JSON.parse(l).decisionId);

async function rejection(p: Promise<unknown>): Promise<SinkError> {
  try {
    await p;
  } catch (e) {
    return e as SinkError;
  }
  throw new Error('expected the promise to reject');
}

t.test('posts ndjson by default, one line per record, in order', async (t) => {
  const srv = await withServer(t, (_r, res) => res.end('ok'));
  const s = sink(t, { url: srv.url });
  await s.start(never);
  t.same(await s.send(records(3), never), {});
  t.equal(srv.got.length, 1);
  const req = srv.got[0]!;
  t.equal(req.method, 'POST');
  t.equal(req.url, '/ingest');
  t.equal(req.headers['content-type'], 'application/x-ndjson');
  t.equal(req.headers['x-exporter-records'], '3');
  t.equal(req.headers['content-encoding'], undefined);
  t.ok(req.body.toString().endsWith('\n'), 'every line ends with a newline');
  t.same(ndjsonIds(req.body), ['id-1', 'id-2', 'id-3']);
  t.same(s.health(), { ready: true });
});

t.test('json-array format with gzip', async (t) => {
  const srv = await withServer(t, (_r, res) => { res.statusCode = 202; res.end(); });
  const s = sink(t, { url: srv.url, format: 'json-array', gzip: true, method: 'PUT' });
  await s.send(records(4), never);
  const req = srv.got[0]!;
  t.equal(req.method, 'PUT');
  t.equal(req.headers['content-type'], 'application/json');
  t.equal(req.headers['content-encoding'], 'gzip');
  const arr = JSON.parse(gunzipSync(req.body).toString());
  t.ok(Array.isArray(arr));
  t.same(arr.map((r: { decisionId: string }) => r.decisionId), ['id-1', 'id-2', 'id-3', 'id-4']);
});

t.test('the body holds each record byte for byte, multi-byte characters included, in both formats', async (t) => {
  const srv = await withServer(t, (_r, res) => res.end());
  const json = [
    JSON.stringify({ decisionId: 'a', message: 'namespace «équipe-ß» 日本語 🚀' }),
    JSON.stringify({ decisionId: 'b', message: 'plain' }),
    JSON.stringify({ decisionId: 'c', message: '' }),
  ];
  const recs = json.map((j, i) => ({ seq: i + 1, decisionId: 'x', eventType: 'violation_admission', json: j }));
  await sink(t, { url: srv.url }).send(recs, never);
  t.equal(srv.got[0]!.body.toString('utf8'), json.map((j) => j + '\n').join(''), 'ndjson');
  await sink(t, { url: srv.url, format: 'json-array' }).send(recs, never);
  t.equal(srv.got[1]!.body.toString('utf8'), `[${json.join(',')}]`, 'json-array');
  await sink(t, { url: srv.url, format: 'json-array' }).send(recs.slice(0, 1), never);
  t.equal(srv.got[2]!.body.toString('utf8'), `[${json[0]}]`, 'json-array of one record');
});

t.test('bearer token from a file, re-read after rotation; headers from env and inline', async (t) => {
  const dir = t.testdir({ token: 'first-token\n' });
  let accept = 'first-token';
  const srv = await withServer(t, (r, res) => {
    res.statusCode = r.headers['authorization'] === `Bearer ${accept}` ? 200 : 401;
    res.end(res.statusCode === 401 ? 'bad token' : '');
  });
  process.env['HTTP_SINK_TEST_KEY'] = 'from-env';
  t.teardown(() => delete process.env['HTTP_SINK_TEST_KEY']);
  const s = sink(t, {
    url: srv.url,
    bearerToken: { file: path.join(dir, 'token') },
    headers: { 'X-Api-Key': { env: 'HTTP_SINK_TEST_KEY' }, 'X-Tenant': 'blue' },
  });
  await s.start(never);
  await s.send(records(1), never);
  t.equal(srv.got[0]!.headers['authorization'], 'Bearer first-token', 'trailing newline stripped');
  t.equal(srv.got[0]!.headers['x-api-key'], 'from-env');
  t.equal(srv.got[0]!.headers['x-tenant'], 'blue');

  writeFileSync(path.join(dir, 'token'), 'second-token-longer');
  accept = 'second-token-longer';
  const err = await rejection(s.send(records(1), never));
  t.equal(err.retryable, false, '401 is permanent');
  t.match(err.message, /HTTP 401.*bad token/);
  await s.send(records(1), never);
  t.equal(srv.got.at(-1)!.headers['authorization'], 'Bearer second-token-longer', 'the rotated token is used after a 401');
});

t.test('a missing token file fails at start with the path', async (t) => {
  const s = sink(t, { url: 'http://127.0.0.1:1/x', bearerToken: { file: '/nonexistent/token' } });
  await t.rejects(s.start(never), /nonexistent\/token/);
});

t.test('status classification, Retry-After and the body excerpt', async (t) => {
  let reply: { status: number; headers?: Record<string, string>; body?: string } = { status: 200 };
  const srv = await withServer(t, (_r, res) => {
    res.writeHead(reply.status, reply.headers ?? {});
    res.end(reply.body ?? '');
  });
  const s = sink(t, { url: srv.url, errorBodyBytes: '20B' });

  reply = { status: 503, headers: { 'retry-after': '7' }, body: 'overloaded' };
  let err = await rejection(s.send(records(2), never));
  t.type(err, SinkError);
  t.equal(err.retryable, true, '503 retryable');
  t.equal(err.retryAfterMs, 7000, 'Retry-After seconds');
  t.match(err.message, /HTTP 503.*overloaded/);
  t.equal(s.health().ready, false);

  const when = new Date(Date.now() + 60_000).toUTCString();
  reply = { status: 429, headers: { 'retry-after': when } };
  err = await rejection(s.send(records(1), never));
  t.equal(err.retryable, true, '429 retryable');
  t.ok(err.retryAfterMs! > 30_000 && err.retryAfterMs! <= 60_000, `Retry-After HTTP-date (${err.retryAfterMs} ms)`);

  reply = { status: 408 };
  err = await rejection(s.send(records(1), never));
  t.equal(err.retryable, true, '408 retryable');
  t.equal(err.retryAfterMs, undefined);

  reply = { status: 500, body: 'x'.repeat(200) };
  err = await rejection(s.send(records(1), never));
  t.equal(err.retryable, true, '500 retryable');
  t.match(err.message, /HTTP 500 from .*: x{20}…$/, 'body excerpt is capped');

  reply = { status: 400, body: '{"error":"field foo is bad"}' };
  const refused = await s.send(records(1), never);
  t.equal(refused.failures?.[0]?.retryable, false, '400 permanent (a record refused alone: a failure of that record)');
  t.match(refused.failures?.[0]?.error, /HTTP 400/);

  reply = { status: 404 };
  err = await rejection(s.send(records(1), never));
  t.equal(err.retryable, false, '404 permanent');

  reply = { status: 204 };
  t.same(await s.send(records(1), never), {}, '204 is success');
  t.same(s.health(), { ready: true }, 'healthy again after a success');
});

t.test('connection refused and timeouts are retryable', async (t) => {
  const srv = await withServer(t, () => { /* never answers */ });
  const port = Number(new URL(srv.url).port);
  const s1 = sink(t, { url: srv.url, timeouts: { request: '300ms' } });
  let err = await rejection(s1.send(records(1), never));
  t.equal(err.retryable, true);
  t.match(err.message, /timed out after 300 ms/);

  // A port nobody listens on: bind and close a server to get one.
  const closed = http.createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const deadPort = (closed.address() as AddressInfo).port;
  await new Promise<void>((r) => closed.close(() => r()));
  t.not(deadPort, port);
  const s2 = sink(t, { url: `http://127.0.0.1:${deadPort}/x` });
  err = await rejection(s2.send(records(1), never));
  t.equal(err.retryable, true);
  t.match(err.message, /ECONNREFUSED/);
  t.equal(s2.health().ready, false);
});

t.test('an aborted signal stops the request (retryable)', async (t) => {
  const srv = await withServer(t, () => { /* never answers */ });
  const s = sink(t, { url: srv.url });
  const ac = new AbortController();
  const p = s.send(records(1), ac.signal);
  setTimeout(() => ac.abort(), 50);
  const err = await rejection(p);
  t.equal(err.retryable, true);
});

t.test('large batches are split by maxRecords and maxBytes, in order', async (t) => {
  const srv = await withServer(t, (_r, res) => res.end());
  const s = sink(t, { url: srv.url, batch: { maxRecords: 4 } });
  await s.send(records(10), never);
  t.same(srv.got.map((r) => ndjsonIds(r.body).length), [4, 4, 2]);
  t.same(srv.got.flatMap((r) => ndjsonIds(r.body)), records(10).map((r) => r.decisionId));

  const one = records(1)[0]!.json.length + 1;
  const s2 = sink(t, { url: srv.url, batch: { maxBytes: `${one * 3}B` } });
  srv.got.length = 0;
  await s2.send(records(7), never);
  t.same(srv.got.map((r) => ndjsonIds(r.body).length), [3, 3, 1]);
});

t.test('a permanent refusal of one request does not hold up the others; a retryable one stops the rest', async (t) => {
  let n = 0;
  let failOn = 2;
  let failStatus = 404; // about the endpoint, not the records: not split
  const srv = await withServer(t, (_r, res) => {
    n++;
    res.statusCode = n === failOn ? failStatus : 200;
    res.end();
  });
  const s = sink(t, { url: srv.url, batch: { maxRecords: 2 } });
  const res = await s.send(records(6), never);
  t.same(res.failures?.map((f) => [f.index, f.retryable]), [[2, false], [3, false]]);
  t.equal(srv.got.length, 3, 'the request after the refused one was sent');

  n = 0;
  failOn = 2;
  failStatus = 503;
  srv.got.length = 0;
  const res2 = await s.send(records(6), never);
  t.same(res2.failures?.map((f) => [f.index, f.retryable]), [[2, true], [3, true], [4, true], [5, true]]);
  t.equal(srv.got.length, 2, 'nothing sent after a retryable failure');
});

t.test('413 splits the request in halves; a lone record too large is a permanent failure', async (t) => {
  const srv = await withServer(t, (r, res) => {
    const lines = r.body.toString().trimEnd().split('\n');
    const tooBig = lines.length > 2 || lines.some((l) => JSON.parse(l).n === 5);
    res.statusCode = tooBig ? 413 : 200;
    res.end(tooBig ? 'too large' : '');
  });
  const s = sink(t, { url: srv.url });
  const res = await s.send(records(8), never);
  t.same(res.failures?.map((f) => [f.index, f.retryable]), [[4, false]], 'record n=5 (index 4) refused alone');
  const delivered = srv.got.flatMap((r) => {
    const lines = r.body.toString().trimEnd().split('\n');
    return lines.length <= 2 && !lines.some((l) => JSON.parse(l).n === 5) ? lines.map((l) => JSON.parse(l).n) : [];
  });
  t.same(delivered, [1, 2, 3, 4, 6, 7, 8], 'everything else went through, in order');

  const s2 = sink(t, { url: srv.url, splitOn413: false });
  const err = await rejection(s2.send(records(3), never));
  t.equal(err.retryable, false);
  t.match(err.message, /HTTP 413/);
});

t.test('a request refused for its content (400/409/422) is split until the bad records stand alone; the rest is delivered in order', async (t) => {
  let status = 400;
  const bad = new Set([5, 7]);
  const srv = await withServer(t, (r, res) => {
    const ns = r.body.toString().trimEnd().split('\n').map((l) => JSON.parse(l).n as number);
    const refuse = ns.some((n) => bad.has(n));
    res.statusCode = refuse ? status : 200;
    res.end(refuse ? `record ${ns.find((n) => bad.has(n))} is invalid` : '');
  });
  const accepted = () =>
    srv.got.flatMap((r) => {
      const ns = r.body.toString().trimEnd().split('\n').map((l) => JSON.parse(l).n as number);
      return ns.some((n) => bad.has(n)) ? [] : ns;
    });

  for (const s of [400, 409, 422]) {
    status = s;
    srv.got.length = 0;
    const web = sink(t, { url: srv.url });
    const res = await web.send(records(16), never);
    t.same(res.failures?.map((f) => [f.index, f.retryable]), [[4, false], [6, false]], `${s}: records n=5 and n=7 refused alone`);
    t.match(res.failures?.[0]?.error, new RegExp(`HTTP ${s}.*record 5 is invalid`));
    t.same(accepted(), [1, 2, 3, 4, 6, 8, 9, 10, 11, 12, 13, 14, 15, 16], `${s}: every other record delivered once, in order`);
    t.ok(srv.got.length <= 2 * 2 * Math.log2(16) + 1, `${s}: a bisection, not one request per record (${srv.got.length} requests)`);

    // The worker's retry of exactly those records: one request, not split again; still refused, both fail for good.
    srv.got.length = 0;
    const again = await rejection(web.send([records(16)[4]!, records(16)[6]!], never));
    t.equal(again.retryable, false);
    t.equal(srv.got.length, 1, `${s}: records already refused alone are retried in one request`);
  }

  // A retry that is accepted delivers them; a later batch holding other bad records is split again.
  status = 400;
  bad.clear();
  srv.got.length = 0;
  const web = sink(t, { url: srv.url });
  bad.add(3);
  await web.send(records(4), never);
  bad.clear();
  t.same(await web.send([records(4)[2]!], never), {}, 'the refused record accepted on a retry');
  bad.add(10);
  const res = await web.send(records(4, 9), never);
  t.same(res.failures?.map((f) => f.index), [1], 'a new batch is split again');

  // Requests of a larger batch (batch.maxRecords) are split on their own; a retryable failure mid-split stops the rest.
  bad.clear();
  bad.add(2);
  let n = 0;
  const srv2 = await withServer(t, (r, res) => {
    n++;
    const ns = r.body.toString().trimEnd().split('\n').map((l) => JSON.parse(l).n as number);
    res.statusCode = ns.includes(2) ? 400 : ns.includes(4) && n > 1 ? 503 : 200;
    res.end();
  });
  const chunked = sink(t, { url: srv2.url, batch: { maxRecords: 4 } });
  const res2 = await chunked.send(records(8), never);
  t.same(
    res2.failures?.map((f) => [f.index, f.retryable]),
    [[1, false], [2, true], [3, true], [4, true], [5, true], [6, true], [7, true]],
    'record 2 refused alone; the half after it hit a 503: it and everything after are retried',
  );
  t.equal(n, 5, 'nothing sent after the 503');
});

t.test('onBatchRejected: dead-letter fails the whole request; 401/403/404 are never split', async (t) => {
  let status = 400;
  const srv = await withServer(t, (r, res) => {
    const refuse = r.body.toString().includes('"n":3');
    res.statusCode = refuse ? status : 200;
    res.end();
  });
  const whole = sink(t, { url: srv.url, onBatchRejected: 'dead-letter' });
  const e1 = await rejection(whole.send(records(8), never));
  t.equal(e1.retryable, false);
  t.equal(srv.got.length, 1, 'not split');

  for (const s of [401, 403, 404]) {
    status = s;
    srv.got.length = 0;
    const web = sink(t, { url: srv.url });
    const e = await rejection(web.send(records(8), never));
    t.equal(e.retryable, false, `${s} permanent`);
    t.equal(srv.got.length, 1, `${s}: about the endpoint, not split`);
  }
  t.throws(() => httpSink({ name: 'w', url: srv.url, onBatchRejected: 'drop' }), /sinks\[w\]\.onBatchRejected/);
});

t.test('config errors name the key', async (t) => {
  t.throws(() => httpSink({ name: 'w', url: 'ftp://x' }), /sinks\[w\]\.url/);
  t.throws(() => httpSink({ name: 'w', url: 'nope' }), /sinks\[w\]\.url/);
  t.throws(() => httpSink({ name: 'w', url: 'http://x', batch: { maxBytes: 'lots' } }), /sinks\[w\]\.batch\.maxBytes/);
  t.throws(() => httpSink({ name: 'w', url: 'http://x', timeouts: { request: '0s' } }), /sinks\[w\]\.timeouts\.request: must be at least 1ms/);
  t.throws(() => httpSink({ name: 'w', url: 'http://x', timeouts: { requestMs: 0 } }), /sinks\[w\]\.timeouts\.request: must be at least 1ms/, 'the deprecated name too');
  t.throws(() => httpSink({ name: 'w', url: 'http://x', tls: { caFile: '/nonexistent/ca.pem' } }), /sinks\[w\]\.tls\.caFile/);
  t.throws(() => httpSink({ name: 'w', url: 'http://x', bearerToken: { env: 'SURELY_NOT_SET_12345' } }), /sinks\[w\]\.bearerToken.*SURELY_NOT_SET_12345/);
});

function makeCerts(): Record<string, string> {
  const dir = mkdtempSync(path.join(tmpdir(), 'http-sink-tls-'));
  const o = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  o('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=test-ca');
  writeFileSync(path.join(dir, 'server.ext'), 'subjectAltName=DNS:localhost,DNS:sink.test,IP:127.0.0.1\n');
  o('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
  o('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'server.ext');
  o('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'client.key', '-out', 'client.csr', '-subj', '/CN=exporter');
  o('x509', '-req', '-in', 'client.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'client.pem', '-days', '2');
  return Object.fromEntries(['ca.pem', 'server.pem', 'server.key', 'client.pem', 'client.key'].map((f) => [f, path.join(dir, f)]));
}

t.test('TLS: CA file, client certificate, servername, rejectUnauthorized', async (t) => {
  const c = makeCerts();
  const server = https.createServer({
    key: readFileSync(c['server.key']!),
    cert: readFileSync(c['server.pem']!),
    ca: readFileSync(c['ca.pem']!),
    requestCert: true,
    rejectUnauthorized: false,
  });
  const clients: string[] = [];
  const srv = await withServer(
    t,
    (_r, res) => {
      const sock = res.req.socket as import('node:tls').TLSSocket;
      clients.push(sock.authorized ? sock.getPeerCertificate().subject.CN as string : 'anonymous');
      res.end();
    },
    server,
  );
  const port = new URL(srv.url).port;

  const untrusted = sink(t, { url: srv.url });
  const err = await rejection(untrusted.send(records(1), never));
  t.equal(err.retryable, true, 'an unverifiable server is a network error');
  t.match(err.message, /certificate|self.signed|UNABLE_TO_VERIFY/i);

  const trusted = sink(t, { url: srv.url, tls: { caFile: c['ca.pem']!, certFile: c['client.pem']!, keyFile: c['client.key']! } });
  t.same(await trusted.send(records(2), never), {});
  t.equal(srv.got.at(-1)!.headers['x-exporter-records'], '2');
  t.ok((srv.got.at(-1)!.headers['host'] ?? '').startsWith('localhost'));
  t.same(clients, ['exporter'], 'the client certificate was presented and verified');

  // Connect by IP but verify the certificate for another name it carries.
  const byName = sink(t, { url: `https://127.0.0.1:${port}/ingest`, tls: { caFile: c['ca.pem']!, servername: 'sink.test' } });
  t.same(await byName.send(records(1), never), {});

  const insecure = sink(t, { url: srv.url, tls: { rejectUnauthorized: false } });
  t.same(await insecure.send(records(1), never), {});
  t.same(clients, ['exporter', 'anonymous', 'anonymous']);
});

t.test('through the real exporter: config accepted by the loader, gzip ndjson with a bearer token from a file', async (t) => {
  const { startExporter, Client, record, shortDir } = await import('./helpers/exporter.js');
  const dir = shortDir(t);
  writeFileSync(path.join(dir, 'token'), 's3cret-token\n');
  const got: string[] = [];
  const srv = await withServer(t, (r, res) => {
    if (r.headers['authorization'] !== 'Bearer s3cret-token' || r.headers['content-encoding'] !== 'gzip') {
      res.statusCode = 401;
      return res.end();
    }
    for (const line of gunzipSync(r.body).toString().split('\n')) if (line) got.push(JSON.parse(line).decisionId);
    res.end();
  });
  const ex = await startExporter(t, dir, {
    sinks: [{ name: 'web', type: 'http', url: srv.url, gzip: true, bearerToken: { file: path.join(dir, 'token') }, headers: { 'X-Tenant': 'blue' }, batch: { maxRecords: 50, linger: '5ms' } }],
    log: { level: 'warn' },
  });
  const c = await Client.connect(ex.socket);
  const ids = Array.from({ length: 300 }, (_, i) => `e2e-${i}`);
  await c.write(ids.map((id) => record(id) + '\n').join(''));
  await c.waitAck(ids.length);
  const until = Date.now() + 60_000;
  while (got.length < ids.length && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  t.same(got, ids, 'all delivered, in order');
  t.ok(srv.got.every((r) => r.headers['x-tenant'] === 'blue'));
  t.ok(srv.got.every((r) => Number(r.headers['x-exporter-records']) <= 50), 'requests capped by batch.maxRecords');
  t.notMatch(ex.proc.output(), /s3cret-token/, 'the token never appears in the logs');
  c.destroy();
});
