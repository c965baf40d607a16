// The webhook's HTTP(S) server: routing, body limits, health, metrics. Policy logic lives in validate.ts / namespace-label.ts.
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { DecisionExport } from '../export/decision-export.js';
import type { Violation } from '../policy/engine.js';
import type { Expander } from '../expansion/expansion.js';
import { MalformedReviewError, deniedResponse, parseAdmissionReview, reviewResponse, type AdmissionRequest } from './admission-review.js';
import type { WebhookMetrics } from './metrics.js';
import { checkNamespaceLabel } from './namespace-label.js';
import type { NamespaceSource } from '../match/match.js';
import type { NamespaceExemptions } from './namespaces.js';
import { validate, type Reviewer } from './validate.js';
import { checkGatekeeperResource, type GatekeeperResourceChecker } from './validate-gatekeeper-resources.js';

export interface WebhookServerOptions {
  engine: Reviewer;
  logger: Logger;
  metrics: WebhookMetrics;
  exemptions: NamespaceExemptions;
  /** TLS key and certificate (PEM); absent only with plain HTTP explicitly allowed. */
  tls?: { key: Buffer; cert: Buffer };
  maxRequestBytes: number;
  deadlineMs: number;
  logDenies: boolean;
  isReady: () => boolean;
  exporter?: DecisionExport;
  /** Cluster mode: the Namespaces namespaceSelector reads (else data.inventory's). */
  namespaces?: NamespaceSource;
  /** Called after the answer is sent with the review's violations (Kubernetes Events); must not wait. */
  onViolations?: (req: AdmissionRequest, object: any, violations: Violation[]) => void;
  /** The ExpansionTemplates in force (cluster or policy folder): generators are also reviewed as what they imply. */
  expander?: () => Expander | undefined;
  /** Reject invalid ConstraintTemplates and constraints before they are stored (gatekeeper run). */
  gatekeeperResources?: GatekeeperResourceChecker;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly reason: string,
  ) {
    super(message);
  }
}

function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    return Promise.reject(new HttpError(413, `request body of ${declared} bytes exceeds the limit of ${limit} bytes (--max-request-bytes)`, 'too_large'));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new HttpError(413, `request body exceeds the limit of ${limit} bytes (--max-request-bytes)`, 'too_large'));
        req.removeAllListeners('data');
        req.resume();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks, size)));
    req.on('error', reject);
  });
}

function send(res: http.ServerResponse, status: number, body: string, type = 'application/json'): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function sendError(res: http.ServerResponse, status: number, message: string): void {
  send(res, status, JSON.stringify({ error: message }) + '\n');
}

export class WebhookServer {
  readonly server: http.Server;

  constructor(private readonly opts: WebhookServerOptions) {
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
      this.route(req, res).catch((e) => {
        opts.logger.error({ err: e, path: req.url }, 'request failed');
        if (!res.headersSent) sendError(res, 500, 'internal error');
        else res.destroy();
      });
    };
    this.server = opts.tls ? https.createServer({ key: opts.tls.key, cert: opts.tls.cert }, handler) : http.createServer(handler);
    this.server.keepAliveTimeout = 65_000;
  }

  async listen(port: number, host?: string): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    return (this.server.address() as AddressInfo).port;
  }

  /** Replaces the certificate for new connections (certificate rotation). */
  setCertificate(tls: { key: Buffer; cert: Buffer }): void {
    if (this.server instanceof https.Server) this.server.setSecureContext({ key: tls.key, cert: tls.cert });
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeIdleConnections();
    });
  }

  private async route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = (req.url ?? '/').split('?')[0];
    switch (url) {
      case '/v1/admit':
      case '/v1/admitlabel':
        if (req.method !== 'POST') {
          this.opts.metrics.rejectedRequests.inc({ path: url, reason: 'method' });
          res.setHeader('allow', 'POST');
          return sendError(res, 405, `${req.method} is not allowed on ${url}: POST an AdmissionReview`);
        }
        return url === '/v1/admit' ? this.admit(req, res) : this.admitLabel(req, res);
      case '/healthz':
        return send(res, 200, 'ok\n', 'text/plain');
      case '/readyz':
        return this.opts.isReady() ? send(res, 200, 'ok\n', 'text/plain') : send(res, 503, 'policies not loaded yet\n', 'text/plain');
      case '/metrics': {
        const body = await this.opts.metrics.registry.metrics();
        return send(res, 200, body, this.opts.metrics.registry.contentType);
      }
      default:
        return sendError(res, 404, `no such path ${url}: the webhook serves POST /v1/admit, POST /v1/admitlabel, /healthz, /readyz, /metrics`);
    }
  }

  private async readReview(req: http.IncomingMessage, res: http.ServerResponse, path: string) {
    try {
      return parseAdmissionReview(await readBody(req, this.opts.maxRequestBytes));
    } catch (e) {
      if (e instanceof HttpError) {
        this.opts.metrics.rejectedRequests.inc({ path, reason: e.reason });
        sendError(res, e.status, e.message);
        return undefined;
      }
      if (e instanceof MalformedReviewError) {
        this.opts.metrics.rejectedRequests.inc({ path, reason: 'malformed' });
        sendError(res, 400, `malformed AdmissionReview: ${e.message}`);
        return undefined;
      }
      throw e;
    }
  }

  private async admit(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const started = performance.now();
    const review = await this.readReview(req, res, '/v1/admit');
    if (!review) return;
    const invalid = this.opts.gatekeeperResources && (await checkGatekeeperResource(review.request, this.opts.gatekeeperResources));
    if (invalid) {
      send(res, 200, reviewResponse(review.apiVersion, deniedResponse(review.request.uid, invalid)));
      this.opts.metrics.recordValidation('deny', review.request.dryRun === true, (performance.now() - started) / 1000);
      return;
    }
    const result = await validate(review.request, {
      engine: this.opts.engine,
      logger: this.opts.logger,
      exemptions: this.opts.exemptions,
      deadlineMs: this.opts.deadlineMs,
      logDenies: this.opts.logDenies,
      ...(this.opts.namespaces ? { namespaces: this.opts.namespaces } : {}),
      ...(this.opts.expander ? { expander: this.opts.expander } : {}),
    });
    send(res, 200, reviewResponse(review.apiVersion, result.response));
    this.opts.metrics.recordValidation(result.status, review.request.dryRun === true, (performance.now() - started) / 1000);
    // After the answer is on its way: the export never delays the API server.
    this.opts.exporter?.admission(review.request, result.object, result.outcome);
    this.opts.onViolations?.(review.request, result.object, result.outcome.violations);
  }

  private async admitLabel(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const review = await this.readReview(req, res, '/v1/admitlabel');
    if (!review) return;
    const response = checkNamespaceLabel(review.request, this.opts.exemptions);
    this.opts.metrics.labelRequests.inc({ admission_status: response.allowed ? 'allow' : 'deny' });
    send(res, 200, reviewResponse(review.apiVersion, response));
  }
}
