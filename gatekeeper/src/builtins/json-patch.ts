// json.patch as OPA does it (topdown/json.go over internal/edittree) on Rego values, so sets stay sets: a path is a
// JSON pointer string or an array of segments; a set's element is addressed by the element itself; array indexes
// are integers or "-" (the end, for add).
import { regoEqual, regoLiteral, type RegoTerm } from './rego-value.js';
import { BuiltinError } from './types.js';

const NAME = 'json.patch';
const fail = (message: string): never => {
  throw new BuiltinError(NAME, message);
};

type Obj = Extract<RegoTerm, { k: 'obj' }>;
const str = (v: string): RegoTerm => ({ k: 'str', v });
const field = (op: Obj, name: string) => op.entries.find(([k]) => k.k === 'str' && k.v === name)?.[1];

function parsePath(path: RegoTerm): RegoTerm[] {
  if (path.k === 'str') {
    if (path.v === '') return [];
    return path.v
      .replace(/^\/+/, '')
      .split('/')
      .map((p) => str(p.replaceAll('~1', '/').replaceAll('~0', '~')));
  }
  if (path.k === 'arr') return path.items;
  return fail(`operand 2 must be one of {set, array} containing string paths or array of path segments but got ${path.k === 'obj' ? 'object' : path.k}`);
}

/** edittree's toIndex: an integer, or a string holding one (no leading zeros), or "-" for the array's length. */
function toIndex(length: number, key: RegoTerm): number {
  if (key.k === 'num') return /^-?\d+$/.test(key.lit) ? Number(key.lit) : fail('invalid number type for indexing');
  if (key.k === 'str') {
    if (key.v === '-') return length;
    if (!/^-?\d+$/.test(key.v)) return fail('invalid string for indexing');
    if (key.v !== '0' && key.v.startsWith('0')) return fail('leading zeros are not allowed in JSON paths');
    return Number(key.v);
  }
  return fail('invalid type for indexing');
}

const clone = (t: RegoTerm): RegoTerm => structuredClone(t);

/** The node at path (the live node inside doc, not a copy). */
function walk(doc: RegoTerm, path: RegoTerm[]): RegoTerm {
  let node = doc;
  for (const key of path) {
    let next: RegoTerm | undefined;
    if (node.k === 'obj') next = node.entries.find(([k]) => regoEqual(k, key))?.[1];
    else if (node.k === 'set') next = node.items.find((x) => regoEqual(x, key));
    else if (node.k === 'arr') next = node.items[toIndex(node.items.length, key)];
    else return fail(`expected composite type for path ${regoLiteral(key)}, found value: ${regoLiteral(node)}`);
    if (next === undefined) return fail(`path ${regoLiteral(key)} does not exist in ${regoLiteral(node)}`);
    node = next;
  }
  return node;
}

function insert(parent: RegoTerm, key: RegoTerm, value: RegoTerm): void {
  if (parent.k === 'obj') {
    const at = parent.entries.findIndex(([k]) => regoEqual(k, key));
    if (at >= 0) parent.entries[at] = [key, value];
    else parent.entries.push([key, value]);
  } else if (parent.k === 'set') {
    if (!regoEqual(key, value)) fail(`set key ${regoLiteral(key)} does not equal value to be inserted ${regoLiteral(value)}`);
    if (!parent.items.some((x) => regoEqual(x, value))) parent.items.push(value);
  } else if (parent.k === 'arr') {
    const i = toIndex(parent.items.length, key);
    if (i < 0 || i > parent.items.length) fail('index for array insertion out of bounds');
    parent.items.splice(i, 0, value);
  } else fail(`expected composite type, found value: ${regoLiteral(parent)}`);
}

function remove(parent: RegoTerm, key: RegoTerm): void {
  if (parent.k === 'obj') {
    const at = parent.entries.findIndex(([k]) => regoEqual(k, key));
    if (at < 0) fail(`cannot delete child key ${regoLiteral(key)} that does not exist`);
    parent.entries.splice(at, 1);
  } else if (parent.k === 'set') {
    const at = parent.items.findIndex((x) => regoEqual(x, key));
    if (at < 0) fail(`cannot delete child key ${regoLiteral(key)} that does not exist`);
    parent.items.splice(at, 1);
  } else if (parent.k === 'arr') {
    const i = toIndex(parent.items.length, key);
    if (i < 0 || i > parent.items.length - 1) fail('index for array delete out of bounds');
    parent.items.splice(i, 1);
  } else fail(`expected composite type, found value: ${regoLiteral(parent)}`);
}

export function jsonPatch(doc: RegoTerm, operations: RegoTerm): RegoTerm {
  if (operations.k !== 'arr') return fail(`operand 2 must be array but got ${operations.k === 'obj' ? 'object' : operations.k}`);
  // undefined once the root itself is removed (a replace of "" puts a new one)
  let root: RegoTerm | undefined = clone(doc);
  const current = () => root ?? fail('deleted node encountered');
  const insertAt = (path: RegoTerm[], value: RegoTerm) => {
    if (!path.length) root = value;
    else insert(walk(current(), path.slice(0, -1)), path.at(-1)!, value);
  };
  const removeAt = (path: RegoTerm[]) => {
    const node = current();
    if (!path.length) root = undefined;
    else remove(walk(node, path.slice(0, -1)), path.at(-1)!);
  };
  for (const op of operations.items) {
    if (op.k !== 'obj') return fail('must be an array of JSON-Patch objects, but at least one element is not an object');
    const pathTerm = field(op, 'path') ?? fail("missing required attribute 'path'");
    const name = field(op, 'op') ?? fail("missing required attribute 'op'");
    if (name.k !== 'str') return fail(`attribute 'op' must be a string but found: ${name.k}`);
    const path = parsePath(pathTerm);
    const value = () => clone(field(op, 'value') ?? fail("missing required attribute 'value'"));
    const from = () => parsePath(field(op, 'from') ?? fail("missing required attribute 'from'"));
    switch (name.v) {
      case 'add':
        insertAt(path, value());
        break;
      case 'remove':
        removeAt(path);
        break;
      case 'replace':
        removeAt(path);
        insertAt(path, value());
        break;
      case 'move': {
        const source = from();
        const chunk = clone(walk(current(), source));
        removeAt(source);
        insertAt(path, chunk);
        break;
      }
      case 'copy': {
        insertAt(path, clone(walk(current(), from())));
        break;
      }
      case 'test': {
        const found = walk(current(), path);
        const want = value();
        if (!regoEqual(found, want)) fail(`value from EditTree != patch value.\n\nExpected: ${regoLiteral(want)}\n\nFound: ${regoLiteral(found)}`);
        break;
      }
      default:
        fail(`unrecognized op: '${name.v}'`);
    }
  }
  return current();
}
