// A small REST client for the Kubernetes API: @kubernetes/client-node loads the configuration (kubeconfig file,
// KUBECONFIG, in-cluster service account) and authenticates each request; undici carries it over a keep-alive pool.
// Raw paths keep one code path for built-in kinds, CRDs, subresources, discovery and watches.
import { KubeConfig } from '@kubernetes/client-node';
import { Agent, request, type Dispatcher } from 'undici';
import type { Logger } from 'pino';

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    generateName?: string;
    deletionTimestamp?: string;
    creationTimestamp?: string;
    ownerReferences?: unknown[];
    [k: string]: unknown;
  };
  spec?: any;
  status?: any;
  [k: string]: unknown;
}

export interface KubeList<T = KubeObject> {
  apiVersion?: string;
  kind?: string;
  metadata: { resourceVersion?: string; continue?: string; remainingItemCount?: number };
  items: T[];
}

/** An error answer of the API server, with its HTTP status and the Status reason (NotFound, Conflict, Gone...). */
export class KubeApiError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    readonly reason: string,
    readonly detail: string,
    /** A 410 on an expired continue token carries one that resumes the list from the next key (Status metadata.continue). */
    readonly continueToken?: string,
  ) {
    super(`${method} ${path}: ${status} ${reason}${detail ? `: ${detail}` : ''}`);
    this.name = 'KubeApiError';
  }
}

export const isNotFound = (e: unknown) => e instanceof KubeApiError && e.status === 404;
export const isConflict = (e: unknown) => e instanceof KubeApiError && e.status === 409;
export const isAlreadyExists = (e: unknown) => e instanceof KubeApiError && e.status === 409 && e.reason === 'AlreadyExists';
export const isGone = (e: unknown) => e instanceof KubeApiError && e.status === 410;

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
  /** Whole-request timeout (default 30 s). */
  timeoutMs?: number;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface ClientOptions {
  /** Path of a kubeconfig file; default: $KUBECONFIG, then the in-cluster service account, then ~/.kube/config. */
  kubeconfig?: string;
  /** Context of the kubeconfig to use (default: its current context). */
  context?: string;
  logger?: Logger;
  /** Concurrent connections to the API server (default 16). */
  connections?: number;
}

export class KubeClient {
  readonly server: string;
  private readonly dispatcher: Dispatcher;

  private constructor(
    private readonly kc: KubeConfig,
    tls: { ca?: string | Buffer; cert?: string | Buffer; key?: string | Buffer; rejectUnauthorized?: boolean },
    connections: number,
  ) {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig: no current cluster (set a current-context or pass --context)');
    this.server = cluster.server.replace(/\/+$/, '');
    this.dispatcher = new Agent({ connect: { ...tls }, connections, keepAliveTimeout: 30_000 });
  }

  /** Loads the configuration the way kubectl does (explicit file, KUBECONFIG, in-cluster, ~/.kube/config). */
  static async load(opts: ClientOptions = {}): Promise<KubeClient> {
    const kc = new KubeConfig();
    if (opts.kubeconfig) kc.loadFromFile(opts.kubeconfig);
    else kc.loadFromDefault();
    if (opts.context) {
      if (!kc.getContextObject(opts.context)) throw new Error(`kubeconfig: no context named "${opts.context}"`);
      kc.setCurrentContext(opts.context);
    }
    return KubeClient.fromKubeConfig(kc, opts.connections);
  }

  static async fromKubeConfig(kc: KubeConfig, connections = 16): Promise<KubeClient> {
    const o: Record<string, any> = {};
    await kc.applyToHTTPSOptions(o);
    return new KubeClient(kc, { ca: o.ca, cert: o.cert, key: o.key, rejectUnauthorized: o.rejectUnauthorized }, connections);
  }

  /** Authentication headers for one request (token files are re-read by client-node as they rotate). */
  private async authHeaders(): Promise<Record<string, string>> {
    const o: Record<string, any> = { headers: {} };
    await this.kc.applyToHTTPSOptions(o);
    const h: Record<string, string> = {};
    for (const [k, v] of Object.entries(o.headers ?? {})) if (typeof v === 'string') h[k.toLowerCase()] = v;
    return h;
  }

  private url(path: string, query?: RequestOptions['query']): string {
    const u = new URL(this.server + path);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) u.searchParams.set(k, String(v));
    return u.toString();
  }

  async request<T = any>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const headers: Record<string, string> = { ...(await this.authHeaders()), accept: 'application/json' };
    let body: string | undefined;
    if (opts.body !== undefined) {
      headers['content-type'] = opts.contentType ?? 'application/json';
      body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
    }
    const timeout = AbortSignal.timeout(opts.timeoutMs ?? 30_000);
    const res = await request(this.url(path, opts.query), {
      method: method as Dispatcher.HttpMethod,
      headers,
      body,
      dispatcher: this.dispatcher,
      signal: opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout,
    });
    const text = await res.body.text();
    if (res.statusCode >= 400) throw apiError(method, path, res.statusCode, text);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  get<T = KubeObject>(path: string, opts?: RequestOptions) {
    return this.request<T>('GET', path, opts);
  }
  /** GET that answers undefined for 404. */
  async tryGet<T = KubeObject>(path: string): Promise<T | undefined> {
    try {
      return await this.get<T>(path);
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }
  create<T = KubeObject>(collectionPath: string, obj: unknown) {
    return this.request<T>('POST', collectionPath, { body: obj });
  }
  replace<T = KubeObject>(path: string, obj: unknown) {
    return this.request<T>('PUT', path, { body: obj });
  }
  mergePatch<T = KubeObject>(path: string, patch: unknown) {
    return this.request<T>('PATCH', path, { body: patch, contentType: 'application/merge-patch+json' });
  }
  jsonPatch<T = KubeObject>(path: string, ops: unknown[]) {
    return this.request<T>('PATCH', path, { body: ops, contentType: 'application/json-patch+json' });
  }
  /** Server-side apply as fieldManager (force: this controller owns the fields it writes). */
  apply<T = KubeObject>(path: string, obj: unknown, fieldManager: string) {
    return this.request<T>('PATCH', path, {
      body: obj,
      contentType: 'application/apply-patch+yaml',
      query: { fieldManager, force: true },
    });
  }
  /** DELETE that treats 404 as done. */
  async delete(path: string, opts?: RequestOptions): Promise<void> {
    try {
      await this.request('DELETE', path, opts);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  /**
   * One watch request: calls onEvent for each event until the server ends the stream (timeoutSeconds), the signal
   * aborts, or the connection fails (rejects). An ERROR event (e.g. 410 Gone) is thrown as a KubeApiError.
   */
  async watch(
    path: string,
    query: Record<string, string | number | boolean | undefined>,
    onEvent: (type: WatchEventType, obj: any) => void | Promise<void>,
    signal: AbortSignal,
  ): Promise<void> {
    const res = await request(this.url(path, { ...query, watch: true }), {
      method: 'GET',
      headers: { ...(await this.authHeaders()), accept: 'application/json' },
      dispatcher: this.dispatcher,
      signal,
      bodyTimeout: 0,
      headersTimeout: 30_000,
    });
    if (res.statusCode >= 400) throw apiError('WATCH', path, res.statusCode, await res.body.text());
    let buf = '';
    for await (const chunk of res.body) {
      buf += (chunk as Buffer).toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!line) continue;
        const ev = JSON.parse(line) as { type: WatchEventType; object: any };
        if (ev.type === 'ERROR') {
          const s = ev.object ?? {};
          throw new KubeApiError('WATCH', path, s.code ?? 500, s.reason ?? 'Error', s.message ?? '');
        }
        await onEvent(ev.type, ev.object);
      }
    }
  }

  /** Closes every connection, in-flight requests (watches) included. */
  async close(): Promise<void> {
    await this.dispatcher.destroy();
  }
}

function apiError(method: string, path: string, status: number, text: string): KubeApiError {
  let reason = '';
  let message = text.slice(0, 2000);
  let cont: string | undefined;
  try {
    const s = JSON.parse(text);
    reason = s.reason ?? '';
    message = s.message ?? message;
    cont = typeof s.metadata?.continue === 'string' && s.metadata.continue ? s.metadata.continue : undefined;
  } catch {
    /* not a Status object */
  }
  return new KubeApiError(method, path, status, reason || statusReason(status), message, cont);
}

function statusReason(status: number): string {
  return { 400: 'BadRequest', 401: 'Unauthorized', 403: 'Forbidden', 404: 'NotFound', 409: 'Conflict', 410: 'Gone', 422: 'Invalid' }[status] ?? 'Error';
}

/** The REST path of a resource collection or object. group '' is the core group (/api/v1). */
export function resourcePath(r: {
  group: string;
  version: string;
  plural: string;
  namespace?: string | undefined;
  name?: string | undefined;
  subresource?: string | undefined;
}): string {
  let p = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
  if (r.namespace) p += `/namespaces/${encodeURIComponent(r.namespace)}`;
  p += `/${r.plural}`;
  if (r.name) p += `/${encodeURIComponent(r.name)}`;
  if (r.subresource) p += `/${r.subresource}`;
  return p;
}

/** Splits an apiVersion ("apps/v1", "v1") into group and version. */
export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const i = apiVersion.indexOf('/');
  return i < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) };
}
