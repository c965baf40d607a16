// Structured-data builtins: json.marshal_with_options (Go's encoding/json output), net.cidr_expand.
import { BuiltinError, type BuiltinTable } from './types.js';
import { formatIp, lastIp, parseCidr } from './ip.js';
import { str, typeOf } from './strings.js';

/** A cap on what net.cidr_expand lists, where Go would run until the query's deadline. */
const MAX_EXPANDED = 1 << 20;

/** Go's encoding/json string: HTML characters and U+2028/2029 escaped, invalid UTF-16 as U+FFFD. */
function goJsonString(s: string): string {
  return JSON.stringify(s).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** json.Marshal, or json.MarshalIndent(prefix, indent) when pretty: object keys sorted, as Go's map encoding. */
function goJson(v: unknown, pretty?: { prefix: string; indent: string }, depth = 0): string {
  const nl = pretty ? `\n${pretty.prefix}${pretty.indent.repeat(depth + 1)}` : '';
  const end = pretty ? `\n${pretty.prefix}${pretty.indent.repeat(depth)}` : '';
  if (Array.isArray(v)) {
    if (!v.length) return '[]';
    return `[${v.map((x) => nl + goJson(x, pretty, depth + 1)).join(',')}${end}]`;
  }
  if (v !== null && typeof v === 'object') {
    const keys = Object.keys(v).sort();
    if (!keys.length) return '{}';
    const sep = pretty ? ': ' : ':';
    return `{${keys.map((k) => `${nl}${goJsonString(k)}${sep}${goJson((v as Record<string, unknown>)[k], pretty, depth + 1)}`).join(',')}${end}}`;
  }
  if (typeof v === 'string') return goJsonString(v);
  if (typeof v === 'bigint') return v.toString();
  return JSON.stringify(v ?? null);
}

// keys are Rego strings to Go's %s, so they print quoted
const operand2 = (message: string) => new BuiltinError('json.marshal_with_options', `operand 2 ${message}`);

export const dataBuiltins: BuiltinTable = {
  'json.marshal_with_options': (value, opts) => {
    if (opts === null || typeof opts !== 'object' || Array.isArray(opts)) {
      throw new BuiltinError('json.marshal_with_options', `operand 2 must be object but got ${typeOf(opts)}`);
    }
    let indent = '\t';
    let prefix = '';
    let implicit = false;
    let explicit: boolean | undefined;
    for (const [key, val] of Object.entries(opts).sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (key === 'prefix' || key === 'indent') {
        if (typeof val !== 'string') throw operand2(`key ${JSON.stringify(key)} failed cast to string: operand ${Object.keys(opts).sort().indexOf(key)} must be string but got ${typeOf(val)}`);
        if (key === 'prefix') prefix = val;
        else indent = val;
        implicit = true;
      } else if (key === 'pretty') {
        if (typeof val !== 'boolean') throw operand2(`key ${JSON.stringify(key)} failed cast to bool`);
        explicit = val;
      } else throw operand2(`object contained unknown key ${JSON.stringify(key)}`);
    }
    return explicit ?? implicit ? prefix + goJson(value, { prefix, indent }) : goJson(value);
  },
  'net.cidr_expand': (c) => {
    const s = str('net.cidr_expand', 1, c);
    const net = parseCidr(s);
    if (!net) throw new BuiltinError('net.cidr_expand', `invalid CIDR address: ${s}`);
    const last = lastIp(net);
    if (last - net.ip >= BigInt(MAX_EXPANDED)) throw new BuiltinError('net.cidr_expand', `timed out before generating all IP addresses`);
    const out: string[] = [];
    for (let ip = net.ip; ip <= last; ip++) out.push(formatIp(ip));
    return out;
  },
};
