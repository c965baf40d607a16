// uri.parse and uri.is_valid, after OPA's topdown/uri.go over Go's url.Parse (go-url.ts).
import { BuiltinError, type BuiltinTable } from './types.js';
import { str } from './strings.js';
import { parseUrl, UrlError } from './go-url.js';

export const uriBuiltins: BuiltinTable = {
  'uri.parse': (s) => {
    let parsed: ReturnType<typeof parseUrl>;
    try {
      parsed = parseUrl(str('uri.parse', 1, s));
    } catch (e) {
      if (e instanceof UrlError) throw new BuiltinError('uri.parse', e.message);
      throw e;
    }
    const { url, hostname, port } = parsed;
    const out: Record<string, string> = {};
    if (url.Scheme) out.scheme = url.Scheme;
    if (hostname) out.hostname = hostname;
    if (port) out.port = port;
    if (url.Path) {
      out.path = url.Path;
      out.raw_path = url.RawPath || url.Path;
    }
    if (url.RawQuery) out.raw_query = url.RawQuery;
    if (url.Fragment) out.fragment = url.Fragment;
    return out;
  },
  'uri.is_valid': (s) => {
    if (typeof s !== 'string' || s === '') return false;
    try {
      parseUrl(s);
      return true;
    } catch {
      return false;
    }
  },
};
