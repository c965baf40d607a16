// undici's Agent and request() for the HTTP and Dapr sinks, loaded without undici's index: the index also loads fetch,
// WebSocket, EventSource, the caches, the mocks and every interceptor, which the sinks never use (measured: ~3 MB more
// RSS for an exporter with an http sink). undici has no "exports" map, so these files are importable; the version is
// pinned by package-lock.json and every sink test goes through them.
import { createRequire } from 'node:module';
import type { Agent as UndiciAgent, Dispatcher } from 'undici';

const requireCjs = createRequire(import.meta.url);

export const Agent = requireCjs('undici/lib/dispatcher/agent.js') as typeof UndiciAgent;
export type Agent = UndiciAgent;

type RequestFn = (this: Dispatcher, opts: Dispatcher.RequestOptions) => Promise<Dispatcher.ResponseData>;
const dispatcherRequest = requireCjs('undici/lib/api/api-request.js') as RequestFn;

export type RequestOptions = Omit<Dispatcher.RequestOptions, 'origin' | 'path' | 'method'> & {
  method?: Dispatcher.HttpMethod;
  dispatcher: Dispatcher;
};

/** undici's request(url, options) with an explicit dispatcher: what its index exports, minus the global dispatcher. */
export function request(url: string | URL, opts: RequestOptions): Promise<Dispatcher.ResponseData> {
  const u = typeof url === 'string' ? new URL(url) : url;
  const { dispatcher, ...rest } = opts;
  return dispatcherRequest.call(dispatcher, {
    ...rest,
    origin: u.origin,
    path: u.search ? `${u.pathname}${u.search}` : u.pathname,
    method: opts.method ?? (opts.body ? 'PUT' : 'GET'),
  });
}
