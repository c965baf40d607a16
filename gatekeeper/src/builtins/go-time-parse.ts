// Go's time.Parse for the layouts go-time-layout.ts reads, ported from Go's src/time/format.go with its error messages.
import { daysFromCivil, daysIn, digitsLen, fromBytes, isDigit, isLeap, longDayNames, longMonthNames, nextStdChunk, NS, shortDayNames, shortMonthNames, Std, STD_MASK, toBytes } from './go-time-layout.js';
import type { Zone } from './time-zone.js';
/** Go's quote() for parse errors (bytes outside printable ASCII as \xNN). */
function quote(s: string): string {
  let out = '"';
  for (const c of s) {
    const code = c.charCodeAt(0);
    if (code >= 0x80 || code < 0x20) out += '\\x' + code.toString(16).padStart(2, '0');
    else out += c === '"' || c === '\\' ? '\\' + c : c;
  }
  return out + '"';
}

export class TimeParseError extends Error {}

function parseError(layout: string, value: string, layoutElem: string, valueElem: string, message: string): TimeParseError {
  if (message === '') {
    return new TimeParseError(`parsing time ${fromBytes(quote(value))} as ${fromBytes(quote(layout))}: cannot parse ${fromBytes(quote(valueElem))} as ${fromBytes(quote(layoutElem))}`);
  }
  return new TimeParseError(`parsing time ${fromBytes(quote(value))}${fromBytes(message)}`);
}

class Bad extends Error {}
const bad = new Bad();

function getnum(s: string, fixed: boolean): [number, string] {
  if (!isDigit(s, 0)) throw bad;
  if (!isDigit(s, 1)) {
    if (fixed) throw bad;
    return [s.charCodeAt(0) - 48, s.slice(1)];
  }
  return [(s.charCodeAt(0) - 48) * 10 + s.charCodeAt(1) - 48, s.slice(2)];
}

function getnum3(s: string, fixed: boolean): [number, string] {
  let n = 0;
  let i = 0;
  for (; i < 3 && isDigit(s, i); i++) n = n * 10 + s.charCodeAt(i) - 48;
  if (i === 0 || (fixed && i !== 3)) throw bad;
  return [n, s.slice(i)];
}

function lookup(tab: string[], val: string): [number, string] {
  for (const [i, v] of tab.entries()) {
    if (val.length >= v.length && val.slice(0, v.length).toLowerCase() === v.toLowerCase() && /^[a-zA-Z]*$/.test(val.slice(0, v.length))) {
      return [i, val.slice(v.length)];
    }
  }
  throw bad;
}

/** Go's skip: value without prefix (runs of spaces match); on a mismatch, false and how far it got. */
function skip(value: string, prefix: string): [string, boolean] {
  while (prefix.length > 0) {
    if (prefix[0] === ' ') {
      if (value.length > 0 && value[0] !== ' ') return [value, false];
      prefix = prefix.replace(/^ +/, '');
      value = value.replace(/^ +/, '');
      continue;
    }
    if (value.length === 0 || value[0] !== prefix[0]) return [value, false];
    prefix = prefix.slice(1);
    value = value.slice(1);
  }
  return [value, true];
}

/** Go's leadingInt: the leading [0-9]* (overflow past int64 is an error). */
function leadingInt(s: string): [bigint, string] {
  let i = 0;
  let x = 0n;
  for (; i < s.length && s[i]! >= '0' && s[i]! <= '9'; i++) {
    x = x * 10n + BigInt(s.charCodeAt(i) - 48);
    if (x > 1n << 63n) throw bad;
  }
  return [x, s.slice(i)];
}

function atoi(s: string): number {
  let neg = false;
  if (s.length > 0 && (s[0] === '-' || s[0] === '+')) {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  const [q, rem] = leadingInt(s);
  if (rem.length > 0) throw bad;
  return neg ? -Number(q) : Number(q);
}

function parseNanoseconds(value: string, nbytes: number): number {
  if (value[0] !== '.' && value[0] !== ',') throw bad;
  if (nbytes > 10) nbytes = 10;
  let ns = atoi(value.slice(1, nbytes));
  for (let i = 0; i < 10 - nbytes; i++) ns *= 10;
  return ns;
}

function parseSignedOffset(value: string): number {
  if (value[0] !== '-' && value[0] !== '+') return 0;
  let x: bigint;
  let rem: string;
  try {
    [x, rem] = leadingInt(value.slice(1));
  } catch {
    return 0;
  }
  if (value.slice(1) === rem || x > 23n) return 0;
  return value.length - rem.length;
}

function parseTimeZone(value: string): number | undefined {
  if (value.length < 3) return undefined;
  if (value.startsWith('ChST') || value.startsWith('MeST')) return 4;
  if (value.startsWith('GMT')) return value.length === 3 ? 3 : 3 + parseSignedOffset(value.slice(3));
  if (value[0] === '+' || value[0] === '-') return parseSignedOffset(value) || undefined;
  let nUpper = 0;
  for (; nUpper < 6 && nUpper < value.length; nUpper++) {
    if (value[nUpper]! < 'A' || value[nUpper]! > 'Z') break;
  }
  if (nUpper === 5 && value[4] === 'T') return 5;
  if (nUpper === 4 && (value[3] === 'T' || value.startsWith('WITA'))) return 4;
  if (nUpper === 3) return 3;
  return undefined;
}

const daysBefore = (m: number) => [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365][m - 1]!;

/**
 * Go's time.Parse(layout, value) as nanoseconds since the epoch. Zone abbreviations other than UTC are looked up in
 * `local` (Go's time.Local); unknown ones leave the wall clock as UTC, as in Go.
 */
export function parseTime(layoutText: string, valueText: string, local: Zone): bigint {
  const alayout = toBytes(layoutText);
  const avalue = toBytes(valueText);
  let layout = alayout;
  let value = avalue;
  let rangeErr = '';
  let amSet = false;
  let pmSet = false;
  let year = 0;
  let month = -1;
  let day = -1;
  let yday = -1;
  let hour = 0;
  let min = 0;
  let sec = 0;
  let nsec = 0;
  let utc = false;
  let zoneOffset = -1;
  let zoneName = '';

  for (;;) {
    const [prefix, std0, suffix] = nextStdChunk(layout);
    let std = std0;
    const stdstr = layout.slice(prefix.length, layout.length - suffix.length);
    const [rest, skipped] = skip(value, prefix);
    value = rest;
    if (!skipped) throw parseError(alayout, avalue, prefix, value, '');
    if (std === Std.None) {
      if (value.length !== 0) throw parseError(alayout, avalue, '', value, ': extra text: ' + quote(value));
      break;
    }
    layout = suffix;
    const hold = value;
    try {
      switch (std & STD_MASK) {
        case Std.Year: {
          if (value.length < 2) throw bad;
          const p = value.slice(0, 2);
          value = value.slice(2);
          year = atoi(p);
          year += year >= 69 ? 1900 : 2000;
          break;
        }
        case Std.LongYear:
          if (value.length < 4 || !isDigit(value, 0)) throw bad;
          year = atoi(value.slice(0, 4));
          value = value.slice(4);
          break;
        case Std.Month:
          [month, value] = lookup(shortMonthNames, value);
          month++;
          break;
        case Std.LongMonth:
          [month, value] = lookup(longMonthNames, value);
          month++;
          break;
        case Std.NumMonth:
        case Std.ZeroMonth:
          [month, value] = getnum(value, std === Std.ZeroMonth);
          if (month <= 0 || month > 12) rangeErr = 'month';
          break;
        case Std.WeekDay:
          [, value] = lookup(shortDayNames, value);
          break;
        case Std.LongWeekDay:
          [, value] = lookup(longDayNames, value);
          break;
        case Std.Day:
        case Std.UnderDay:
        case Std.ZeroDay:
          if (std === Std.UnderDay && value[0] === ' ') value = value.slice(1);
          [day, value] = getnum(value, std === Std.ZeroDay);
          break;
        case Std.UnderYearDay:
        case Std.ZeroYearDay:
          for (let i = 0; i < 2; i++) if (std === Std.UnderYearDay && value[0] === ' ') value = value.slice(1);
          [yday, value] = getnum3(value, std === Std.ZeroYearDay);
          break;
        case Std.Hour:
          [hour, value] = getnum(value, false);
          if (hour < 0 || hour >= 24) rangeErr = 'hour';
          break;
        case Std.Hour12:
        case Std.ZeroHour12:
          [hour, value] = getnum(value, std === Std.ZeroHour12);
          if (hour < 0 || hour > 12) rangeErr = 'hour';
          break;
        case Std.Minute:
        case Std.ZeroMinute:
          [min, value] = getnum(value, std === Std.ZeroMinute);
          if (min < 0 || min >= 60) rangeErr = 'minute';
          break;
        case Std.Second:
        case Std.ZeroSecond: {
          [sec, value] = getnum(value, std === Std.ZeroSecond);
          if (sec < 0 || sec >= 60) {
            rangeErr = 'second';
            break;
          }
          // a fractional second in the input that the layout does not mention
          if (value.length >= 2 && (value[0] === '.' || value[0] === ',') && isDigit(value, 1)) {
            std = nextStdChunk(layout)[1] & STD_MASK;
            if (std === Std.FracSecond0 || std === Std.FracSecond9) break;
            let n = 2;
            while (n < value.length && isDigit(value, n)) n++;
            nsec = parseNanoseconds(value, n);
            value = value.slice(n);
          }
          break;
        }
        case Std.PM:
        case Std.pm: {
          if (value.length < 2) throw bad;
          const p = value.slice(0, 2);
          value = value.slice(2);
          const [PM, AM] = std === Std.PM ? ['PM', 'AM'] : ['pm', 'am'];
          if (p === PM) pmSet = true;
          else if (p === AM) amSet = true;
          else throw bad;
          break;
        }
        case Std.ISO8601TZ:
        case Std.ISO8601ShortTZ:
        case Std.ISO8601ColonTZ:
        case Std.ISO8601SecondsTZ:
        case Std.ISO8601ColonSecondsTZ:
        case Std.NumTZ:
        case Std.NumShortTZ:
        case Std.NumColonTZ:
        case Std.NumSecondsTz:
        case Std.NumColonSecondsTZ: {
          if (std >= Std.ISO8601TZ && std <= Std.ISO8601ColonSecondsTZ && value[0] === 'Z') {
            value = value.slice(1);
            utc = true;
            break;
          }
          let parts: [string, string, string, string];
          if (std === Std.ISO8601ColonTZ || std === Std.NumColonTZ) {
            if (value.length < 6 || value[3] !== ':') throw bad;
            parts = [value[0]!, value.slice(1, 3), value.slice(4, 6), '00'];
            value = value.slice(6);
          } else if (std === Std.NumShortTZ || std === Std.ISO8601ShortTZ) {
            if (value.length < 3) throw bad;
            parts = [value[0]!, value.slice(1, 3), '00', '00'];
            value = value.slice(3);
          } else if (std === Std.ISO8601ColonSecondsTZ || std === Std.NumColonSecondsTZ) {
            if (value.length < 9 || value[3] !== ':' || value[6] !== ':') throw bad;
            parts = [value[0]!, value.slice(1, 3), value.slice(4, 6), value.slice(7, 9)];
            value = value.slice(9);
          } else if (std === Std.ISO8601SecondsTZ || std === Std.NumSecondsTz) {
            if (value.length < 7) throw bad;
            parts = [value[0]!, value.slice(1, 3), value.slice(3, 5), value.slice(5, 7)];
            value = value.slice(7);
          } else {
            if (value.length < 5) throw bad;
            parts = [value[0]!, value.slice(1, 3), value.slice(3, 5), '00'];
            value = value.slice(5);
          }
          const [sign, hh, mm, ss] = parts;
          const hr = getnum(hh, true)[0];
          const mi = getnum(mm, true)[0];
          const se = getnum(ss, true)[0];
          if (hr > 24) rangeErr = 'time zone offset hour';
          if (mi > 60) rangeErr = 'time zone offset minute';
          if (se > 60) rangeErr = 'time zone offset second';
          zoneOffset = (hr * 60 + mi) * 60 + se;
          if (sign === '-') zoneOffset = -zoneOffset;
          else if (sign !== '+') throw bad;
          break;
        }
        case Std.TZ: {
          if (value.startsWith('UTC')) {
            utc = true;
            value = value.slice(3);
            break;
          }
          const n = parseTimeZone(value);
          if (n === undefined) throw bad;
          zoneName = value.slice(0, n);
          value = value.slice(n);
          break;
        }
        case Std.FracSecond0: {
          const ndigit = 1 + digitsLen(std);
          if (value.length < ndigit) throw bad;
          nsec = parseNanoseconds(value, ndigit);
          value = value.slice(ndigit);
          break;
        }
        case Std.FracSecond9: {
          if (value.length < 2 || (value[0] !== '.' && value[0] !== ',') || !isDigit(value, 1)) break;
          let i = 0;
          while (i + 1 < value.length && isDigit(value, i + 1)) i++;
          nsec = parseNanoseconds(value, 1 + i);
          value = value.slice(1 + i);
          break;
        }
      }
    } catch (e) {
      if (!(e instanceof Bad)) throw e;
      if (rangeErr) throw parseError(alayout, avalue, stdstr, value, `: ${rangeErr} out of range`);
      throw parseError(alayout, avalue, stdstr, hold, '');
    }
    if (rangeErr) throw parseError(alayout, avalue, stdstr, value, `: ${rangeErr} out of range`);
  }
  if (pmSet && hour < 12) hour += 12;
  else if (amSet && hour === 12) hour = 0;

  if (yday >= 0) {
    let d = 0;
    let m = 0;
    if (isLeap(year)) {
      if (yday === 31 + 29) {
        m = 2;
        d = 29;
      } else if (yday > 31 + 29) yday--;
    }
    if (yday < 1 || yday > 365) throw parseError(alayout, avalue, '', value, ': day-of-year out of range');
    if (m === 0) {
      m = Math.floor((yday - 1) / 31) + 1;
      if (daysBefore(m + 1) < yday) m++;
      d = yday - daysBefore(m);
    }
    if (month >= 0 && month !== m) throw parseError(alayout, avalue, '', value, ': day-of-year does not match month');
    month = m;
    if (day >= 0 && day !== d) throw parseError(alayout, avalue, '', value, ': day-of-year does not match day');
    day = d;
  } else {
    if (month < 0) month = 1;
    if (day < 0) day = 1;
  }
  if (day < 1 || day > daysIn(month, year)) throw parseError(alayout, avalue, '', value, ': day out of range');

  const wallSec = daysFromCivil(year, month, day) * 86400 + hour * 3600 + min * 60 + sec;
  let offset = 0;
  if (!utc && zoneOffset !== -1) offset = zoneOffset;
  else if (!utc && zoneName !== '') {
    // an abbreviation `local` does not know ("PST", "GMT+3") only labels the wall clock, read as UTC: Go's fabricated
    // zone carries the offset without applying it
    offset = localOffsetNamed(local, zoneName, wallSec) ?? 0;
  }
  return BigInt(wallSec - offset) * NS + BigInt(nsec);
}

/** Go's Location.lookupName: the offset of a zone abbreviation in `local`, tried at the instant first. */
function localOffsetNamed(local: Zone, name: string, unix: number): number | undefined {
  const z = local.at(unix);
  if (z.name === name) {
    const again = local.at(unix - z.offset);
    if (again.name === name) return again.offset;
  }
  return undefined;
}
