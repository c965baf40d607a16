// The one backoff of the exporter: every retry delay (the delivery worker's, a sink's quick retries, reconnect loops) is
// computed by backoffDelay and waited by sleep. Contract: proto-docs/limits.md "Retry and backoff".
import type { RetryConfig } from '../config/config.js';

/**
 * The longest delay a Node timer takes: setTimeout turns anything above 2^31-1 ms (~24.8 days) into 1 ms, which made a
 * huge Retry-After a retry loop. Every delay handed to a timer goes through clampTimerMs.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** How a delay grows: initialMs * multiplier^(attempt-1), capped by maxMs, spread by ±jitter (a fraction, 0..1). */
export type BackoffPolicy = Pick<RetryConfig, 'initialMs' | 'multiplier' | 'maxMs' | 'jitter'>;

/** A delay a timer can take: NaN and negatives become 0, anything above MAX_TIMER_MS becomes MAX_TIMER_MS. */
export function clampTimerMs(ms: number): number {
  if (!(ms > 0)) return 0;
  return Math.min(Math.round(ms), MAX_TIMER_MS);
}

/**
 * Delay before retry number `attempt` (1-based). A server's Retry-After is honoured (never retried sooner) but capped by
 * policy.maxMs: a receiver asking for a day's pause must not park the sink after it recovered.
 */
export function backoffDelay(policy: BackoffPolicy, attempt: number, retryAfterMs?: number, random: () => number = Math.random): number {
  const maxMs = clampTimerMs(policy.maxMs);
  const exponent = Math.max(0, Math.min(attempt - 1, 1000));
  const base = Math.min(maxMs, policy.initialMs * Math.pow(policy.multiplier, exponent));
  const jitter = Math.min(1, Math.max(0, policy.jitter));
  const spread = base * jitter * (2 * random() - 1);
  const delay = Math.min(maxMs, base + spread);
  const floor = retryAfterMs !== undefined && retryAfterMs > 0 ? Math.min(retryAfterMs, maxMs) : 0;
  return clampTimerMs(Math.max(delay, floor));
}

// IMF-fixdate, RFC 850 and asctime (RFC 9110 §5.6.7): a weekday or month name must be there, so numbers with signs or
// dots ("-5", "1.5") are not read as dates by Date.parse.
const HTTP_DATE = /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*,? [\w :-]+$/;

/**
 * Retry-After (RFC 9110 §10.2.3) as milliseconds from now: delta-seconds or an HTTP-date; undefined when absent or not
 * one of the two. Huge values stay huge (backoffDelay caps them); past dates are 0.
 */
export function parseRetryAfter(v: string | readonly string[] | undefined, now = Date.now()): number | undefined {
  const s = (typeof v === 'string' ? v : v?.[0])?.trim();
  if (!s) return undefined;
  if (/^\d+$/.test(s)) return Number(s) * 1000;
  if (!HTTP_DATE.test(s)) return undefined;
  const at = Date.parse(s);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/** Resolves true after ms (clamped, see MAX_TIMER_MS), or false as soon as the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, clampTimerMs(ms));
    const onAbort = () => {
      clearTimeout(t);
      resolve(false);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
