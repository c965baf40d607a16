// The parser of Go's text/template (text/template/parse) for strings.render_template: text, comments, trim markers,
// actions with pipelines (fields, variables, literals, functions, parentheses, `|`), if / else if / with / range
// (with else, break, continue), define / template / block. Anything else is a parse error, as in Go.

export class TemplateError extends Error {}

export type Arg =
  | { k: 'dot' }
  | { k: 'nil' }
  | { k: 'bool'; v: boolean }
  | { k: 'num'; text: string }
  | { k: 'str'; v: string }
  | { k: 'field'; names: string[] }
  | { k: 'var'; name: string; names: string[] }
  | { k: 'ident'; name: string }
  | { k: 'pipe'; pipe: Pipe; names: string[] };

export interface Pipe {
  decl: string[];
  assign: boolean;
  cmds: Arg[][];
}

export type Node =
  | { k: 'text'; v: string }
  | { k: 'action'; pipe: Pipe }
  | { k: 'if' | 'with' | 'range'; pipe: Pipe; list: Node[]; elseList?: Node[] }
  | { k: 'template'; name: string; pipe?: Pipe }
  | { k: 'break' | 'continue' };

type Tok = { t: 'word' | 'field' | 'var' | 'str' | 'num' | 'char' | 'op'; v: string };

const ident = /^[A-Za-z_][A-Za-z0-9_]*/;

/** The tokens of one action's text (between the delimiters, trim markers removed). */
function lexAction(s: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < s.length) {
    const rest = s.slice(i);
    const ws = /^\s+/.exec(rest);
    if (ws) {
      i += ws[0].length;
      continue;
    }
    let m: RegExpExecArray | null;
    if ((m = /^"(?:[^"\\\n]|\\.)*"/.exec(rest))) out.push({ t: 'str', v: JSON.parse(m[0].replace(/\\x([0-9a-fA-F]{2})/g, '\\u00$1').replace(/\\a/g, '\\u0007').replace(/\\v/g, '\\u000b')) as string });
    else if ((m = /^`[^`]*`/.exec(rest))) out.push({ t: 'str', v: m[0].slice(1, -1) });
    else if ((m = /^'(?:[^'\\]|\\.)'/.exec(rest))) out.push({ t: 'char', v: String(JSON.parse(`"${m[0].slice(1, -1).replace(/"/g, '\\"')}"`).codePointAt(0)) });
    else if ((m = /^[+-]?(?:0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][+-]?\d+)?)/.exec(rest)) && !/^\.[A-Za-z_]/.test(rest)) out.push({ t: 'num', v: m[0] });
    else if ((m = /^(?:\.[A-Za-z_][A-Za-z0-9_]*)+/.exec(rest))) out.push({ t: 'field', v: m[0] });
    else if ((m = /^\$[A-Za-z0-9_]*/.exec(rest))) out.push({ t: 'var', v: m[0] });
    else if ((m = ident.exec(rest))) out.push({ t: 'word', v: m[0] });
    else if ((m = /^(?::=|[=|(),.])/.exec(rest))) out.push({ t: 'op', v: m[0] });
    else throw new TemplateError(`unexpected ${JSON.stringify(rest[0])} in command`);
    i += m[0].length;
  }
  return out;
}

class Cursor {
  i = 0;
  constructor(readonly toks: Tok[]) {}
  peek(): Tok | undefined {
    return this.toks[this.i];
  }
  next(): Tok | undefined {
    return this.toks[this.i++];
  }
}

const fieldNames = (f: string) => f.slice(1).split('.');

/** A field chain right after an operand: `(…).a.b`, `$x.a`. */
function chain(c: Cursor): string[] {
  const t = c.peek();
  if (t?.t === 'field') {
    c.next();
    return fieldNames(t.v);
  }
  return [];
}

function operand(c: Cursor): Arg | undefined {
  const t = c.peek();
  if (!t) return undefined;
  if (t.t === 'op' && t.v === '(') {
    c.next();
    const p = pipeline(c, ')');
    return { k: 'pipe', pipe: p, names: chain(c) };
  }
  if (t.t === 'op' && t.v === '.') {
    c.next();
    return { k: 'dot' };
  }
  if (t.t === 'field') {
    c.next();
    return { k: 'field', names: fieldNames(t.v) };
  }
  if (t.t === 'var') {
    c.next();
    return { k: 'var', name: t.v, names: chain(c) };
  }
  if (t.t === 'str') {
    c.next();
    return { k: 'str', v: t.v };
  }
  if (t.t === 'num' || t.t === 'char') {
    c.next();
    return { k: 'num', text: t.v };
  }
  if (t.t === 'word') {
    c.next();
    if (t.v === 'true' || t.v === 'false') return { k: 'bool', v: t.v === 'true' };
    if (t.v === 'nil') return { k: 'nil' };
    return { k: 'ident', name: t.v };
  }
  return undefined;
}

/** A pipeline up to `end` (the action's end, or ")"). */
function pipeline(c: Cursor, end?: string): Pipe {
  const pipe: Pipe = { decl: [], assign: false, cmds: [] };
  const save = c.i;
  const vars: string[] = [];
  while (c.peek()?.t === 'var') {
    vars.push(c.next()!.v);
    const t = c.peek();
    if (t?.t === 'op' && t.v === ',' && vars.length === 1) {
      c.next();
      continue;
    }
    if (t?.t === 'op' && (t.v === ':=' || t.v === '=')) {
      c.next();
      pipe.decl = vars;
      pipe.assign = t.v === '=';
    }
    break;
  }
  if (!pipe.decl.length) c.i = save;
  let cmd: Arg[] = [];
  for (;;) {
    const t = c.peek();
    if (!t || (end && t.t === 'op' && t.v === end)) {
      if (end) {
        if (!t) throw new TemplateError('unclosed left paren');
        c.next();
      }
      break;
    }
    if (t.t === 'op' && t.v === '|') {
      c.next();
      if (!cmd.length) throw new TemplateError('missing command');
      pipe.cmds.push(cmd);
      cmd = [];
      continue;
    }
    const a = operand(c);
    if (!a) throw new TemplateError(`unexpected ${JSON.stringify(t.v)} in operand`);
    cmd.push(a);
  }
  if (!cmd.length) throw new TemplateError('missing value for command');
  pipe.cmds.push(cmd);
  return pipe;
}

interface Action {
  keyword?: string;
  toks: Cursor;
}

/** Splits the template into text and actions, applying trim markers and dropping comments. */
function split(src: string): Array<string | Action> {
  const parts: Array<string | Action> = [];
  let i = 0;
  let trimNext = false;
  while (i < src.length) {
    const open = src.indexOf('{{', i);
    let text = src.slice(i, open < 0 ? src.length : open);
    if (trimNext) text = text.replace(/^\s+/, '');
    if (open < 0) {
      if (text) parts.push(text);
      break;
    }
    const trimLeft = /^\{\{- /.test(src.slice(open)) || src.slice(open, open + 4) === '{{-\n' || src.slice(open, open + 4) === '{{-\t';
    if (trimLeft) text = text.replace(/\s+$/, '');
    if (text) parts.push(text);
    const bodyStart = open + (trimLeft ? 3 : 2);
    const close = closing(src, bodyStart);
    if (close < 0) throw new TemplateError('unclosed action');
    let body = src.slice(bodyStart, close);
    trimNext = /\s-$/.test(body);
    if (trimNext) body = body.slice(0, -2);
    i = close + 2;
    const trimmed = body.trim();
    if (trimmed.startsWith('/*')) {
      if (!trimmed.endsWith('*/')) throw new TemplateError('unclosed comment');
      continue;
    }
    const toks = new Cursor(lexAction(body));
    const first = toks.peek();
    const keywords = ['if', 'else', 'end', 'range', 'with', 'define', 'template', 'block', 'break', 'continue'];
    if (first?.t === 'word' && keywords.includes(first.v)) {
      toks.next();
      parts.push({ keyword: first.v, toks });
    } else parts.push({ toks });
  }
  return parts;
}

/** The index of the `}}` closing an action (strings and raw strings may hold braces). */
function closing(src: string, from: number): number {
  for (let i = from; i < src.length; i++) {
    const ch = src[i];
    if (ch === '"' || ch === '`' || ch === "'") {
      const q = ch;
      for (i++; i < src.length && src[i] !== q; i++) if (q !== '`' && src[i] === '\\') i++;
    } else if (ch === '}' && src[i + 1] === '}') return i;
  }
  return -1;
}

export interface Parsed {
  main: Node[];
  defined: Map<string, Node[]>;
}

export function parseTemplate(src: string): Parsed {
  const parts = split(src);
  const defined = new Map<string, Node[]>();
  let at = 0;
  const done = (a: Action) => {
    if (a.toks.peek()) throw new TemplateError(`unexpected ${JSON.stringify(a.toks.peek()!.v)} in ${a.keyword ?? 'command'}`);
  };
  const nameOf = (a: Action): string => {
    const t = a.toks.next();
    if (t?.t !== 'str') throw new TemplateError(`unexpected ${JSON.stringify(t?.v ?? 'end')} in ${a.keyword} clause`);
    return t.v;
  };
  // a list up to {{end}} or {{else}}; returns which one ended it
  const list = (inRange: boolean, top = false): { nodes: Node[]; end?: 'end' | 'else'; elseAction?: Action } => {
    const nodes: Node[] = [];
    while (at < parts.length) {
      const p = parts[at++]!;
      if (typeof p === 'string') {
        nodes.push({ k: 'text', v: p });
        continue;
      }
      switch (p.keyword) {
        case undefined:
          nodes.push({ k: 'action', pipe: pipeline(p.toks) });
          break;
        case 'end':
          done(p);
          if (top) throw new TemplateError('unexpected {{end}}');
          return { nodes, end: 'end' };
        case 'else':
          if (top) throw new TemplateError('unexpected {{else}}');
          return { nodes, end: 'else', elseAction: p };
        case 'if':
        case 'with':
        case 'range':
          nodes.push(control(p.keyword, p, inRange || p.keyword === 'range'));
          break;
        case 'break':
        case 'continue':
          if (!inRange) throw new TemplateError(`{{${p.keyword}}} outside {{range}}`);
          done(p);
          nodes.push({ k: p.keyword });
          break;
        case 'template': {
          const name = nameOf(p);
          nodes.push({ k: 'template', name, pipe: p.toks.peek() ? pipeline(p.toks) : undefined });
          break;
        }
        case 'define':
        case 'block': {
          const name = nameOf(p);
          const pipe = p.keyword === 'block' ? pipeline(p.toks) : (done(p), undefined);
          const body = list(false);
          if (body.end !== 'end') throw new TemplateError(`unexpected {{else}} in ${p.keyword}`);
          defined.set(name, body.nodes);
          if (p.keyword === 'block') nodes.push({ k: 'template', name, pipe });
          break;
        }
      }
    }
    if (!top) throw new TemplateError('unexpected EOF');
    return { nodes };
  };
  const control = (k: 'if' | 'with' | 'range', a: Action, inRange: boolean): Node => {
    const pipe = pipeline(a.toks);
    const body = list(inRange);
    const node: Node = { k, pipe, list: body.nodes };
    if (body.end === 'else') {
      const next = body.elseAction!.toks.peek();
      // {{else if …}} / {{else with …}}: a nested control sharing the one {{end}}
      if (next?.t === 'word' && (next.v === 'if' || next.v === 'with')) {
        body.elseAction!.toks.next();
        node.elseList = [control(next.v, body.elseAction!, inRange && k === 'range')];
      } else {
        done(body.elseAction!);
        const rest = list(inRange && k !== 'range');
        if (rest.end !== 'end') throw new TemplateError('expected end; found {{else}}');
        node.elseList = rest.nodes;
      }
    }
    return node;
  };
  const main = list(false, true).nodes;
  return { main, defined };
}
