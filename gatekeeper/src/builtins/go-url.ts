// Go's net/url Parse and URL.String (Go 1.26), for uri.parse / uri.is_valid and the URIs of x509 certificates. Go works
// on bytes: strings go through as UTF-8 bytes held in a latin1 string and come back as UTF-8.
import { parseIp } from './ip.js';

const enum Mode {
  Path = 1,
  PathSegment = 2,
  Host = 4,
  Zone = 8,
  UserPassword = 16,
  QueryComponent = 32,
  Fragment = 64,
}

const isAlnum = (c: string) => /^[a-zA-Z0-9]$/.test(c);
const isHex = (c: string | undefined) => c !== undefined && /^[0-9a-fA-F]$/.test(c);

/** Go's shouldEscape (gen_encoding_table.go). */
function shouldEscape(c: string, mode: Mode): boolean {
  if (isAlnum(c)) return false;
  if ((mode === Mode.Host || mode === Mode.Zone) && `!$&'()*+,;=:[]<>"`.includes(c)) return false;
  if ('-_.~'.includes(c)) return false;
  if ('$&+,/:;=?@'.includes(c)) {
    switch (mode) {
      case Mode.Path:
        return c === '?';
      case Mode.PathSegment:
        return '/;,?'.includes(c);
      case Mode.UserPassword:
        return '@/?:'.includes(c);
      case Mode.QueryComponent:
        return true;
      case Mode.Fragment:
        return false;
    }
  }
  if (mode === Mode.Fragment && '!()*'.includes(c)) return false;
  return true;
}

export class UrlError extends Error {}

/** Go's strconv.Quote for error messages, on the byte string (UTF-8 sequences pass through). */
function quote(s: string): string {
  const named: Record<string, string> = { '\x07': '\\a', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\v': '\\v', '"': '\\"', '\\': '\\\\' };
  let out = '"';
  for (const c of s) {
    const code = c.charCodeAt(0);
    if (named[c]) out += named[c];
    else if (code < 0x20 || code === 0x7f) out += '\\x' + code.toString(16).padStart(2, '0');
    else out += c;
  }
  return out + '"';
}

const unhex = (c: string) => parseInt(c, 16);

function unescape(s: string, mode: Mode): string {
  let n = 0;
  let hasPlus = false;
  for (let i = 0; i < s.length; ) {
    const c = s[i]!;
    if (c === '%') {
      n++;
      if (i + 2 >= s.length || !isHex(s[i + 1]) || !isHex(s[i + 2])) throw new UrlError(`invalid URL escape ${quote(s.slice(i, i + 3))}`);
      const v = unhex(s[i + 1]!) * 16 + unhex(s[i + 2]!);
      if (mode === Mode.Host && unhex(s[i + 1]!) < 8 && s.slice(i, i + 3) !== '%25') throw new UrlError(`invalid URL escape ${quote(s.slice(i, i + 3))}`);
      if (mode === Mode.Zone && s.slice(i, i + 3) !== '%25' && v !== 0x20 && shouldEscape(String.fromCharCode(v), Mode.Host)) {
        throw new UrlError(`invalid URL escape ${quote(s.slice(i, i + 3))}`);
      }
      i += 3;
    } else if (c === '+') {
      hasPlus = mode === Mode.QueryComponent;
      i++;
    } else {
      if ((mode === Mode.Host || mode === Mode.Zone) && c.charCodeAt(0) < 0x80 && shouldEscape(c, mode)) {
        throw new UrlError(`invalid character ${quote(c)} in host name`);
      }
      i++;
    }
  }
  if (n === 0 && !hasPlus) return s;
  let t = '';
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '%') {
      t += String.fromCharCode(unhex(s[i + 1]!) * 16 + unhex(s[i + 2]!));
      i += 2;
    } else if (s[i] === '+') t += mode === Mode.QueryComponent ? ' ' : '+';
    else t += s[i];
  }
  return t;
}

function escape(s: string, mode: Mode): string {
  let t = '';
  for (const c of s) {
    if (c === ' ' && mode === Mode.QueryComponent) t += '+';
    else if (shouldEscape(c, mode)) t += '%' + c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0');
    else t += c;
  }
  return t;
}

/** url.URL as Go's encoding/json prints it (User: null, or {} since Userinfo's fields are unexported). */
export interface GoUrl {
  Scheme: string;
  Opaque: string;
  User: Record<string, never> | null;
  Host: string;
  Path: string;
  Fragment: string;
  RawQuery: string;
  RawPath: string;
  RawFragment: string;
  ForceQuery: boolean;
  OmitHost: boolean;
}

interface Parsed {
  url: GoUrl;
  user?: { username: string; password?: string };
}

function getScheme(raw: string): [string, string] {
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (/[a-zA-Z]/.test(c)) continue;
    if (/[0-9+.-]/.test(c)) {
      if (i === 0) return ['', raw];
      continue;
    }
    if (c === ':') {
      if (i === 0) throw new UrlError('missing protocol scheme');
      return [raw.slice(0, i), raw.slice(i + 1)];
    }
    return ['', raw];
  }
  return ['', raw];
}

const validOptionalPort = (port: string) => port === '' || /^:[0-9]*$/.test(port);

function validUserinfo(s: string): boolean {
  return [...Buffer.from(s, 'latin1').toString('utf8')].every((r) => /[A-Za-z0-9]/.test(r) || "-._:~!$&'()*+,;=%@".includes(r));
}

function parseHost(scheme: string, host: string): string {
  const open = host.lastIndexOf('[');
  if (open > 0) throw new UrlError('invalid IP-literal');
  if (open === 0) {
    const close = host.lastIndexOf(']');
    if (close < 0) throw new UrlError("missing ']' in host");
    const colonPort = host.slice(close + 1);
    if (!validOptionalPort(colonPort)) throw new UrlError(`invalid port ${quote(colonPort)} after host`);
    const port = unescape(colonPort, Mode.Host);
    const hostname = host.slice(1, close);
    const zone = hostname.indexOf('%25');
    const unescaped = zone >= 0 ? unescape(hostname.slice(0, zone), Mode.Host) + unescape(hostname.slice(zone), Mode.Zone) : unescape(hostname, Mode.Host);
    const addr = unescaped.replace(/%.*$/, '');
    const ip = addr.includes(':') ? parseIp(addr) : undefined;
    if (!addr.includes(':')) {
      if (parseIp(addr) !== undefined) throw new UrlError('invalid IP-literal');
      throw new UrlError(`invalid host: ParseAddr(${quote(unescaped)}): unable to parse IP`);
    }
    if (ip === undefined) throw new UrlError(`invalid host: ParseAddr(${quote(unescaped)}): invalid IPv6 address`);
    return `[${unescaped}]${port}`;
  }
  const first = host.indexOf(':');
  if (first !== -1) {
    const last = host.lastIndexOf(':');
    // urlstrictcolons: http(s) hosts keep the first colon (so extra colons make the port invalid)
    const i = last !== first && scheme !== 'http' && scheme !== 'https' ? last : first;
    const colonPort = host.slice(i);
    if (!validOptionalPort(colonPort)) throw new UrlError(`invalid port ${quote(colonPort)} after host`);
  }
  return unescape(host, Mode.Host);
}

function parseAuthority(scheme: string, authority: string): [Parsed['user'], string] {
  const at = authority.lastIndexOf('@');
  const host = parseHost(scheme, at < 0 ? authority : authority.slice(at + 1));
  if (at < 0) return [undefined, host];
  const userinfo = authority.slice(0, at);
  if (!validUserinfo(userinfo)) throw new UrlError('net/url: invalid userinfo');
  const colon = userinfo.indexOf(':');
  if (colon < 0) return [{ username: unescape(userinfo, Mode.UserPassword) }, host];
  return [{ username: unescape(userinfo.slice(0, colon), Mode.UserPassword), password: unescape(userinfo.slice(colon + 1), Mode.UserPassword) }, host];
}

function parseNoFragment(raw: string): Parsed {
  if ([...raw].some((c) => c < ' ' || c === '\x7f')) throw new UrlError('net/url: invalid control character in URL');
  const url: GoUrl = { Scheme: '', Opaque: '', User: null, Host: '', Path: '', Fragment: '', RawQuery: '', RawPath: '', RawFragment: '', ForceQuery: false, OmitHost: false };
  if (raw === '*') {
    url.Path = '*';
    return { url };
  }
  let [scheme, rest] = getScheme(raw);
  url.Scheme = scheme.toLowerCase();
  if (rest.endsWith('?') && rest.split('?').length === 2) {
    url.ForceQuery = true;
    rest = rest.slice(0, -1);
  } else {
    const q = rest.indexOf('?');
    if (q >= 0) [rest, url.RawQuery] = [rest.slice(0, q), rest.slice(q + 1)];
  }
  if (!rest.startsWith('/')) {
    if (url.Scheme !== '') {
      url.Opaque = rest;
      return { url };
    }
    if (rest.split('/')[0]!.includes(':')) throw new UrlError('first path segment in URL cannot contain colon');
  }
  let user: Parsed['user'];
  if ((url.Scheme !== '' || !rest.startsWith('///')) && rest.startsWith('//')) {
    let authority = rest.slice(2);
    rest = '';
    const slash = authority.indexOf('/');
    if (slash >= 0) [authority, rest] = [authority.slice(0, slash), authority.slice(slash)];
    [user, url.Host] = parseAuthority(url.Scheme, authority);
    if (user) url.User = {};
  } else if (url.Scheme !== '' && rest.startsWith('/')) url.OmitHost = true;
  url.Path = unescape(rest, Mode.Path);
  url.RawPath = escape(url.Path, Mode.Path) === rest ? '' : rest;
  return { url, user };
}

function parseBytes(raw: string): Parsed {
  const hash = raw.indexOf('#');
  const [u, frag] = hash < 0 ? [raw, ''] : [raw.slice(0, hash), raw.slice(hash + 1)];
  let parsed: Parsed;
  try {
    parsed = parseNoFragment(u);
  } catch (e) {
    if (e instanceof UrlError) throw new UrlError(`parse ${quote(u)}: ${e.message}`);
    throw e;
  }
  if (frag === '') return parsed;
  try {
    parsed.url.Fragment = unescape(frag, Mode.Fragment);
  } catch (e) {
    if (e instanceof UrlError) throw new UrlError(`parse ${quote(raw)}: ${e.message}`);
    throw e;
  }
  parsed.url.RawFragment = escape(parsed.url.Fragment, Mode.Fragment) === frag ? '' : frag;
  return parsed;
}

const toBytes = (s: string) => Buffer.from(s, 'utf8').toString('latin1');
const fromBytes = (s: string) => Buffer.from(s, 'latin1').toString('utf8');

function validEncoded(s: string, mode: Mode): boolean {
  return [...s].every((c) => "!$&'()*+,;=:@[]%".includes(c) || !shouldEscape(c, mode));
}

/** Go's URL.String(). */
function urlString({ url: u, user }: Parsed): string {
  let buf = '';
  if (u.Scheme) buf += u.Scheme + ':';
  if (u.Opaque) buf += u.Opaque;
  else {
    if (u.Scheme || u.Host || user) {
      if (!(u.OmitHost && u.Host === '' && !user)) {
        if (u.Host || u.Path || user) buf += '//';
        if (user) buf += escape(user.username, Mode.UserPassword) + (user.password !== undefined ? ':' + escape(user.password, Mode.UserPassword) : '') + '@';
        if (u.Host) buf += escape(u.Host, Mode.Host);
      }
    }
    const path = escapedPathBytes(u.Path, u.RawPath);
    if (path !== '' && path[0] !== '/' && u.Host !== '') buf += '/';
    if (buf === '' && path.split('/')[0]!.includes(':')) buf += './';
    buf += path;
  }
  if (u.ForceQuery || u.RawQuery) buf += '?' + u.RawQuery;
  if (u.Fragment) {
    const f = u.RawFragment && validEncoded(u.RawFragment, Mode.Fragment) && safeUnescape(u.RawFragment, Mode.Fragment) === u.Fragment ? u.RawFragment : escape(u.Fragment, Mode.Fragment);
    buf += '#' + f;
  }
  return buf;
}

function safeUnescape(s: string, mode: Mode): string | undefined {
  try {
    return unescape(s, mode);
  } catch {
    return undefined;
  }
}

const mapStrings = (u: GoUrl): GoUrl =>
  Object.fromEntries(Object.entries(u).map(([k, v]) => [k, typeof v === 'string' ? fromBytes(v) : v])) as unknown as GoUrl;

/** Go's url.Parse: the URL (as its JSON) and its String(); throws UrlError with Go's message. */
export function parseUrl(raw: string): { url: GoUrl; text: string; hostname: string; port: string } {
  try {
    const parsed = parseBytes(toBytes(raw));
    const host = parsed.url.Host;
    const colon = host.lastIndexOf(':');
    let [hostname, port] = colon !== -1 && validOptionalPort(host.slice(colon)) ? [host.slice(0, colon), host.slice(colon + 1)] : [host, ''];
    if (hostname.startsWith('[') && hostname.endsWith(']')) hostname = hostname.slice(1, -1);
    return { url: mapStrings(parsed.url), text: fromBytes(urlString(parsed)), hostname: fromBytes(hostname), port };
  } catch (e) {
    if (e instanceof UrlError) throw new UrlError(fromBytes(e.message));
    throw e;
  }
}

/** Go's URL.EscapedPath on byte strings. */
function escapedPathBytes(path: string, rawPath: string): string {
  if (rawPath && validEncoded(rawPath, Mode.Path) && safeUnescape(rawPath, Mode.Path) === path) return rawPath;
  return path === '*' ? '*' : escape(path, Mode.Path);
}

/** Go's URL.EscapedPath, for a URL parseUrl returned. */
export function escapedPath(u: GoUrl): string {
  return fromBytes(escapedPathBytes(toBytes(u.Path), toBytes(u.RawPath)));
}

/** Go's URL.Query (url.ParseQuery, malformed pairs skipped): the values of each key, in order. */
export function queryValues(rawQuery: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const pair of toBytes(rawQuery).split('&')) {
    if (!pair || pair.includes(';')) continue;
    const eq = pair.indexOf('=');
    const key = safeUnescape(eq < 0 ? pair : pair.slice(0, eq), Mode.QueryComponent);
    const value = safeUnescape(eq < 0 ? '' : pair.slice(eq + 1), Mode.QueryComponent);
    if (key === undefined || value === undefined) continue;
    const k = fromBytes(key);
    if (!out.has(k)) out.set(k, []);
    out.get(k)!.push(fromBytes(value));
  }
  return out;
}
