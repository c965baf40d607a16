// Kubernetes' URL library (k8s.io/apiserver/pkg/cel/library/urls.go): url() accepts what Go's url.ParseRequestURI
// accepts (an absolute URI or an absolute path) and keeps url.Parse's result; the parts through the port of Go's
// net/url the Rego uri builtins use.
import { celFunc, celMethod, CelScalar, listType, mapType, type CelFunc } from '@bufbuild/cel';
import { escapedPath, parseUrl, queryValues } from '../../builtins/go-url.js';
import { opaqueType } from './opaque.js';

const { STRING, BOOL } = CelScalar;
const U = opaqueType('kubernetes.URL');

/** url.ParseRequestURI's extra rules over url.Parse (the fragment aside: Kubernetes parses again with url.Parse). */
function parseRequestUri(s: string) {
  if (s === '') throw new Error('parse "": empty url');
  const parsed = parseUrl(s);
  if (!parsed.url.Scheme && !s.startsWith('/')) throw new Error(`parse ${JSON.stringify(s)}: invalid URI for request`);
  return parsed;
}

function toUrl(s: string) {
  try {
    return parseRequestUri(s);
  } catch (e) {
    throw new Error(`URL parse error during conversion from string: ${(e as Error).message}`);
  }
}

const parts = (v: unknown) => parseUrl(U.unwrap(v));
const part = (name: string, get: (p: ReturnType<typeof parseUrl>) => string) =>
  celMethod(name, U.type, [], STRING, function (this: unknown) {
    return get(parts(this));
  });

export const urlFuncs: CelFunc[] = [
  // Stored as url.String(): URL equality compares those, as Kubernetes' URL.Equal does.
  celFunc('url', [STRING], U.type, (s: string) => U.wrap(toUrl(s).text)),
  celFunc('isURL', [STRING], BOOL, (s: string) => {
    try {
      parseRequestUri(s);
      return true;
    } catch {
      return false;
    }
  }),
  part('getScheme', (p) => p.url.Scheme),
  part('getHost', (p) => p.url.Host),
  part('getHostname', (p) => p.hostname),
  part('getPort', (p) => p.port),
  part('getEscapedPath', (p) => escapedPath(p.url)),
  celMethod('getQuery', U.type, [], mapType(STRING, listType(STRING)), function (this: unknown) {
    return queryValues(parts(this).url.RawQuery);
  }),
];
