// time.* builtins; calendar functions take UTC or an IANA time zone ([ns, "Europe/Paris"]), time.format a Go layout
// too ([ns, tz, layout]). Parsing and formatting follow Go's time package (go-time-layout.ts).
import { BuiltinError, type BuiltinTable, type EvalContext } from './types.js';
import { str, typeOf } from './strings.js';
import { civilFromDays, daysFromCivil, daysIn, formatTime } from './go-time-layout.js';
import { parseTime, TimeParseError } from './go-time-parse.js';
import { loadZone, UnknownZoneError, type Zone } from './time-zone.js';

const NS_PER_MS = 1_000_000n;

export function nowNs(ctx: EvalContext): bigint {
  ctx.nowNs ??= BigInt(Date.now()) * NS_PER_MS;
  return ctx.nowNs;
}

/** OPA's names for Go's layout constants (time.parse_ns and time.format accept them). */
const namedLayouts: Record<string, string> = {
  ANSIC: 'Mon Jan _2 15:04:05 2006',
  UnixDate: 'Mon Jan _2 15:04:05 MST 2006',
  RubyDate: 'Mon Jan 02 15:04:05 -0700 2006',
  RFC822: '02 Jan 06 15:04 MST',
  RFC822Z: '02 Jan 06 15:04 -0700',
  RFC850: 'Monday, 02-Jan-06 15:04:05 MST',
  RFC1123: 'Mon, 02 Jan 2006 15:04:05 MST',
  RFC1123Z: 'Mon, 02 Jan 2006 15:04:05 -0700',
  RFC3339: '2006-01-02T15:04:05Z07:00',
  RFC3339Nano: '2006-01-02T15:04:05.999999999Z07:00',
};

const MIN_NS = -(1n << 63n);
const MAX_NS = (1n << 63n) - 1n;

/** Go's time.Parse, then OPA's toSafeUnixNano (the instant must fit in int64 nanoseconds). */
function parseNs(name: string, layout: string, value: string): bigint {
  let ns: bigint;
  try {
    ns = parseTime(layout, value, loadZone('Local'));
  } catch (e) {
    if (e instanceof TimeParseError) throw new BuiltinError(name, e.message);
    throw e;
  }
  if (ns < MIN_NS || ns > MAX_NS) throw new BuiltinError(name, 'time outside of valid range');
  return ns;
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
  zone: Zone;
  layout: string;
}

const operandErr = (name: string, v: unknown) =>
  new BuiltinError(name, `operand 1 must be one of {number, array} but got ${typeOf(v)}`);

/** OPA's tzTime: a number of nanoseconds, or [ns], [ns, tz] or [ns, tz, layout]. */
function instant(name: string, v: unknown): Instant {
  let x = v;
  let tz = '';
  let layout = '';
  if (Array.isArray(v)) {
    if (v.length === 0) throw operandErr(name, v);
    x = v[0];
    if (typeof x !== 'number' && typeof x !== 'bigint') throw new BuiltinError(name, `operand 1 must be number but got ${typeOf(x)}`);
    if (v.length > 1) {
      if (typeof v[1] !== 'string') throw new BuiltinError(name, `operand 1 must be string but got ${typeOf(v[1])}`);
      tz = v[1];
    }
    if (v.length > 2) {
      if (typeof v[2] !== 'string') throw new BuiltinError(name, `operand 1 must be string but got ${typeOf(v[2])}`);
      layout = v[2];
    }
  }
  let zone: Zone;
  try {
    zone = loadZone(tz);
  } catch (e) {
    if (e instanceof UnknownZoneError) throw new BuiltinError(name, e.message);
    throw e;
  }
  if (typeof x === 'bigint') {
    if (x < -(2n ** 63n) || x >= 2n ** 63n) throw new BuiltinError(name, 'timestamp too big');
    return { ns: x, zone, layout };
  }
  if (typeof x !== 'number') throw operandErr(name, x);
  // Go converts through big.Float and wants an exact int64
  if (!Number.isInteger(x) || x < -(2 ** 63) || x >= 2 ** 63) throw new BuiltinError(name, 'timestamp too big');
  return { ns: BigInt(x), zone, layout };
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

/** Calendar fields of an instant in its zone. */
function wallClock(i: { ns: bigint; zone: Zone }): WallClock {
  const sec = i.ns / NS_PER_S - (i.ns < 0n && i.ns % NS_PER_S !== 0n ? 1n : 0n);
  const local = Number(sec) + i.zone.at(Number(sec)).offset;
  const days = Math.floor(local / 86400);
  const secOfDay = local - days * 86400;
  const [year, month, day] = civilFromDays(days);
  return {
    year,
    month,
    day,
    hour: Math.floor(secOfDay / 3600),
    minute: Math.floor((secOfDay % 3600) / 60),
    second: secOfDay % 60,
    weekday: (((days + 4) % 7) + 7) % 7,
  };
}

const weekdays = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const NS_PER_S = 1_000_000_000n;
const mod = (a: bigint, m: bigint) => ((a % m) + m) % m;

function intOperand(name: string, pos: number, v: unknown): number {
  if (typeof v !== 'number' && typeof v !== 'bigint') throw new BuiltinError(name, `operand ${pos} must be number but got ${typeOf(v)}`);
  if (typeof v === 'number' && !Number.isInteger(v)) throw new BuiltinError(name, `operand ${pos} must be integer number but got floating-point number`);
  return Number(v);
}

/** Go's time.Date in a zone: the wall clock's instant, with the offset in effect then. */
function fromWallClock(zone: Zone, wallSec: number): number {
  const first = zone.at(wallSec).offset;
  const second = zone.at(wallSec - first).offset;
  return wallSec - second;
}

export function timeBuiltins(ctx: () => EvalContext): BuiltinTable {
  return {
    'time.now_ns': () => nowNs(ctx()),
    'time.parse_ns': (layout, value) => {
      const l = str('time.parse_ns', 1, layout);
      return parseNs('time.parse_ns', namedLayouts[l] ?? l, str('time.parse_ns', 2, value));
    },
    'time.parse_rfc3339_ns': (s) => parseNs('time.parse_rfc3339_ns', namedLayouts.RFC3339!, str('time.parse_rfc3339_ns', 1, s)),
    'time.parse_duration_ns': (s) => parseDuration(str('time.parse_duration_ns', 1, s)),
    'time.date': (x) => {
      const w = wallClock(instant('time.date', x));
      return [w.year, w.month, w.day];
    },
    'time.clock': (x) => {
      const w = wallClock(instant('time.clock', x));
      return [w.hour, w.minute, w.second];
    },
    'time.weekday': (x) => weekdays[wallClock(instant('time.weekday', x)).weekday],
    'time.add_date': (x, years, months, days) => {
      const i = instant('time.add_date', x);
      const [y, m, d] = [intOperand('time.add_date', 2, years), intOperand('time.add_date', 3, months), intOperand('time.add_date', 4, days)];
      const w = wallClock(i);
      // Go's Date normalises overflowing months and days: carry months into years, then count days from the 1st
      const totalMonths = w.month - 1 + m;
      const year = w.year + y + Math.floor(totalMonths / 12);
      const month = mod(BigInt(totalMonths), 12n);
      const dayNumber = daysFromCivil(year, Number(month) + 1, 1) + w.day - 1 + d;
      const wallSec = dayNumber * 86400 + w.hour * 3600 + w.minute * 60 + w.second;
      const ns = BigInt(fromWallClock(i.zone, wallSec)) * NS_PER_S + mod(i.ns, NS_PER_S);
      if (ns < MIN_NS || ns > MAX_NS) throw new BuiltinError('time.add_date', 'time outside of valid range');
      return ns;
    },
    'time.diff': (a, b) => {
      // [years, months, days, hours, minutes, seconds] between two instants in the first one's zone, as OPA computes it
      let i1 = instant('time.diff', a);
      let i2 = { ...instant('time.diff', b), zone: i1.zone };
      if (i1.ns > i2.ns) [i1, i2] = [i2, i1];
      const x = wallClock(i1);
      const y = wallClock(i2);
      let [yr, mo, d, h, mi, se] = [y.year - x.year, y.month - x.month, y.day - x.day, y.hour - x.hour, y.minute - x.minute, y.second - x.second];
      if (se < 0) (se += 60), mi--;
      if (mi < 0) (mi += 60), h--;
      if (h < 0) (h += 24), d--;
      if (d < 0) {
        d += daysIn(x.month, x.year);
        mo--;
      }
      if (mo < 0) (mo += 12), yr--;
      return [yr, mo, d, h, mi, se];
    },
    'time.format': (x) => {
      const i = instant('time.format', x);
      const layout = i.layout === '' ? namedLayouts.RFC3339Nano! : (namedLayouts[i.layout] ?? i.layout);
      return formatTime(i.ns, i.zone, layout);
    },
  };
}
