// One instantiated template module. We instantiate the wasm ourselves, with our own import table, and drive OPA's wasm
// ABI (https://www.openpolicyagent.org/docs/wasm) directly, as the SDK's LoadedPolicy does.
// Why not loadPolicy(bytes, mem, customBuiltins): the SDK looks its own builtin table up first, so its sprintf
// (sprintf-js: arrays as "a,b", objects as "[object Object]", throws on null) would shadow ours, and it has no way to
// turn a builtin's exception into anything but an aborted evaluation. Owning opa_builtinN keeps the SDK untouched, lets
// sprintf read its arguments as Rego values (opa_value_dump keeps sets and number literals, which JSON loses), and
// reports which builtin failed. Owning evaluation too lets several modules share one parse of a review (shared-input.ts).
import {
  BuiltinError,
  hostBuiltins,
  parseRegoValue,
  regoLiteral,
  RegoSetArg,
  setArgBuiltins,
  setResultBuiltins,
  termBuiltins,
  type EvalContext,
} from '../builtins/index.js';
import { termToJs, type RegoTerm } from '../builtins/rego-value.js';

interface OpaExports {
  builtins(): number;
  entrypoints(): number;
  opa_json_dump(addr: number): number;
  opa_value_dump(addr: number): number;
  opa_json_parse(addr: number, len: number): number;
  opa_value_parse(addr: number, len: number): number;
  opa_malloc(len: number): number;
  opa_heap_ptr_get(): number;
  opa_heap_ptr_set(addr: number): void;
  opa_eval(reserved: number, entrypoint: number, data: number, input: number, inputLen: number, heap: number, format: number): number;
  opa_eval_ctx_new(): number;
  opa_eval_ctx_set_input(ctx: number, value: number): void;
  opa_eval_ctx_set_data(ctx: number, value: number): void;
  opa_eval_ctx_set_entrypoint(ctx: number, entrypoint: number): void;
  opa_eval_ctx_get_result(ctx: number): number;
  eval(ctx: number): number;
  opa_value_add_path(base: number, path: number, value: number): number;
  opa_wasm_abi_version?: WebAssembly.Global;
  opa_wasm_abi_minor_version?: WebAssembly.Global;
}

/**
 * A value parsed once, in one module, and copied byte for byte into others at the same address: `image` holds the
 * heap from `base` to `end`, `root` the input object and `path` the array ["parameters"], both parsed within it.
 * Every pointer inside points inside it but those to `true` and `false`: the compiler interns them in each module's
 * data section, so the slots holding them are listed and rewritten with the target module's addresses.
 */
export interface SharedInput {
  base: number;
  end: number;
  root: number;
  path: number;
  image: Uint8Array;
  trueSlots: number[];
  falseSlots: number[];
}

// opa_value type tags and struct layouts (wasm/src/value.h, 32-bit pointers), read by booleanSlots.
const OPA_ARRAY = 5;
const OPA_OBJECT = 6;
const OPA_BOOLEAN_INTERNED = 9;
const OPA_MAX_TYPE = 9;

const PAGE = 65536;

export const DEFAULT_MAX_MEMORY_MIB = 1024;

/** Shared by every instance: the evaluation under way (single-threaded, evaluations never interleave). */
let current: EvalContext = {};
const table = hostBuiltins(() => current);

/** Builtins a compiled module imports from the host that this engine does not implement. */
export function missingBuiltins(names: string[]): string[] {
  return names.filter((n) => !(n in termBuiltins) && !(n in table));
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** JSON text for a builtin result; bigints (nanosecond times, big byte counts) stay exact. */
function toJson(v: unknown): string {
  if (typeof v === 'bigint') return v.toString();
  if (Array.isArray(v)) return `[${v.map(toJson).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.entries(v)
      .filter(([, x]) => x !== undefined)
      .map(([k, x]) => `${JSON.stringify(k)}:${toJson(x)}`)
      .join(',')}}`;
  }
  return JSON.stringify(v ?? null);
}

export class TemplateModule {
  private dataAddr: number;
  private dataHeapPtr: number;

  private constructor(
    private readonly exports: OpaExports,
    private readonly memory: WebAssembly.Memory,
    readonly entrypoint: number,
    readonly builtinNames: string[],
    /** Where the heap starts with no data loaded: setData replaces what lies above it. */
    private readonly baseHeapPtr: number,
    emptyData: number,
    /** Addresses of this module's interned true and false (see SharedInput). */
    private readonly interned: { true: number; false: number },
  ) {
    this.dataAddr = emptyData;
    this.dataHeapPtr = baseHeapPtr;
  }

  /** maxMemoryMiB caps the module's linear memory (inventory copy + evaluation heap); past it evaluation fails. */
  static async instantiate(module: WebAssembly.Module, entrypointName: string, maxMemoryMiB = DEFAULT_MAX_MEMORY_MIB): Promise<TemplateModule> {
    const memory = new WebAssembly.Memory({ initial: 5, maximum: Math.max(5, Math.floor(maxMemoryMiB * 16)) });
    const names: string[] = [];
    let exports: OpaExports | undefined;

    const readString = (addr: number): string => {
      const bytes = new Uint8Array(memory.buffer);
      const end = bytes.indexOf(0, addr);
      return decoder.decode(bytes.subarray(addr, end < 0 ? bytes.length : end));
    };
    const load = (text: string, as: 'json' | 'rego' = 'json'): number => {
      const buf = encoder.encode(text);
      const addr = exports!.opa_malloc(buf.length);
      new Uint8Array(memory.buffer).set(buf, addr);
      const parsed = as === 'json' ? exports!.opa_json_parse(addr, buf.length) : exports!.opa_value_parse(addr, buf.length);
      if (!parsed) throw new Error('failed to load a builtin result into the policy');
      return parsed;
    };
    // A set result arrives as a JSON array of its elements; JSON has no sets, so it goes in as a Rego set literal.
    const loadResult = (name: string, result: unknown): number =>
      setResultBuiltins.has(name) && Array.isArray(result)
        ? load(result.length ? `{${result.map(toJson).join(',')}}` : 'set()', 'rego')
        : load(toJson(result));
    // As OPA without strict builtin errors (what Gatekeeper runs): a builtin that fails makes its call undefined.
    const call = (id: number, ...addrs: number[]): number => {
      const name = names[id] ?? `#${id}`;
      try {
        return callBuiltin(name, addrs);
      } catch (e) {
        const err = e instanceof BuiltinError ? e : new BuiltinError(name, (e as Error)?.message ?? String(e));
        if (current.strictBuiltinErrors) throw err;
        (current.builtinErrors ??= []).push(err);
        return 0;
      }
    };
    const callBuiltin = (name: string, addrs: number[]): number => {
      const regoArg = (a: number) => parseRegoValue(readString(exports!.opa_value_dump(a)));
      const onTerms = termBuiltins[name];
      if (onTerms) {
        const result = onTerms(...addrs.map(regoArg));
        return result === undefined ? 0 : load(regoLiteral(result), 'rego');
      }
      const impl = table[name];
      if (!impl) throw new BuiltinError(name, 'this builtin is not provided by the engine');
      // time.* take nanoseconds beyond 2^53: read their arguments as Rego values to keep every digit
      const args = name.startsWith('time.')
        ? addrs.map((a) => termToJs(regoArg(a)))
        : setArgBuiltins.has(name)
          ? addrs.map((a) => {
              const t = regoArg(a);
              return t.k === 'set' ? new RegoSetArg(t.items.map(termToJs)) : termToJs(t);
            })
          : addrs.map((a) => JSON.parse(readString(exports!.opa_json_dump(a))) as unknown);
      const result = impl(...args);
      return result === undefined ? 0 : loadResult(name, result);
    };

    const instance = await WebAssembly.instantiate(module, {
      env: {
        memory,
        opa_abort: (addr: number) => {
          throw new Error(`policy aborted: ${readString(addr)}`);
        },
        opa_println: () => {},
        opa_builtin0: (id: number) => call(id),
        opa_builtin1: (id: number, _ctx: number, a: number) => call(id, a),
        opa_builtin2: (id: number, _ctx: number, a: number, b: number) => call(id, a, b),
        opa_builtin3: (id: number, _ctx: number, a: number, b: number, c: number) => call(id, a, b, c),
        opa_builtin4: (id: number, _ctx: number, a: number, b: number, c: number, d: number) => call(id, a, b, c, d),
      },
    });
    exports = instance.exports as unknown as OpaExports;
    const abi = exports.opa_wasm_abi_version?.value as number | undefined;
    const minor = exports.opa_wasm_abi_minor_version?.value as number | undefined;
    // 1.2 added opa_eval (one call per evaluation, input as JSON text), which evaluate() uses.
    if (abi !== 1 || minor === undefined || minor < 2) throw new Error(`unsupported OPA wasm ABI version ${String(abi)}.${String(minor)} (1.2 or later needed)`);
    const ids = JSON.parse(readString(exports.opa_json_dump(exports.builtins()))) as Record<string, number>;
    for (const [name, id] of Object.entries(ids)) names[id] = name;
    const entrypoints = JSON.parse(readString(exports.opa_json_dump(exports.entrypoints()))) as Record<string, number>;
    const ep = entrypoints[entrypointName];
    if (ep === undefined) throw new Error(`the compiled policy has no entrypoint ${entrypointName}`);

    const parse = (json: string) => {
      const buf = encoder.encode(json);
      const addr = exports!.opa_malloc(buf.length);
      new Uint8Array(memory.buffer).set(buf, addr);
      return exports!.opa_json_parse(addr, buf.length);
    };
    const emptyData = parse('{}');
    const interned = { true: parse('true'), false: parse('false') };
    return new TemplateModule(exports, memory, ep, Object.keys(ids), exports.opa_heap_ptr_get(), emptyData, interned);
  }

  /** Replaces the module's `data` (the inventory), given as JSON bytes or a value; evaluation heaps start above it. */
  setData(data: ArrayBuffer | Uint8Array | object): void {
    const json = data instanceof Uint8Array ? data : data instanceof ArrayBuffer ? new Uint8Array(data) : encoder.encode(JSON.stringify(data));
    this.exports.opa_heap_ptr_set(this.baseHeapPtr);
    this.dataAddr = this.parse(json);
    this.dataHeapPtr = this.exports.opa_heap_ptr_get();
  }

  /** Evaluates with input given as JSON bytes; returns the entrypoint's value (undefined when undefined). */
  evaluate(input: Uint8Array | ArrayBuffer, ctx: EvalContext = {}): unknown {
    return this.resultOf(this.run(input, ctx, false));
  }

  /** As evaluate, the value as a Rego value (sets stay sets); undefined when undefined. */
  evaluateTerm(input: Uint8Array | ArrayBuffer, ctx: EvalContext = {}): RegoTerm | undefined {
    const rs = parseRegoValue(this.readString(this.run(input, ctx, true)));
    const row = rs.k === 'set' || rs.k === 'arr' ? rs.items[0] : undefined;
    return row?.k === 'obj' ? row.entries.find(([k]) => k.k === 'str' && k.v === 'result')?.[1] : undefined;
  }

  /** opa_eval on input text; returns the address of the result set's dump (Rego text with asValue, else JSON). */
  private run(input: Uint8Array | ArrayBuffer, ctx: EvalContext, asValue: boolean): number {
    const bytes = input instanceof Uint8Array ? input : new Uint8Array(input);
    current = ctx;
    try {
      // As the SDK does: the input text at the heap start, the evaluation heap right after it; opa_eval parses it.
      const addr = this.dataHeapPtr;
      if (!this.reserve(addr + bytes.length)) throw new Error('the input does not fit in the module memory');
      new Uint8Array(this.memory.buffer).set(bytes, addr);
      return this.exports.opa_eval(0, this.entrypoint, this.dataAddr, addr, bytes.length, addr + bytes.length, asValue ? 1 : 0);
    } finally {
      current = {};
    }
  }

  /** Where this module's evaluation heap starts: a shared input must lie at or above it. */
  get heapStart(): number {
    return this.dataHeapPtr;
  }

  /** Whether the memory reaches `end`, growing it if needed (false past the module's memory cap). */
  reserve(end: number): boolean {
    const missing = end - this.memory.buffer.byteLength;
    if (missing <= 0) return true;
    try {
      this.memory.grow(Math.ceil(missing / PAGE));
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Parses `{"review": …}` (given as JSON text) into this module's heap at `base`, with the path ["parameters"], and
   * keeps a copy of those bytes for evaluateShared. base must be at or above heapStart and reserve(base + len) true.
   */
  parseShared(base: number, json: Uint8Array): SharedInput {
    this.exports.opa_heap_ptr_set(base);
    const root = this.parse(json);
    const path = this.parse(PARAMETERS_PATH);
    const end = this.exports.opa_heap_ptr_get();
    const { trueSlots, falseSlots } = this.booleanSlots(root, base, end);
    return { base, end, root, path, image: new Uint8Array(this.memory.buffer, base, end - base).slice(), trueSlots, falseSlots };
  }

  /**
   * The slots of a parsed JSON value (in [base, end)) that point at an interned boolean. Throws on anything else
   * pointing outside that range, or on a type tag JSON cannot produce: then the value is not shared.
   */
  private booleanSlots(root: number, base: number, end: number): { trueSlots: number[]; falseSlots: number[] } {
    const view = new DataView(this.memory.buffer);
    const u32 = (addr: number) => view.getUint32(addr, true);
    const inside = (addr: number, size: number) => addr >= base && addr + size <= end;
    const trueSlots: number[] = [];
    const falseSlots: number[] = [];
    const pending = [root];
    const slot = (at: number) => {
      const v = u32(at);
      const type = view.getUint8(v);
      if (type === OPA_BOOLEAN_INTERNED) (view.getUint8(v + 1) ? trueSlots : falseSlots).push(at);
      else if (!inside(v, 2) || type === 0 || type > OPA_MAX_TYPE) throw new Error(`unexpected value at ${v}`);
      else if (type === OPA_ARRAY || type === OPA_OBJECT) pending.push(v);
    };
    for (let v = pending.pop(); v !== undefined; v = pending.pop()) {
      if (!inside(v, 16)) throw new Error(`unexpected collection at ${v}`);
      if (view.getUint8(v) === OPA_ARRAY) {
        // opa_array_t {hdr, elems, len, cap}; opa_array_elem_t {i, v}
        const elems = u32(v + 4);
        const len = u32(v + 8);
        if (len && !inside(elems, len * 8)) throw new Error(`unexpected array at ${v}`);
        for (let i = 0; i < len; i++) slot(elems + i * 8 + 4);
      } else {
        // opa_object_t {hdr, buckets, n, len}; opa_object_elem_t {k, v, next}
        const buckets = u32(v + 4);
        const n = u32(v + 8);
        if (!inside(buckets, n * 4)) throw new Error(`unexpected object at ${v}`);
        for (let i = 0; i < n; i++) {
          for (let e = u32(buckets + i * 4); e !== 0; e = u32(e + 8)) {
            if (!inside(e, 12)) throw new Error(`unexpected object element at ${e}`);
            slot(e + 4);
          }
        }
      }
    }
    return { trueSlots, falseSlots };
  }

  /**
   * Evaluates with input {"parameters": params, "review": <the shared review>}: the shared bytes are copied to the
   * same address here (opa_malloc's blocks hold absolute addresses), the parameters parsed and added to the root.
   */
  evaluateShared(shared: SharedInput, params: Uint8Array, ctx: EvalContext = {}): unknown {
    current = ctx;
    try {
      this.place(shared);
      const x = this.exports;
      if (x.opa_value_add_path(shared.root, shared.path, this.parse(params)) !== 0) throw new Error('could not add the parameters to the input');
      const c = x.opa_eval_ctx_new();
      x.opa_eval_ctx_set_input(c, shared.root);
      x.opa_eval_ctx_set_data(c, this.dataAddr);
      x.opa_eval_ctx_set_entrypoint(c, this.entrypoint);
      if (x.eval(c) !== 0) throw new Error('eval failed');
      return this.resultOf(x.opa_json_dump(x.opa_eval_ctx_get_result(c)));
    } finally {
      current = {};
    }
  }

  /** JSON text of the shared root as this module reads it (the engine's check that copying works between two modules). */
  dumpShared(shared: SharedInput): string {
    this.place(shared);
    return this.readString(this.exports.opa_json_dump(shared.root));
  }

  private place(shared: SharedInput): void {
    if (shared.base < this.dataHeapPtr) throw new Error('the shared input overlaps this module\'s data');
    if (!this.reserve(shared.end + PAGE)) throw new Error('the shared input does not fit in this module\'s memory');
    new Uint8Array(this.memory.buffer).set(shared.image, shared.base);
    const view = new DataView(this.memory.buffer);
    for (const at of shared.trueSlots) view.setUint32(at, this.interned.true, true);
    for (const at of shared.falseSlots) view.setUint32(at, this.interned.false, true);
    // the heap continues after the copied blocks; free lists start empty
    this.exports.opa_heap_ptr_set(shared.end);
  }

  /** Copies JSON text into the heap and parses it; returns the value's address. */
  private parse(json: Uint8Array): number {
    const addr = this.exports.opa_malloc(json.length);
    new Uint8Array(this.memory.buffer).set(json, addr);
    const value = this.exports.opa_json_parse(addr, json.length);
    if (!value) throw new Error('the policy could not parse its input');
    return value;
  }

  private readString(addr: number): string {
    const bytes = new Uint8Array(this.memory.buffer);
    const end = bytes.indexOf(0, addr);
    return decoder.decode(bytes.subarray(addr, end < 0 ? bytes.length : end));
  }

  /** The entrypoint's value from a result set dumped as JSON text at addr. */
  private resultOf(addr: number): unknown {
    const rs = JSON.parse(this.readString(addr)) as Array<{ result: unknown }>;
    return rs[0]?.result;
  }
}

const PARAMETERS_PATH = encoder.encode('["parameters"]');
