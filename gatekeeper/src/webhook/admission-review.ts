// Parsing and answering AdmissionReview (admission.k8s.io/v1, and v1beta1 for old API servers) without any policy logic.

export const SUPPORTED_API_VERSIONS = ['admission.k8s.io/v1', 'admission.k8s.io/v1beta1'] as const;

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}
export interface GroupVersionResource {
  group: string;
  version: string;
  resource: string;
}

/** The part of an AdmissionRequest the webhook reads; anything else is passed through untouched. */
export interface AdmissionRequest {
  uid: string;
  kind: GroupVersionKind;
  resource?: GroupVersionResource;
  subResource?: string;
  requestKind?: GroupVersionKind;
  requestResource?: GroupVersionResource;
  requestSubResource?: string;
  name?: string;
  namespace?: string;
  operation?: string;
  userInfo?: { username?: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> };
  object?: any;
  oldObject?: any;
  dryRun?: boolean;
  options?: any;
}

export interface ParsedReview {
  apiVersion: string;
  request: AdmissionRequest;
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: { code: number; reason?: string; message?: string };
  warnings?: string[];
}

/** A review that cannot be answered: the HTTP layer turns it into a 400 naming the problem. */
export class MalformedReviewError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MalformedReviewError';
  }
}

const OPERATIONS = new Set(['CREATE', 'UPDATE', 'DELETE', 'CONNECT']);

function isObject(v: unknown): v is Record<string, any> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function checkGVK(v: unknown, field: string): GroupVersionKind {
  if (!isObject(v)) throw new MalformedReviewError(`${field}: required, an object {group, version, kind}`);
  const group = v['group'] ?? '';
  const { version, kind } = v;
  if (typeof group !== 'string') throw new MalformedReviewError(`${field}.group: must be a string`);
  if (typeof version !== 'string' || !version) throw new MalformedReviewError(`${field}.version: required, a non-empty string`);
  if (typeof kind !== 'string' || !kind) throw new MalformedReviewError(`${field}.kind: required, a non-empty string`);
  return { group, version, kind };
}

function optionalString(req: Record<string, any>, field: string): void {
  const v = req[field];
  if (v !== undefined && v !== null && typeof v !== 'string') throw new MalformedReviewError(`request.${field}: must be a string`);
}

/** Parses the raw body of a POST to /v1/admit or /v1/admitlabel. Throws MalformedReviewError naming the first problem. */
export function parseAdmissionReview(body: Buffer | string): ParsedReview {
  let value: unknown;
  try {
    value = JSON.parse(typeof body === 'string' ? body : body.toString('utf8'));
  } catch (e) {
    throw new MalformedReviewError(`body is not valid JSON: ${(e as Error).message}`);
  }
  if (!isObject(value)) throw new MalformedReviewError('body must be a JSON object (an AdmissionReview)');
  const { apiVersion, kind, request } = value;
  if (kind !== 'AdmissionReview') throw new MalformedReviewError(`kind: expected "AdmissionReview", got ${JSON.stringify(kind)}`);
  if (!SUPPORTED_API_VERSIONS.includes(apiVersion)) {
    throw new MalformedReviewError(`apiVersion: expected one of ${SUPPORTED_API_VERSIONS.join(', ')}, got ${JSON.stringify(apiVersion)}`);
  }
  if (!isObject(request)) throw new MalformedReviewError('request: required, an object (the AdmissionRequest)');
  if (typeof request['uid'] !== 'string' || !request['uid']) throw new MalformedReviewError('request.uid: required, a non-empty string');
  request['kind'] = checkGVK(request['kind'], 'request.kind');
  for (const f of ['name', 'namespace', 'subResource', 'requestSubResource']) optionalString(request, f);
  const op = request['operation'];
  if (op !== undefined && (typeof op !== 'string' || !OPERATIONS.has(op))) {
    throw new MalformedReviewError(`request.operation: expected one of ${[...OPERATIONS].join(', ')}, got ${JSON.stringify(op)}`);
  }
  for (const f of ['object', 'oldObject']) {
    const o = request[f];
    if (o !== undefined && o !== null && !isObject(o)) throw new MalformedReviewError(`request.${f}: must be an object or null`);
  }
  if (request['userInfo'] !== undefined && !isObject(request['userInfo'])) throw new MalformedReviewError('request.userInfo: must be an object');
  if (request['dryRun'] !== undefined && request['dryRun'] !== null && typeof request['dryRun'] !== 'boolean') {
    throw new MalformedReviewError('request.dryRun: must be a boolean');
  }
  return { apiVersion, request: request as AdmissionRequest };
}

/** The AdmissionReview envelope the API server expects back (same apiVersion as the request). */
export function reviewResponse(apiVersion: string, response: AdmissionResponse): string {
  return JSON.stringify({ apiVersion, kind: 'AdmissionReview', response });
}

export function allowedResponse(uid: string, warnings?: string[], message?: string): AdmissionResponse {
  const r: AdmissionResponse = { uid, allowed: true, status: { code: 200 } };
  if (message) r.status!.message = message;
  if (warnings && warnings.length) r.warnings = warnings;
  return r;
}

/** A denial as controller-runtime's ValidationResponse builds it (code 403, reason Forbidden). */
export function deniedResponse(uid: string, message: string, warnings?: string[]): AdmissionResponse {
  const r: AdmissionResponse = { uid, allowed: false, status: { code: 403, reason: 'Forbidden', message } };
  if (warnings && warnings.length) r.warnings = warnings;
  return r;
}

/** An evaluation error answered the way Gatekeeper does (admission.Errored): not allowed, code 500. */
export function erroredResponse(uid: string, code: number, message: string): AdmissionResponse {
  return { uid, allowed: false, status: { code, message } };
}

/** The object the policies see: on DELETE the API server sends only oldObject, and Gatekeeper reviews that. */
export function objectUnderReview(req: AdmissionRequest): any {
  if (req.operation === 'DELETE' && (req.object === undefined || req.object === null)) return req.oldObject ?? undefined;
  return req.object ?? undefined;
}
