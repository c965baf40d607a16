// Structured-data builtins: json.patch (RFC 6902), json.marshal_with_options, IPv4 CIDR expansion.
import net from 'node:net';
import { BuiltinError, type BuiltinTable } from './types.js';
import { str, typeOf } from './strings.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function pointer(name: string, path: unknown): string[] {
  if (Array.isArray(path)) return path.map(String);
  const p = str(name, 2, path);
  if (p === '') return [];
  if (!p.startsWith('/')) throw new BuiltinError(name, `invalid JSON pointer ${JSON.stringify(p)}`);
  return p.slice(1).split('/').map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'));
}

function parentOf(doc: Json, path: string[]): { parent: Json; key: string } | undefined {
  let cur: Json = doc;
  for (const k of path.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[Number(k)] as Json;
    else if (cur && typeof cur === 'object') cur = cur[k] as Json;
    else return undefined;
    if (cur === undefined) return undefined;
  }
  return { parent: cur, key: path[path.length - 1]! };
}

function get(doc: Json, path: string[]): Json | undefined {
  let cur: Json | undefined = doc;
  for (const k of path) {
    if (Array.isArray(cur)) cur = cur[Number(k)];
    else if (cur && typeof cur === 'object') cur = cur[k];
    else return undefined;
  }
  return cur;
}

/** Applies one RFC 6902 operation; returns the new document or undefined when the operation fails. */
function apply(doc: Json, op: Record<string, unknown>): Json | undefined {
  const path = pointer('json.patch', op.path);
  const add = (d: Json, p: string[], value: Json): Json | undefined => {
    if (!p.length) return value;
    const at = parentOf(d, p);
    if (!at) return undefined;
    if (Array.isArray(at.parent)) {
      const i = at.key === '-' ? at.parent.length : Number(at.key);
      if (!Number.isInteger(i) || i < 0 || i > at.parent.length) return undefined;
      at.parent.splice(i, 0, value);
    } else if (at.parent && typeof at.parent === 'object') at.parent[at.key] = value;
    else return undefined;
    return d;
  };
  const remove = (d: Json, p: string[]): Json | undefined => {
    const at = parentOf(d, p);
    if (!at || get(d, p) === undefined) return undefined;
    if (Array.isArray(at.parent)) at.parent.splice(Number(at.key), 1);
    else delete (at.parent as Record<string, Json>)[at.key];
    return d;
  };
  const copy = (v: Json | undefined): Json | undefined => (v === undefined ? undefined : structuredClone(v));
  switch (op.op) {
    case 'add':
      return add(doc, path, op.value as Json);
    case 'remove':
      return path.length ? remove(doc, path) : undefined;
    case 'replace': {
      if (!path.length) return op.value as Json;
      const removed = remove(doc, path);
      return removed === undefined ? undefined : add(removed, path, op.value as Json);
    }
    case 'move':
    case 'copy': {
      const from = pointer('json.patch', op.from);
      const value = copy(get(doc, from));
      if (value === undefined) return undefined;
      const base = op.op === 'move' ? remove(doc, from) : doc;
      return base === undefined ? undefined : add(base, path, value);
    }
    case 'test':
      return JSON.stringify(get(doc, path)) === JSON.stringify(op.value) ? doc : undefined;
    default:
      throw new BuiltinError('json.patch', `unknown operation ${JSON.stringify(op.op)}`);
  }
}

function ipv4ToInt(ip: string): bigint {
  return ip.split('.').reduce((n, o) => (n << 8n) | BigInt(Number(o)), 0n);
}

export const dataBuiltins: BuiltinTable = {
  'json.patch': (doc, patches) => {
    if (!Array.isArray(patches)) throw new BuiltinError('json.patch', `operand 2 must be array but got ${typeOf(patches)}`);
    let d: Json | undefined = structuredClone(doc) as Json;
    for (const p of patches) {
      if (!p || typeof p !== 'object') throw new BuiltinError('json.patch', 'a patch operation must be an object');
      d = apply(d as Json, p as Record<string, unknown>);
      if (d === undefined) return undefined;
    }
    return d;
  },
  'json.marshal_with_options': (value, opts) => {
    const o = (opts ?? {}) as { pretty?: boolean; indent?: string; prefix?: string };
    if (!o.pretty && o.indent === undefined && o.prefix === undefined) return JSON.stringify(value);
    const text = JSON.stringify(value, null, o.indent ?? '\t');
    return o.prefix ? text.split('\n').map((l) => o.prefix + l).join('\n') : text;
  },
  'net.cidr_expand': (c) => {
    const s = str('net.cidr_expand', 1, c);
    const [ip, bitsText] = s.split('/');
    const bits = Number(bitsText);
    if (net.isIPv4(ip ?? '') && Number.isInteger(bits) && bits >= 16 && bits <= 32) {
      const base = ipv4ToInt(ip!) & (((1n << 32n) - 1n) ^ ((1n << BigInt(32 - bits)) - 1n));
      const out: string[] = [];
      for (let i = 0n; i < 1n << BigInt(32 - bits); i++) {
        const n = base + i;
        out.push([24n, 16n, 8n, 0n].map((sh) => String((n >> sh) & 255n)).join('.'));
      }
      return out;
    }
    throw new BuiltinError('net.cidr_expand', `only IPv4 CIDRs of /16 or longer can be expanded here (got ${s})`);
  },
};
