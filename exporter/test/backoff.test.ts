// The one backoff (exporter/src/delivery/backoff.ts) and the one retry classification (sinks/sink.ts): the arithmetic,
// Retry-After in both forms, garbage, huge values, and Node's timer limit.
import t from 'tap';
import { MAX_TIMER_MS, backoffDelay, clampTimerMs, parseRetryAfter, sleep, type BackoffPolicy } from '../src/delivery/backoff.js';
import { SinkError, classifyFailure } from '../src/sinks/sink.js';

const policy: BackoffPolicy = { initialMs: 200, multiplier: 2, maxMs: 30_000, jitter: 0.2 };
const flat = { ...policy, jitter: 0 };
const low = () => 0;
const high = () => 0.999999;
const mid = () => 0.5;

t.test('exponential, capped by maxMs', async (t) => {
  t.same([1, 2, 3, 4, 5].map((a) => backoffDelay(flat, a)), [200, 400, 800, 1600, 3200]);
  t.equal(backoffDelay(flat, 8), 25_600);
  t.equal(backoffDelay(flat, 9), 30_000, 'capped');
  t.equal(backoffDelay(flat, 10_000), 30_000, 'a huge attempt number stays at the cap (no Infinity, no NaN)');
  t.equal(backoffDelay(flat, 0), 200, 'attempt 0 is treated as the first');
  t.equal(backoffDelay(flat, -3), 200);
});

t.test('jitter spreads each delay within ±jitter, never above maxMs', async (t) => {
  t.equal(backoffDelay(policy, 1, undefined, mid), 200, 'random 0.5: no spread');
  t.equal(backoffDelay(policy, 1, undefined, low), 160, '-20 %');
  t.equal(backoffDelay(policy, 1, undefined, high), 240, '+20 %');
  t.equal(backoffDelay(policy, 20, undefined, high), 30_000, 'at the cap the upward spread is cut');
  t.equal(backoffDelay(policy, 20, undefined, low), 24_000, 'at the cap the downward spread stays');
  for (let i = 0; i < 1000; i++) {
    const d = backoffDelay(policy, 3);
    if (d < 640 || d > 960) t.fail(`delay ${d} outside [640, 960]`);
  }
  t.equal(backoffDelay({ ...policy, jitter: 5 }, 1, undefined, low), 0, 'a jitter over 1 is taken as 1');
});

t.test('Retry-After is honoured as a floor, capped by maxMs', async (t) => {
  t.equal(backoffDelay(flat, 1, 5_000), 5_000, 'longer than the backoff: waited');
  t.equal(backoffDelay(flat, 5, 1_000), 3_200, 'shorter than the backoff: the backoff');
  t.equal(backoffDelay(flat, 1, 100_000 * 1000), 30_000, 'Retry-After: 100000 (27 h): capped by maxMs');
  t.equal(backoffDelay(policy, 1, 100_000 * 1000, low), 30_000, 'jitter does not bring a capped Retry-After below the cap');
  t.equal(backoffDelay(flat, 1, 0), 200, 'Retry-After: 0 is the backoff');
  t.equal(backoffDelay(flat, 1, Number.MAX_SAFE_INTEGER), 30_000);
  t.equal(backoffDelay(flat, 1, Infinity), 30_000);
  t.equal(backoffDelay(flat, 1, NaN), 200, 'NaN is ignored');
});

t.test('every delay fits a Node timer (2^31-1 ms)', async (t) => {
  t.equal(MAX_TIMER_MS, 2_147_483_647);
  const huge = { initialMs: 200, multiplier: 2, maxMs: 30 * 86_400_000, jitter: 0 };
  t.equal(backoffDelay(huge, 1, 3_000_000 * 1000), MAX_TIMER_MS, 'maxMs 30d and Retry-After 3e6 s: clamped, not 1 ms');
  t.equal(backoffDelay(huge, 60), MAX_TIMER_MS);
  t.equal(backoffDelay({ ...huge, maxMs: Infinity }, 2000), MAX_TIMER_MS);
  t.equal(clampTimerMs(2 ** 31), MAX_TIMER_MS);
  t.equal(clampTimerMs(1e300), MAX_TIMER_MS);
  t.equal(clampTimerMs(-5), 0);
  t.equal(clampTimerMs(NaN), 0);
  t.equal(clampTimerMs(12.4), 12);
});

t.test('parseRetryAfter: delta-seconds, HTTP-date (three forms), garbage', async (t) => {
  const now = Date.parse('Wed, 21 Oct 2015 07:27:00 GMT');
  t.equal(parseRetryAfter('0'), 0);
  t.equal(parseRetryAfter(' 120 '), 120_000);
  t.equal(parseRetryAfter('100000'), 100_000_000);
  t.equal(parseRetryAfter('99999999999999999999'), 99999999999999999999 * 1000, 'huge: kept (the backoff caps it)');
  t.equal(parseRetryAfter(['7', '9']), 7000, 'the first of repeated headers');
  t.equal(parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', now), 60_000, 'IMF-fixdate');
  t.equal(parseRetryAfter('Wednesday, 21-Oct-15 07:28:00 GMT', now), 60_000, 'RFC 850');
  t.not(parseRetryAfter('Wed Oct 21 07:28:00 2015', now), undefined, 'asctime');
  t.equal(parseRetryAfter('Wed, 21 Oct 2015 07:00:00 GMT', now), 0, 'a past date: now');
  for (const garbage of ['soon', '', '  ', '-5', '1.5', '12s', '0x10', 'Wed, 99 Foo 2015 07:28:00 GMT', '2015-10-21T07:28:00Z']) {
    t.equal(parseRetryAfter(garbage, now), undefined, JSON.stringify(garbage));
  }
  t.equal(parseRetryAfter(undefined), undefined);
  t.equal(parseRetryAfter([]), undefined);
});

t.test('sleep: clamped, aborted early', async (t) => {
  t.equal(await sleep(1), true);
  const ac = new AbortController();
  const p = sleep(3_000_000 * 1000, ac.signal); // over 2^31 ms: must not fire after 1 ms
  const early = await Promise.race([p, sleep(50).then(() => 'still waiting')]);
  t.equal(early, 'still waiting', 'a delay over 2^31 ms does not fire at once');
  ac.abort();
  t.equal(await p, false, 'abort resolves false');
  t.equal(await sleep(10, ac.signal), false, 'an aborted signal: at once');
});

t.test('classifyFailure: one root with a retryable flag; kafkajs-style retriable read; anything else retryable', async (t) => {
  t.same(classifyFailure(new SinkError('503', { retryable: true, retryAfterMs: 7000 })), { retryable: true, retryAfterMs: 7000, message: '503' });
  t.same(classifyFailure(new SinkError('404', { retryable: false })), { retryable: false, message: '404' });
  t.same(classifyFailure(Object.assign(new Error('bad topic'), { retriable: false })), { retryable: false, message: 'bad topic' });
  t.same(classifyFailure(Object.assign(new Error('leader moved'), { retriable: true })), { retryable: true, message: 'leader moved' });
  t.same(classifyFailure(new TypeError('x is undefined')), { retryable: true, message: 'x is undefined' });
  t.same(classifyFailure('a string'), { retryable: true, message: 'a string' });
  t.same(classifyFailure(null), { retryable: true, message: 'null' });
});
