// time.* builtins; calendar functions take UTC or an IANA time zone ([ns, "Europe/Paris"]).
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

interface Instant {
  ns: bigint;
  tz?: string;
}

function instant(name: string, v: unknown): Instant {
  let x = v;
  let tz: string | undefined;
  if (Array.isArray(v)) {
    x = v[0];
    if (v[1] !== undefined && typeof v[1] !== 'string') throw new BuiltinError(name, 'the time zone must be a string');
    tz = v[1] === '' || v[1] === 'UTC' ? undefined : (v[1] as string | undefined);
  }
  if (typeof x === 'bigint') return { ns: x, tz };
  if (typeof x !== 'number') throw new BuiltinError(name, `operand 1 must be one of {number, array} but got ${typeOf(x)}`);
  return { ns: BigInt(Math.trunc(x)), tz };
}

interface WallClock {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  weekday: number;
}

/** Calendar fields of an instant in UTC or an IANA time zone ("Local": the process's zone). */
function wallClock(name: string, i: Instant): WallClock {
  const floorMs = i.ns / NS_PER_MS - (i.ns < 0n && i.ns % NS_PER_MS !== 0n ? 1n : 0n);
  const d = new Date(Number(floorMs));
  if (!i.tz) {
    return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour: d.getUTCHours(), minute: d.getUTCMinutes(), second: d.getUTCSeconds(), weekday: d.getUTCDay() };
  }
  let fmt: Intl.DateTimeFormat;
  try {
    fmt = new Intl.DateTimeFormat('en-US', {
      timeZone: i.tz === 'Local' ? undefined : i.tz,
      hourCycle: 'h23',
      year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric', weekday: 'short',
    });
  } catch {
    throw new BuiltinError(name, `unknown time zone ${i.tz}`);
  }
  const parts = Object.fromEntries(fmt.formatToParts(d).map((p) => [p.type, p.value]));
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour),
    minute: Number(parts.minute),
    second: Number(parts.second),
    weekday: ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'].indexOf(parts.weekday!),
  };
}

const weekdays = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const NS_PER_S = 1_000_000_000n;
const mod = (a: bigint, m: bigint) => ((a % m) + m) % m;

export function timeBuiltins(ctx: () => EvalContext): BuiltinTable {
  return {
    'time.now_ns': () => nowNs(ctx()),
    'time.parse_rfc3339_ns': (s) => parseRfc3339('time.parse_rfc3339_ns', str('time.parse_rfc3339_ns', 1, s)),
    'time.parse_duration_ns': (s) => parseDuration(str('time.parse_duration_ns', 1, s)),
    'time.date': (x) => {
      const w = wallClock('time.date', instant('time.date', x));
      return [w.year, w.month, w.day];
    },
    'time.clock': (x) => {
      const w = wallClock('time.clock', instant('time.clock', x));
      return [w.hour, w.minute, w.second];
    },
    'time.weekday': (x) => weekdays[wallClock('time.weekday', instant('time.weekday', x)).weekday],
    'time.add_date': (x, years, months, days) => {
      const i = instant('time.add_date', x);
      const w = wallClock('time.add_date', { ns: i.ns });
      // Date.UTC normalises overflowing months and days the way Go's AddDate does
      const ms = Date.UTC(w.year + Number(years), w.month - 1 + Number(months), w.day + Number(days), w.hour, w.minute, w.second);
      return BigInt(ms) * NS_PER_MS + mod(i.ns, NS_PER_S);
    },
    'time.diff': (a, b) => {
      // [years, months, days, hours, minutes, seconds] between two instants, as Go's time.diff computes it (UTC)
      let i1 = instant('time.diff', a);
      let i2 = instant('time.diff', b);
      if (i1.ns > i2.ns) [i1, i2] = [i2, i1];
      const x = wallClock('time.diff', i1);
      const y = wallClock('time.diff', i2);
      let [yr, mo, d, h, mi, se] = [y.year - x.year, y.month - x.month, y.day - x.day, y.hour - x.hour, y.minute - x.minute, y.second - x.second];
      if (se < 0) (se += 60), mi--;
      if (mi < 0) (mi += 60), h--;
      if (h < 0) (h += 24), d--;
      if (d < 0) {
        d += new Date(Date.UTC(x.year, x.month, 0)).getUTCDate();
        mo--;
      }
      if (mo < 0) (mo += 12), yr--;
      return [yr, mo, d, h, mi, se];
    },
    'time.format': (x) => {
      if (Array.isArray(x) && x[2] !== undefined) throw new BuiltinError('time.format', 'layouts other than the default (RFC3339 with nanoseconds) are not supported');
      const i = instant('time.format', x);
      if (i.tz) throw new BuiltinError('time.format', 'only UTC is supported');
      const base = new Date(Number((i.ns - mod(i.ns, NS_PER_S)) / NS_PER_MS)).toISOString().slice(0, 19);
      const frac = mod(i.ns, NS_PER_S).toString().padStart(9, '0').replace(/0+$/, '');
      return base + (frac ? '.' + frac : '') + 'Z';
    },
  };
}
