// Go's time layouts ("2006-01-02T15:04:05Z07:00", "Jan _2 15:04:05", ...) read into their elements, and time.Format: a port from
// Go's src/time/format.go (time.Parse is in go-time-parse.ts). Go works on bytes, so strings go through as UTF-8 bytes held in a
// latin1 string (one char per byte) and come back as UTF-8.
import type { Zone } from './time-zone.js';

export const enum Std {
  None = 0,
  LongMonth = 1 + 256, // "January"
  Month, // "Jan"
  NumMonth, // "1"
  ZeroMonth, // "01"
  LongWeekDay, // "Monday"
  WeekDay, // "Mon"
  Day, // "2"
  UnderDay, // "_2"
  ZeroDay, // "02"
  UnderYearDay = 10 + 512, // "__2"
  ZeroYearDay, // "002"
  Hour = 12 + 1024, // "15"
  Hour12, // "3"
  ZeroHour12, // "03"
  Minute, // "4"
  ZeroMinute, // "04"
  Second, // "5"
  ZeroSecond, // "05"
  LongYear = 19 + 256, // "2006"
  Year, // "06"
  PM = 21 + 1024, // "PM"
  pm, // "pm"
  TZ = 23, // "MST"
  ISO8601TZ, // "Z0700"
  ISO8601SecondsTZ, // "Z070000"
  ISO8601ShortTZ, // "Z07"
  ISO8601ColonTZ, // "Z07:00"
  ISO8601ColonSecondsTZ, // "Z07:00:00"
  NumTZ, // "-0700"
  NumSecondsTz, // "-070000"
  NumShortTZ, // "-07"
  NumColonTZ, // "-07:00"
  NumColonSecondsTZ, // "-07:00:00"
  FracSecond0, // ".0", ".00", ... trailing zeros included
  FracSecond9, // ".9", ".99", ... trailing zeros omitted
}

// The +256/+512/+1024 above are Go's stdNeedDate/stdNeedYday/stdNeedClock bits, kept so the values match Go's.
const ARG_SHIFT = 16;
const SEPARATOR_SHIFT = 28;
export const STD_MASK = (1 << ARG_SHIFT) - 1;

const std0x = [Std.ZeroMonth, Std.ZeroDay, Std.ZeroHour12, Std.ZeroMinute, Std.ZeroSecond, Std.Year];
export const longDayNames = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
export const shortDayNames = longDayNames.map((d) => d.slice(0, 3));
export const longMonthNames = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
export const shortMonthNames = longMonthNames.map((m) => m.slice(0, 3));

const isLower = (s: string) => s.length > 0 && s[0]! >= 'a' && s[0]! <= 'z';
export const isDigit = (s: string, i: number) => i < s.length && s[i]! >= '0' && s[i]! <= '9';

function fracStd(code: Std, n: number, sep: string): number {
  return code | ((n & 0xfff) << ARG_SHIFT) | (sep === '.' ? 0 : 1 << SEPARATOR_SHIFT);
}
export const digitsLen = (std: number) => (std >> ARG_SHIFT) & 0xfff;
const separator = (std: number) => (std >> SEPARATOR_SHIFT === 0 ? '.' : ',');

/** The first layout element: [text before it, element, rest]. */
export function nextStdChunk(layout: string): [string, number, string] {
  const at = (i: number, s: string) => layout.startsWith(s, i);
  for (let i = 0; i < layout.length; i++) {
    const c = layout[i];
    const cut = (std: number, len: number, keep = 0): [string, number, string] => [layout.slice(0, i + keep), std, layout.slice(i + keep + len)];
    switch (c) {
      case 'J':
        if (at(i, 'Jan')) {
          if (at(i, 'January')) return cut(Std.LongMonth, 7);
          if (!isLower(layout.slice(i + 3))) return cut(Std.Month, 3);
        }
        break;
      case 'M':
        if (at(i, 'Mon')) {
          if (at(i, 'Monday')) return cut(Std.LongWeekDay, 6);
          if (!isLower(layout.slice(i + 3))) return cut(Std.WeekDay, 3);
        }
        if (at(i, 'MST')) return cut(Std.TZ, 3);
        break;
      case '0':
        if (i + 1 < layout.length && layout[i + 1]! >= '1' && layout[i + 1]! <= '6') return cut(std0x[layout.charCodeAt(i + 1) - 49]!, 2);
        if (at(i, '002')) return cut(Std.ZeroYearDay, 3);
        break;
      case '1':
        if (at(i, '15')) return cut(Std.Hour, 2);
        return cut(Std.NumMonth, 1);
      case '2':
        if (at(i, '2006')) return cut(Std.LongYear, 4);
        return cut(Std.Day, 1);
      case '_':
        if (at(i, '_2')) {
          if (at(i, '_2006')) return cut(Std.LongYear, 4, 1);
          return cut(Std.UnderDay, 2);
        }
        if (at(i, '__2')) return cut(Std.UnderYearDay, 3);
        break;
      case '3':
        return cut(Std.Hour12, 1);
      case '4':
        return cut(Std.Minute, 1);
      case '5':
        return cut(Std.Second, 1);
      case 'P':
        if (at(i, 'PM')) return cut(Std.PM, 2);
        break;
      case 'p':
        if (at(i, 'pm')) return cut(Std.pm, 2);
        break;
      case '-':
        if (at(i, '-070000')) return cut(Std.NumSecondsTz, 7);
        if (at(i, '-07:00:00')) return cut(Std.NumColonSecondsTZ, 9);
        if (at(i, '-0700')) return cut(Std.NumTZ, 5);
        if (at(i, '-07:00')) return cut(Std.NumColonTZ, 6);
        if (at(i, '-07')) return cut(Std.NumShortTZ, 3);
        break;
      case 'Z':
        if (at(i, 'Z070000')) return cut(Std.ISO8601SecondsTZ, 7);
        if (at(i, 'Z07:00:00')) return cut(Std.ISO8601ColonSecondsTZ, 9);
        if (at(i, 'Z0700')) return cut(Std.ISO8601TZ, 5);
        if (at(i, 'Z07:00')) return cut(Std.ISO8601ColonTZ, 6);
        if (at(i, 'Z07')) return cut(Std.ISO8601ShortTZ, 3);
        break;
      case '.':
      case ',':
        if (i + 1 < layout.length && (layout[i + 1] === '0' || layout[i + 1] === '9')) {
          const ch = layout[i + 1];
          let j = i + 1;
          while (j < layout.length && layout[j] === ch) j++;
          if (!isDigit(layout, j)) {
            return [layout.slice(0, i), fracStd(ch === '9' ? Std.FracSecond9 : Std.FracSecond0, j - (i + 1), c), layout.slice(j)];
          }
        }
        break;
    }
  }
  return [layout, Std.None, ''];
}

const pad = (x: number, width: number) => (x < 0 ? '-' + String(-x).padStart(width, '0') : String(x).padStart(width, '0'));

// Days since 1970-01-01 <-> proleptic Gregorian dates (H. Hinnant's algorithms).
export function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  return era * 146097 + yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy - 719468;
}

export function civilFromDays(days: number): [number, number, number] {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return [yoe + era * 400 + (m <= 2 ? 1 : 0), m, d];
}

export const isLeap = (y: number) => y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
export const daysIn = (m: number, y: number) => (m === 2 ? (isLeap(y) ? 29 : 28) : [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]!);

export const NS = 1_000_000_000n;
const floorDiv = (a: bigint, b: bigint) => (a % b < 0n ? a / b - 1n : a / b);

export const toBytes = (s: string) => Buffer.from(s, 'utf8').toString('latin1');
export const fromBytes = (s: string) => Buffer.from(s, 'latin1').toString('utf8');

/** Go's t.Format(layout) for the instant ns (since the epoch) in zone. */
export function formatTime(ns: bigint, zone: Zone, layoutText: string): string {
  const sec = floorDiv(ns, NS);
  const nanos = Number(ns - sec * NS);
  const { offset, name } = zone.at(Number(sec));
  const local = Number(sec) + offset;
  const days = Math.floor(local / 86400);
  const secOfDay = local - days * 86400;
  const [year, month, day] = civilFromDays(days);
  const yday = days - daysFromCivil(year, 1, 1) + 1;
  const hour = Math.floor(secOfDay / 3600);
  const min = Math.floor((secOfDay % 3600) / 60);
  const s = secOfDay % 60;
  const weekday = (((days + 4) % 7) + 7) % 7;

  let layout = toBytes(layoutText);
  let b = '';
  while (layout !== '') {
    const [prefix, std, suffix] = nextStdChunk(layout);
    b += prefix;
    if (std === Std.None) break;
    layout = suffix;
    switch (std & STD_MASK) {
      case Std.Year:
        b += pad(Math.abs(year) % 100, 2);
        break;
      case Std.LongYear:
        b += pad(year, 4);
        break;
      case Std.Month:
        b += shortMonthNames[month - 1];
        break;
      case Std.LongMonth:
        b += longMonthNames[month - 1];
        break;
      case Std.NumMonth:
        b += month;
        break;
      case Std.ZeroMonth:
        b += pad(month, 2);
        break;
      case Std.WeekDay:
        b += shortDayNames[weekday];
        break;
      case Std.LongWeekDay:
        b += longDayNames[weekday];
        break;
      case Std.Day:
        b += day;
        break;
      case Std.UnderDay:
        b += (day < 10 ? ' ' : '') + day;
        break;
      case Std.ZeroDay:
        b += pad(day, 2);
        break;
      case Std.UnderYearDay:
        b += String(yday).padStart(3, ' ');
        break;
      case Std.ZeroYearDay:
        b += pad(yday, 3);
        break;
      case Std.Hour:
        b += pad(hour, 2);
        break;
      case Std.Hour12:
        b += hour % 12 || 12;
        break;
      case Std.ZeroHour12:
        b += pad(hour % 12 || 12, 2);
        break;
      case Std.Minute:
        b += min;
        break;
      case Std.ZeroMinute:
        b += pad(min, 2);
        break;
      case Std.Second:
        b += s;
        break;
      case Std.ZeroSecond:
        b += pad(s, 2);
        break;
      case Std.PM:
        b += hour >= 12 ? 'PM' : 'AM';
        break;
      case Std.pm:
        b += hour >= 12 ? 'pm' : 'am';
        break;
      case Std.ISO8601TZ:
      case Std.ISO8601ColonTZ:
      case Std.ISO8601SecondsTZ:
      case Std.ISO8601ShortTZ:
      case Std.ISO8601ColonSecondsTZ:
      case Std.NumTZ:
      case Std.NumColonTZ:
      case Std.NumSecondsTz:
      case Std.NumShortTZ:
      case Std.NumColonSecondsTZ: {
        const iso = std === Std.ISO8601TZ || std === Std.ISO8601ColonTZ || std === Std.ISO8601SecondsTZ || std === Std.ISO8601ShortTZ || std === Std.ISO8601ColonSecondsTZ;
        if (offset === 0 && iso) {
          b += 'Z';
          break;
        }
        // Go's sign comes from the offset in whole minutes, so -30s prints as +00:00
        const minutes = Math.trunc(offset / 60);
        const zone = Math.abs(minutes);
        const absoffset = minutes < 0 ? -offset : offset;
        b += (minutes < 0 ? '-' : '+') + pad(Math.floor(zone / 60), 2);
        const colon = std === Std.ISO8601ColonTZ || std === Std.NumColonTZ || std === Std.ISO8601ColonSecondsTZ || std === Std.NumColonSecondsTZ;
        if (colon) b += ':';
        if (std !== Std.NumShortTZ && std !== Std.ISO8601ShortTZ) b += pad(zone % 60, 2);
        if (std === Std.ISO8601SecondsTZ || std === Std.NumSecondsTz || std === Std.NumColonSecondsTZ || std === Std.ISO8601ColonSecondsTZ) {
          if (std === Std.NumColonSecondsTZ || std === Std.ISO8601ColonSecondsTZ) b += ':';
          b += pad(absoffset % 60, 2);
        }
        break;
      }
      case Std.TZ:
        if (name) b += name;
        else {
          const minutes = Math.trunc(offset / 60);
          b += (minutes < 0 ? '-' : '+') + pad(Math.floor(Math.abs(minutes) / 60), 2) + pad(Math.abs(minutes) % 60, 2);
        }
        break;
      case Std.FracSecond0:
      case Std.FracSecond9:
        b += fraction(nanos, std);
        break;
    }
  }
  return fromBytes(b);
}

function fraction(nanos: number, std: number): string {
  const trim = (std & STD_MASK) === Std.FracSecond9;
  const n = digitsLen(std);
  if (trim && (n === 0 || nanos === 0)) return '';
  let digits = pad(nanos, 9);
  if (n < 9) digits = digits.slice(0, n);
  if (trim) digits = digits.replace(/0+$/, '');
  return digits ? separator(std) + digits : '';
}
