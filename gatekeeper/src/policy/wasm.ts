// One instantiated template module. We instantiate the wasm ourselves, with our own import table, and hand the
// instance to the SDK's LoadedPolicy for evaluate/setData (its public constructor takes an instance and its memory).
// Why not loadPolicy(bytes, mem, customBuiltins): the SDK looks its own builtin table up first, so its sprintf
// (sprintf-js: arrays as "a,b", objects as "[object Object]", throws on null) would shadow ours, and it has no way to
// turn a builtin's exception into anything but an aborted evaluation. Owning opa_builtinN keeps the SDK untouched, lets
// sprintf read its arguments as Rego values (opa_value_dump keeps sets and number literals, which JSON loses), and
// reports which builtin failed.
import { createRequire } from 'node:module';
import { BuiltinError, hostBuiltins, parseRegoValue, rawValueBuiltins, regoSprintf, type EvalContext } from '../builtins/index.js';
import { termToJs, type RegoTerm } from '../builtins/rego-value.js';

// The SDK's ESM entry only exports loadPolicy and a default; its CommonJS entry also exports LoadedPolicy.
const opa = createRequire(import.meta.url)('@open-policy-agent/opa-wasm') as typeof import('@open-policy-agent/opa-wasm');
type LoadedPolicy = InstanceType<typeof opa.LoadedPolicy>;

interface OpaExports {
  builtins(): number;
  opa_json_dump(addr: number): number;
  opa_value_dump(addr: number): number;
  opa_json_parse(addr: number, len: number): number;
  opa_malloc(len: number): number;
  opa_wasm_abi_version?: WebAssembly.Global;
  opa_wasm_abi_minor_version?: WebAssembly.Global;
}

export const DEFAULT_MAX_MEMORY_MIB = 1024;

/** Shared by every instance: the evaluation under way (single-threaded, evaluations never interleave). */
let current: EvalContext = {};
const table = hostBuiltins(() => current);

/** Builtins a compiled module imports from the host that this engine does not implement. */
export function missingBuiltins(names: string[]): string[] {
  return names.filter((n) => !rawValueBuiltins.has(n) && !(n in table));
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
  private constructor(
    private readonly policy: LoadedPolicy,
    readonly entrypoint: number,
    readonly builtinNames: string[],
  ) {}

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
    const load = (json: string): number => {
      const buf = encoder.encode(json);
      const addr = exports!.opa_malloc(buf.length);
      new Uint8Array(memory.buffer).set(buf, addr);
      const parsed = exports!.opa_json_parse(addr, buf.length);
      if (!parsed) throw new Error('failed to load a builtin result into the policy');
      return parsed;
    };
    const call = (id: number, ...addrs: number[]): number => {
      const name = names[id] ?? `#${id}`;
      if (rawValueBuiltins.has(name)) {
        const [fmt, arr] = addrs.map((a) => parseRegoValue(readString(exports!.opa_value_dump(a))));
        return load(JSON.stringify(sprintf(fmt!, arr!)));
      }
      const impl = table[name];
      if (!impl) throw new BuiltinError(name, 'this builtin is not provided by the engine');
      // time.* take nanoseconds beyond 2^53: read their arguments as Rego values to keep every digit
      const args = name.startsWith('time.')
        ? addrs.map((a) => termToJs(parseRegoValue(readString(exports!.opa_value_dump(a)))))
        : addrs.map((a) => JSON.parse(readString(exports!.opa_json_dump(a))) as unknown);
      let result: unknown;
      try {
        result = impl(...args);
      } catch (e) {
        if (e instanceof BuiltinError) throw e;
        throw new BuiltinError(name, (e as Error)?.message ?? String(e));
      }
      return result === undefined ? 0 : load(toJson(result));
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
    if (abi !== 1) throw new Error(`unsupported OPA wasm ABI version ${String(abi)}`);
    const ids = JSON.parse(readString(exports.opa_json_dump(exports.builtins()))) as Record<string, number>;
    for (const [name, id] of Object.entries(ids)) names[id] = name;

    const minor = exports.opa_wasm_abi_minor_version?.value as number;
    const policy = new opa.LoadedPolicy(instance as unknown as WebAssembly.WebAssemblyInstantiatedSource, memory, minor);
    const ep = (policy.entrypoints as Record<string, number>)[entrypointName];
    if (ep === undefined) throw new Error(`the compiled policy has no entrypoint ${entrypointName}`);
    return new TemplateModule(policy, ep, Object.keys(ids));
  }

  setData(data: object | ArrayBuffer): void {
    this.policy.setData(data);
  }

  /** Evaluates with input given as JSON bytes; returns the entrypoint's value (undefined when undefined). */
  evaluate(input: ArrayBuffer, ctx: EvalContext = {}): unknown {
    current = ctx;
    try {
      const rs = this.policy.evaluate(input, this.entrypoint) as Array<{ result: unknown }>;
      return rs[0]?.result;
    } finally {
      current = {};
    }
  }
}

function sprintf(fmt: RegoTerm, arr: RegoTerm): string {
  if (fmt.k !== 'str') throw new BuiltinError('sprintf', `operand 1 must be string but got ${fmt.k}`);
  if (arr.k !== 'arr') throw new BuiltinError('sprintf', `operand 2 must be array but got ${arr.k}`);
  return regoSprintf(fmt.v, arr.items);
}
