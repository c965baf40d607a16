// time.* builtins (UTC; time zones other than UTC are not supported and raise an error).
import { BuiltinError, type BuiltinTable, type EvalContext } from './types.js';
import { str, typeOf } from './strings.js';

const NS_PER_MS = 1_000_000n;

export function nowNs(ctx: EvalContext): bigint {
  ctx.nowNs ??= BigInt(Date.now()) * NS_PER_MS;
  return ctx.nowNs;
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

function parseRfc3339(name: string, s: string): bigint {
  const m = RFC3339.exec(s);
  if (!m) throw new BuiltinError(name, `parsing time ${JSON.stringify(s)} as RFC3339 failed`);
  const [y, mo, d, h, mi, se] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i]));
  if (mo! < 1 || mo! > 12 || d! < 1 || d! > 31 || h! > 23 || mi! > 59 || se! > 59) {
    throw new BuiltinError(name, `parsing time ${JSON.stringify(s)}: field out of range`);
  }
  let ms = Date.UTC(y!, mo! - 1, d!, h!, mi!, se!);
  if (m[9]) ms -= (m[9] === '-' ? -1 : 1) * (Number(m[10]) * 60 + Number(m[11])) * 60_000;
  const frac = BigInt((m[7] ?? '').padEnd(9, '0') || '0');
  return BigInt(ms) * NS_PER_MS + frac;
}

const durationUnits: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, 'μs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

function parseDuration(s: string): bigint {
  const bad = () => new BuiltinError('time.parse_duration_ns', `time: invalid duration ${JSON.stringify(s)}`);
  let rest = s;
  let sign = 1;
  if (rest[0] === '-' || rest[0] === '+') {
    sign = rest[0] === '-' ? -1 : 1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0n;
  if (!rest) throw bad();
  let total = 0;
  const part = /^(\d*\.?\d*)(ns|us|µs|μs|ms|s|m|h)/;
  while (rest) {
    const m = part.exec(rest);
    if (!m || m[1] === '' || m[1] === '.') throw bad();
    total += Number(m[1]) * durationUnits[m[2]!]!;
    rest = rest.slice(m[0].length);
  }
  return BigInt(Math.round(sign * total));
}

function nsArg(name: string, v: unknown): bigint {
  let x = v;
  if (Array.isArray(v)) {
    const tz = v[1];
    if (tz !== undefined && tz !== '' && tz !== 'UTC') throw new BuiltinError(name, `time zone ${String(tz)} is not supported (UTC only)`);
    x = v[0];
  }
  if (typeof x === 'bigint') return x;
  if (typeof x !== 'number') throw new BuiltinError(name, `operand 1 must be number or array but got ${typeOf(x)}`);
  return BigInt(Math.trunc(x));
}

const dateOf = (ns: bigint) => new Date(Number(ns / NS_PER_MS));
const weekdays = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

export function timeBuiltins(ctx: () => EvalContext): BuiltinTable {
  return {
    'time.now_ns': () => nowNs(ctx()),
    'time.parse_rfc3339_ns': (s) => parseRfc3339('time.parse_rfc3339_ns', str('time.parse_rfc3339_ns', 1, s)),
    'time.parse_duration_ns': (s) => parseDuration(str('time.parse_duration_ns', 1, s)),
    'time.date': (x) => {
      const d = dateOf(nsArg('time.date', x));
      return [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate()];
    },
    'time.clock': (x) => {
      const d = dateOf(nsArg('time.clock', x));
      return [d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()];
    },
    'time.weekday': (x) => weekdays[dateOf(nsArg('time.weekday', x)).getUTCDay()],
    'time.add_date': (x, years, months, days) => {
      const ns = nsArg('time.add_date', x);
      const d = dateOf(ns);
      const ms = Date.UTC(
        d.getUTCFullYear() + Number(years),
        d.getUTCMonth() + Number(months),
        d.getUTCDate() + Number(days),
        d.getUTCHours(),
        d.getUTCMinutes(),
        d.getUTCSeconds(),
        d.getUTCMilliseconds(),
      );
      return BigInt(ms) * NS_PER_MS + (((ns % NS_PER_MS) + NS_PER_MS) % NS_PER_MS);
    },
    'time.format': (x) => {
      const ns = nsArg('time.format', x);
      const base = dateOf(ns).toISOString().slice(0, 19);
      const frac = (((ns % 1_000_000_000n) + 1_000_000_000n) % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '');
      return base + (frac ? '.' + frac : '') + 'Z';
    },
  };
}
