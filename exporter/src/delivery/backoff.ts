import type { RetryConfig } from '../config/config.js';

/** Delay before retry number `attempt` (1-based): exponential, capped, spread by ±jitter; never below a server's Retry-After. */
export function backoffDelay(retry: RetryConfig, attempt: number, retryAfterMs?: number, random: () => number = Math.random): number {
  const base = Math.min(retry.maxMs, retry.initialMs * Math.pow(retry.multiplier, Math.max(0, attempt - 1)));
  const spread = base * retry.jitter * (2 * random() - 1);
  const delay = Math.max(0, Math.round(base + spread));
  return retryAfterMs !== undefined ? Math.max(delay, retryAfterMs) : delay;
}

/** Resolves after ms, or early (false) when the signal aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      resolve(false);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
