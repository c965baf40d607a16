// strings.render_template: Go's text/template run on the variables as OPA hands them over (a JSON round trip with
// json.Number, so a number is printed as written and, being a non-empty string to Go, is always true in {{if}}).
// Missing keys print "<no value>", which OPA rewrites to "<undefined>".
import { goSprintf, type GoValue } from './sprintf.js';
import { parseTemplate, TemplateError, type Arg, type Node, type Parsed, type Pipe } from './template-parse.js';
import { BuiltinError, type BuiltinTable } from './types.js';
import { str, typeOf } from './strings.js';

/** A number from the variables: Go's json.Number, a string type holding the number's text. */
class JsonNumber {
  constructor(readonly text: string) {}
}

/** A number written in the template: a Go untyped constant (int or float64). */
class Constant {
  constructor(
    readonly value: number,
    readonly isInt: boolean,
  ) {}
}

type Value = unknown;
const MISSING = Symbol('no value');

function fromJson(v: unknown): Value {
  if (typeof v === 'number' || typeof v === 'bigint') return new JsonNumber(String(v));
  if (Array.isArray(v)) return v.map(fromJson);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fromJson(x)]));
  return v;
}

const isMap = (v: Value): v is Record<string, Value> => !!v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof JsonNumber) && !(v instanceof Constant);

/** fmt's %v of a value. */
function show(v: Value, top = true): string {
  if (v === MISSING || (top && (v === null || v === undefined))) return '<no value>';
  if (v === null || v === undefined) return '<nil>';
  if (v instanceof JsonNumber) return v.text;
  if (v instanceof Constant) return v.isInt ? String(v.value) : goFloat(v.value);
  if (Array.isArray(v)) return `[${v.map((x) => show(x, false)).join(' ')}]`;
  if (isMap(v)) return `map[${Object.keys(v).sort().map((k) => `${k}:${show(v[k], false)}`).join(' ')}]`;
  return String(v);
}

const goFloat = (f: number) => goSprintf('%v', [{ t: 'float64', v: f }]);

/** Go's template truth: the zero value of its type is false (json.Number is a string: "0" is true). */
function truth(v: Value): boolean {
  if (v === MISSING || v === null || v === undefined || v === false || v === '') return false;
  if (v instanceof Constant) return v.value !== 0;
  if (v instanceof JsonNumber) return v.text !== '';
  if (Array.isArray(v)) return v.length > 0;
  if (isMap(v)) return Object.keys(v).length > 0;
  return true;
}

/** The basic kind Go's comparison functions see. */
function basic(v: Value): { kind: string; x: unknown } {
  if (v instanceof Constant) return { kind: v.isInt ? 'int' : 'float', x: v.value };
  if (v instanceof JsonNumber) return { kind: 'string', x: v.text };
  if (typeof v === 'string' || typeof v === 'boolean') return { kind: typeof v, x: v };
  throw new TemplateError(`invalid type for comparison`);
}

function compare(name: string, a: Value, b: Value): number {
  const x = basic(a);
  const y = basic(b);
  const numeric = (k: string) => k === 'int' || k === 'float';
  if (x.kind !== y.kind && !(numeric(x.kind) && numeric(y.kind))) throw new TemplateError('incompatible types for comparison');
  if (x.kind === 'boolean' && name !== 'eq' && name !== 'ne') throw new TemplateError('invalid type for comparison');
  return x.x! < y.x! ? -1 : x.x! > y.x! ? 1 : 0;
}

const goString = (v: Value) => (v instanceof JsonNumber ? v.text : typeof v === 'string' ? v : undefined);

/** fmt.Sprint: a space between operands when neither is a string. */
function sprint(args: Value[]): string {
  let out = '';
  args.forEach((a, i) => {
    if (i > 0 && goString(a) === undefined && goString(args[i - 1]) === undefined) out += ' ';
    out += show(a, false);
  });
  return out;
}

function printfArg(v: Value): GoValue {
  if (v instanceof Constant) return v.isInt ? { t: 'int64', v: BigInt(v.value) } : { t: 'float64', v: v.value };
  if (v instanceof JsonNumber) return { t: 'string', v: v.text, type: 'json.Number' };
  if (typeof v === 'boolean') return { t: 'bool', v };
  return { t: 'string', v: goString(v) ?? show(v, false) };
}

const escapes: Record<string, string> = { '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&#39;', '"': '&#34;', '\0': '\uFFFD' };

const functions: Record<string, (...a: Value[]) => Value> = {
  and: (...a) => a.find((x) => !truth(x)) ?? a.at(-1),
  or: (...a) => a.find(truth) ?? a.at(-1),
  not: (a) => !truth(a),
  len: (a) => {
    const s = goString(a);
    if (s !== undefined) return new Constant(Buffer.byteLength(s), true);
    if (Array.isArray(a)) return new Constant(a.length, true);
    if (isMap(a)) return new Constant(Object.keys(a).length, true);
    throw new TemplateError(`len of type ${typeOf(a)}`);
  },
  index: (a, ...keys) => keys.reduce((v, k) => {
    if (Array.isArray(v)) {
      const i = k instanceof Constant ? k.value : NaN;
      if (!Number.isInteger(i) || i < 0 || i >= v.length) throw new TemplateError(`error calling index: index out of range: ${show(k)}`);
      return v[i];
    }
    if (isMap(v)) return typeof k === 'string' ? (k in v ? v[k] : null) : (() => { throw new TemplateError('value has type int; should be string'); })();
    throw new TemplateError(`can't index item of type ${typeOf(v)}`);
  }, a),
  slice: (a, ...idx) => {
    const n = idx.map((i) => (i instanceof Constant && i.isInt ? i.value : NaN));
    const s = goString(a);
    const len = s !== undefined ? Buffer.byteLength(s) : Array.isArray(a) ? a.length : NaN;
    if (Number.isNaN(len)) throw new TemplateError(`can't slice item of type ${typeOf(a)}`);
    const [lo = 0, hi = len] = n;
    if (n.some(Number.isNaN) || lo < 0 || hi < lo || hi > len) throw new TemplateError(`error calling slice: index out of range: ${hi}`);
    return s !== undefined ? Buffer.from(s).subarray(lo, hi).toString() : (a as Value[]).slice(lo, hi);
  },
  print: (...a) => sprint(a),
  println: (...a) => a.map((x) => show(x, false)).join(' ') + '\n',
  printf: (f, ...a) => goSprintf(goString(f) ?? show(f), a.map(printfArg)),
  eq: (a, ...b) => b.some((x) => compare('eq', a, x) === 0),
  ne: (a, b) => compare('ne', a, b) !== 0,
  lt: (a, b) => compare('lt', a, b) < 0,
  le: (a, b) => compare('le', a, b) <= 0,
  gt: (a, b) => compare('gt', a, b) > 0,
  ge: (a, b) => compare('ge', a, b) >= 0,
  html: (...a) => sprint(a).replace(/[<>&'"\0]/g, (c) => escapes[c]!),
  urlquery: (...a) => encodeURIComponent(sprint(a)).replace(/%20/g, '+').replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`),
  js: (...a) => sprint(a).replace(/[\\'"<>&=\n\r\t]/g, (c) => ({ '\\': '\\\\', "'": "\\'", '"': '\\"', '\n': '\\n', '\r': '\\r', '\t': '\\t' })[c] ?? `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`),
};

class Stop {
  constructor(readonly kind: 'break' | 'continue') {}
}

class Exec {
  out = '';
  private vars: Array<[string, Value]> = [];
  constructor(private readonly parsed: Parsed) {}

  /** Binds $ to the data; returns it. */
  root(data: Value): Value {
    this.vars = [['$', data]];
    return data;
  }

  run(nodes: Node[], dot: Value): void {
    const mark = this.vars.length;
    for (const n of nodes) {
      switch (n.k) {
        case 'text':
          this.out += n.v;
          break;
        case 'action': {
          const v = this.pipe(n.pipe, dot);
          if (!n.pipe.decl.length) this.out += show(v);
          break;
        }
        case 'if':
        case 'with': {
          const v = this.pipe(n.pipe, dot);
          if (truth(v)) this.run(n.list, n.k === 'with' ? v : dot);
          else if (n.elseList) this.run(n.elseList, dot);
          break;
        }
        case 'range':
          this.range(n, dot);
          break;
        case 'template': {
          const body = this.parsed.defined.get(n.name);
          if (!body) throw new TemplateError(`no such template "${n.name}"`);
          const sub = new Exec(this.parsed);
          sub.run(body, sub.root(n.pipe ? this.pipe(n.pipe, dot) : null));
          this.out += sub.out;
          break;
        }
        case 'break':
        case 'continue':
          throw new Stop(n.k);
      }
    }
    this.vars.length = mark;
  }

  private range(n: { pipe: Pipe; list: Node[]; elseList?: Node[] }, dot: Value): void {
    const decl = n.pipe.decl;
    const v = this.pipe({ ...n.pipe, decl: [] }, dot);
    const items: Array<[Value, Value]> = Array.isArray(v)
      ? v.map((x, i) => [new Constant(i, true), x])
      : isMap(v)
        ? Object.keys(v).sort().map((k) => [k, v[k]])
        : v instanceof Constant && v.isInt
          ? [...Array(Math.max(0, v.value)).keys()].map((i) => [new Constant(i, true), new Constant(i, true)])
          : v === null || v === MISSING
            ? []
            : (() => {
                throw new TemplateError(`range can't iterate over ${show(v)}`);
              })();
    if (!items.length) {
      if (n.elseList) this.run(n.elseList, dot);
      return;
    }
    for (const [key, item] of items) {
      const mark = this.vars.length;
      if (decl.length === 1) this.vars.push([decl[0]!, item]);
      if (decl.length === 2) this.vars.push([decl[0]!, key], [decl[1]!, item]);
      try {
        this.run(n.list, item);
      } catch (e) {
        if (!(e instanceof Stop)) throw e;
        if (e.kind === 'break') break;
      } finally {
        this.vars.length = mark;
      }
    }
  }

  private pipe(p: Pipe, dot: Value): Value {
    let v: Value = MISSING;
    p.cmds.forEach((cmd, i) => {
      v = this.command(cmd, dot, i > 0 ? v : MISSING);
    });
    if (p.decl.length) {
      if (p.assign) {
        const slot = [...this.vars].reverse().find(([name]) => name === p.decl[0]);
        if (!slot) throw new TemplateError(`undefined variable: ${p.decl[0]}`);
        slot[1] = v;
      } else this.vars.push([p.decl[0]!, v]);
    }
    return v;
  }

  private command(cmd: Arg[], dot: Value, final: Value): Value {
    const [head, ...rest] = cmd;
    const args = (list: Arg[]) => [...list.map((a) => this.arg(a, dot)), ...(final === MISSING ? [] : [final])];
    if (head!.k === 'ident') {
      const f = functions[head!.name];
      if (!f) throw new TemplateError(`function "${head!.name}" not defined`);
      return f(...args(rest));
    }
    if (rest.length || final !== MISSING) throw new TemplateError(`can't give argument to non-function ${show(this.arg(head!, dot))}`);
    return this.arg(head!, dot);
  }

  private arg(a: Arg, dot: Value): Value {
    switch (a.k) {
      case 'dot':
        return dot;
      case 'nil':
        return null;
      case 'bool':
        return a.v;
      case 'str':
        return a.v;
      case 'num': {
        const clean = a.text.replaceAll('_', '');
        const n = /^[+-]?0[xXbBoO]/.test(clean) ? Number(clean.replace(/^([+-]?)0[oO]/, '$10o')) : Number(clean);
        return new Constant(n, Number.isInteger(n) && !/[.eE]/.test(clean.replace(/^[+-]?0[xX].*/, '')));
      }
      case 'field':
        return this.fields(dot, a.names);
      case 'var': {
        const slot = [...this.vars].reverse().find(([name]) => name === a.name);
        if (!slot) throw new TemplateError(`undefined variable: ${a.name}`);
        return this.fields(slot[1], a.names);
      }
      case 'pipe':
        return this.fields(this.pipe(a.pipe, dot), a.names);
      case 'ident':
        return functions[a.name] ? functions[a.name]!() : (() => { throw new TemplateError(`function "${a.name}" not defined`); })();
    }
  }

  private fields(v: Value, names: string[]): Value {
    return names.reduce<Value>((cur, name) => {
      // a missing key gives Go's zero value, printed "<no value>"; a field of null is an error
      if (cur === MISSING) return MISSING;
      if (cur === null) throw new TemplateError(`nil pointer evaluating interface {}.${name}`);
      if (!isMap(cur)) throw new TemplateError(`can't evaluate field ${name} in type ${typeOf(cur)}`);
      return name in cur ? cur[name] : MISSING;
    }, v);
  }
}

export const templateBuiltins: BuiltinTable = {
  'strings.render_template': (template, variables) => {
    const name = 'strings.render_template';
    const src = str(name, 1, template);
    if (!isMap(variables)) throw new BuiltinError(name, `operand 2 must be object but got ${typeOf(variables)}`);
    try {
      const parsed = parseTemplate(src);
      const exec = new Exec(parsed);
      exec.run(parsed.main, exec.root(fromJson(variables)));
      return exec.out.replaceAll('<no value>', '<undefined>');
    } catch (e) {
      if (e instanceof TemplateError) throw new BuiltinError(name, `template: template: ${e.message}`);
      throw e;
    }
  },
};
