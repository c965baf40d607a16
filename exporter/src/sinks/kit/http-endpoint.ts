// The HTTP endpoint of the http and otlp sinks (its keys: endpoint-config.ts): the undici agent with TLS, secrets read
// from files or the environment (never logged), request timeouts, and what a response status means: 2xx delivered;
// 401/403 re-read the secrets; 413 halve; a content refusal halve (or fail); a retryable status back off, honouring
// Retry-After; anything else a permanent failure.
import type { Dispatcher } from 'undici';
import { Secret } from '../../config/secret.js';
import { loadTlsOptions } from '../../config/tls.js';
import type { EndpointConfig } from './endpoint-config.js';
import { parseRetryAfter } from '../../delivery/backoff.js';
import { SinkError, type SinkHealth } from '../sink.js';
import { ContentRefused, PayloadTooLarge } from './bisect.js';
import { Agent, request } from './undici.js';

/** What the statuses a receiver answers with mean, beyond 2xx, 401/403 and 413 (the same for every HTTP sink). */
export interface StatusPolicy {
  /** Refused for what the request carries (some records are bad): halved until they stand alone. */
  contentRefusal: (status: number) => boolean;
  /** Try again later (after backoff, at least Retry-After). */
  retryable: (status: number) => boolean;
}

/** The http or https URL of a config key, or an error naming the key. */
export function endpointUrl(value: string, key: string): URL {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new Error(`${key}: not a valid URL: ${JSON.stringify(value)}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`${key}: must be http:// or https://, got ${u.protocol}`);
  return u;
}

export class HttpEndpoint {
  /** "POST https://host:port/path", for messages (no query string: it may carry a key). */
  readonly where: string;
  health: SinkHealth = { ready: true };
  readonly #url: URL;
  readonly #method: 'POST' | 'PUT';
  readonly #headers: [string, Secret][];
  readonly #bearer: Secret | undefined;
  readonly #requestMs: number;
  readonly #agent: Agent;
  readonly #errorBodyBytes: number;
  readonly #status: StatusPolicy;

  constructor(url: URL, method: 'POST' | 'PUT', cfg: EndpointConfig, status: StatusPolicy) {
    const key = `sinks[${cfg.name}]`;
    this.#url = url;
    this.#method = method;
    this.where = `${method} ${url.origin}${url.pathname}`;
    this.#headers = Object.entries(cfg.headers).map(([h, spec]) => [h.toLowerCase(), Secret.from(spec, `${key}.headers.${h}`)]);
    this.#bearer = cfg.bearerToken === undefined ? undefined : Secret.from(cfg.bearerToken, `${key}.bearerToken`);
    this.#requestMs = cfg.timeouts.requestMs;
    this.#errorBodyBytes = cfg.errorBodyBytes;
    this.#status = status;
    const connect = { timeout: cfg.timeouts.connectMs, ...loadTlsOptions(cfg.tls ?? {}, `${key}.tls`) };
    this.#agent = new Agent({ connect, connections: 4, pipelining: 1 });
  }

  /** Reads file secrets now, so a wrong path shows up at start, not at the first batch. */
  async start(): Promise<void> {
    await this.#bearer?.load();
    for (const [, s] of this.#headers) await s.load();
  }

  close(): Promise<void> {
    return this.#agent.close();
  }

  /**
   * Sends one request and returns the 2xx response (its body still to be read or dumped). Throws SinkError for anything
   * else: ContentRefused / PayloadTooLarge for a refusal of the records, retryable for the network and retryable statuses.
   */
  async send(body: Uint8Array, contentHeaders: Record<string, string>, signal: AbortSignal): Promise<Dispatcher.ResponseData> {
    const headers: Record<string, string> = {};
    for (const [h, s] of this.#headers) headers[h] = await s.value();
    Object.assign(headers, contentHeaders);
    if (this.#bearer) headers['authorization'] = `Bearer ${await this.#bearer.value()}`;
    const timeout = AbortSignal.timeout(this.#requestMs);
    let res: Dispatcher.ResponseData;
    try {
      res = await request(this.#url, {
        method: this.#method,
        headers,
        body,
        dispatcher: this.#agent,
        signal: AbortSignal.any([signal, timeout]),
        headersTimeout: this.#requestMs,
        bodyTimeout: this.#requestMs,
      });
    } catch (e) {
      const why = timeout.aborted ? `timed out after ${this.#requestMs} ms` : describeNetworkError(e);
      this.health = { ready: false, detail: `${this.where}: ${why}` };
      throw new SinkError(`${this.where}: ${why}`, { retryable: true, cause: e });
    }
    if (res.statusCode >= 200 && res.statusCode < 300) {
      this.health = { ready: true };
      return res;
    }
    throw await this.#refusal(res);
  }

  async #refusal(res: Dispatcher.ResponseData): Promise<SinkError> {
    const status = res.statusCode;
    const excerpt = await readExcerpt(res.body, this.#errorBodyBytes);
    const message = `HTTP ${status} from ${this.where}${excerpt ? `: ${excerpt}` : ''}`;
    if (status === 401 || status === 403) {
      // The token may have rotated on disk since the last check: look again before the next attempt.
      this.#bearer?.invalidate();
      for (const [, s] of this.#headers) s.invalidate();
    }
    if (status === 413) return new PayloadTooLarge(message);
    if (this.#status.contentRefusal(status)) return new ContentRefused(message);
    if (!this.#status.retryable(status)) return new SinkError(message, { retryable: false });
    this.health = { ready: false, detail: message };
    const retryAfterMs = parseRetryAfter(res.headers['retry-after']);
    return new SinkError(message, { retryable: true, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) });
  }
}

async function readExcerpt(body: Dispatcher.ResponseData['body'], max: number): Promise<string> {
  if (max <= 0) {
    await body.dump();
    return '';
  }
  let got = Buffer.alloc(0);
  try {
    for await (const piece of body) {
      got = Buffer.concat([got, piece as Buffer]);
      if (got.length >= max) break;
    }
  } catch {
    // a body cut short is still worth quoting
  }
  // Leaving the loop early destroys the stream; the connection is discarded, which is fine for an error path.
  // Control characters (a binary protobuf status, say) and line breaks become single spaces.
  const text = got.subarray(0, max).toString('utf8').replace(/[\s\x00-\x1f\x7f\ufffd]+/g, ' ').trim();
  return got.length > max ? text + '…' : text;
}

function describeNetworkError(e: unknown): string {
  const err = e as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = err.code ?? err.cause?.code;
  const msg = err.cause?.message ?? err.message ?? String(e);
  return code && !msg.includes(code) ? `${code}: ${msg}` : msg;
}
