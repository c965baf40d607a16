// The client's write hold (writeHoldMs): at webhook rates a socket write gathers several reviews' records, so the exporter
// wakes once for them; when every tick has many records to write they go at once, as without a hold. Counted on a plain
// Unix socket server: one data event per write while the writes are far enough apart for the server to read each alone.
import t, { type Test } from 'tap';
import net from 'node:net';
import path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { waitFor } from '../../test/helpers/process.js';
import { ExportClient, DEFAULT_WRITE_HOLD_MS } from '../src/client/index.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sends `ticks` groups of `perTick` records, `gapMs` apart; returns the writes (data events) and lines the server got. */
async function writesSeen(t: Test, writeHoldMs: number | undefined, ticks: number, perTick: number, gapMs: number): Promise<{ writes: number; lines: number }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'gkh-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const socketPath = path.join(dir, 's.sock');
  let writes = 0;
  let lines = 0;
  const server = net.createServer((s) =>
    s.on('data', (d: Buffer) => {
      writes++;
      for (const b of d) if (b === 10) lines++;
    }),
  );
  await new Promise<void>((r) => server.listen(socketPath, r));
  const c = new ExportClient({ socketPath, ...(writeHoldMs === undefined ? {} : { writeHoldMs }) });
  try {
    await waitFor('the client to connect', () => c.stats().connected, 5000, 5);
    for (let k = 0; k < ticks; k++) {
      for (let i = 0; i < perTick; i++) c.send({ eventType: 'admission_decision', decisionId: `d-${k}-${i}` });
      await sleep(gapMs);
    }
    await waitFor('every line at the server', () => lines === ticks * perTick, 5000, 5);
  } finally {
    // Nothing is acknowledged by this server: what the client still holds is dropped at close (counted), as it should.
    await c.close();
    await new Promise<void>((r) => server.close(() => r()));
  }
  return { writes, lines };
}

t.test('without a hold, a review every 5 ms is a write every 5 ms', async (t) => {
  const { writes, lines } = await writesSeen(t, 0, 40, 2, 5);
  t.equal(lines, 80);
  t.ok(writes >= 30, `${writes} writes for 40 reviews`);
});

t.test('with a 50 ms hold, the same reviews go in a few writes, none lost', async (t) => {
  const { writes, lines } = await writesSeen(t, 50, 40, 2, 5);
  t.equal(lines, 80);
  // ~220 ms of sending: the first write at once, then one per 50 ms.
  t.ok(writes <= 8, `${writes} writes for 40 reviews`);
});

t.test('records enough to fill a write every tick are written every tick, not held', async (t) => {
  const { writes, lines } = await writesSeen(t, 50, 5, 100, 20);
  t.equal(lines, 500);
  t.equal(writes, 5, 'one write per tick of 100 records, 20 ms apart, despite the 50 ms hold');
});

t.test('the default hold is 10 ms; a negative or non-numeric hold is refused with a clear error', async (t) => {
  t.equal(DEFAULT_WRITE_HOLD_MS, 10);
  t.throws(() => new ExportClient({ socketPath: '/nonexistent/x.sock', writeHoldMs: -1 }), /writeHoldMs must be a non-negative number, got -1/);
  t.throws(() => new ExportClient({ socketPath: '/nonexistent/x.sock', writeHoldMs: Number.NaN }), /writeHoldMs must be a non-negative number/);
});
