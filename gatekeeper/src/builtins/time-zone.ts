// Time zones as Go's time.LoadLocation sees them: the system's tzdata files (/usr/share/zoneinfo, TZif) give the
// offsets and abbreviations Go uses ("CET", not Intl's "GMT+1"); past a zone's last transition, and for zones without
// a file, Intl gives the offset. Go's OPA embeds tzdata, so a name Intl knows is valid even without the files.
import fs from 'node:fs';
import path from 'node:path';

export interface ZoneAt {
  /** Seconds east of UTC. */
  offset: number;
  /** Abbreviation, as Go prints it for the "MST" layout element. */
  name: string;
}

export interface Zone {
  at(unixSeconds: number): ZoneAt;
}

export class UnknownZoneError extends Error {}

const zoneDirs = [process.env.ZONEINFO, '/usr/share/zoneinfo', '/usr/share/lib/zoneinfo', '/usr/lib/locale/TZ', '/etc/zoneinfo'].filter(
  (d): d is string => !!d,
);

const UTC: Zone = { at: () => ({ offset: 0, name: 'UTC' }) };
const cache = new Map<string, Zone>();

/** Go's LoadLocation: "" and "UTC" are UTC, "Local" the process's zone, anything else an IANA name. */
export function loadZone(name: string): Zone {
  if (name === '' || name === 'UTC') return UTC;
  let zone = cache.get(name);
  if (!zone) {
    zone = name === 'Local' ? localZone() : namedZone(name);
    if (cache.size > 500) cache.clear();
    cache.set(name, zone);
  }
  return zone;
}

function namedZone(name: string): Zone {
  if (name.includes('..') || name[0] === '/' || name[0] === '\\') throw new UnknownZoneError('time: invalid location name');
  const file = readTzif(zoneDirs.map((d) => path.join(d, name)));
  const canonical = intlName(name);
  // Go's names are case-sensitive; Intl's are not (it answers with the canonical spelling)
  if (!file && canonical !== name) throw new UnknownZoneError(`unknown time zone ${name}`);
  return tzifZone(file, canonical ? intlOffset(name) : () => 0);
}

function localZone(): Zone {
  const tz = process.env.TZ?.replace(/^:/, '');
  if (tz === '' || tz === 'UTC') return UTC;
  const file = readTzif(tz ? zoneDirs.map((d) => path.join(d, tz)) : ['/etc/localtime']);
  if (!file && !(tz && intlName(tz))) return UTC;
  return tzifZone(file, intlOffset(tz && intlName(tz) ? tz : undefined));
}

function intlName(name: string): string | undefined {
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}

/** Offset (seconds east of UTC) of an IANA zone at an instant, from ICU. */
function intlOffset(name: string | undefined): (unixSeconds: number) => number {
  const fmt = new Intl.DateTimeFormat('en-US', { timeZone: name, timeZoneName: 'longOffset', year: 'numeric' });
  return (s) => {
    const part = fmt.formatToParts(new Date(s * 1000)).find((p) => p.type === 'timeZoneName')?.value ?? 'GMT';
    const m = /^GMT([+-])(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(part);
    if (!m) return 0;
    return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 3600 + Number(m[3]) * 60 + Number(m[4] ?? 0));
  };
}

interface Tzif {
  transitions: number[];
  typeOf: number[];
  types: Array<{ offset: number; isDst: boolean; name: string }>;
  /** The POSIX TZ footer's standard and daylight abbreviations and standard offset, for times past the last transition. */
  footer?: { std: string; stdOffset: number; dst?: string };
}

function readTzif(candidates: string[]): Tzif | undefined {
  for (const file of candidates) {
    let data: Buffer;
    try {
      data = fs.readFileSync(file);
    } catch {
      continue;
    }
    const parsed = parseTzif(data);
    if (parsed) return parsed;
  }
  return undefined;
}

/** RFC 8536: the version 2+ (64-bit) data block when present, else version 1. */
function parseTzif(buf: Buffer): Tzif | undefined {
  if (buf.length < 44 || buf.toString('latin1', 0, 4) !== 'TZif') return undefined;
  const counts = (at: number) => [0, 1, 2, 3, 4, 5].map((i) => buf.readUInt32BE(at + 20 + i * 4)) as [number, number, number, number, number, number];
  let at = 0;
  let timeSize = 4;
  let [isut, isstd, leap, timecnt, typecnt, charcnt] = counts(0);
  if (buf[4]! >= 0x32) {
    at = 44 + timecnt * 4 + timecnt + typecnt * 6 + charcnt + leap * 8 + isstd + isut;
    if (buf.length < at + 44) return undefined;
    [isut, isstd, leap, timecnt, typecnt, charcnt] = counts(at);
    timeSize = 8;
  }
  let p = at + 44;
  const transitions: number[] = [];
  for (let i = 0; i < timecnt; i++, p += timeSize) transitions.push(timeSize === 8 ? Number(buf.readBigInt64BE(p)) : buf.readInt32BE(p));
  const typeOf = [...buf.subarray(p, p + timecnt)];
  p += timecnt;
  const rawTypes = [];
  for (let i = 0; i < typecnt; i++, p += 6) rawTypes.push({ offset: buf.readInt32BE(p), isDst: buf[p + 4] === 1, abbr: buf[p + 5]! });
  const chars = buf.subarray(p, p + charcnt);
  const types = rawTypes.map((t) => ({ offset: t.offset, isDst: t.isDst, name: chars.toString('latin1', t.abbr, chars.indexOf(0, t.abbr)) }));
  p += charcnt + leap * (timeSize + 4) + isstd + isut;
  let footer: Tzif['footer'];
  if (timeSize === 8 && buf[p] === 0x0a) footer = parsePosixTz(buf.toString('latin1', p + 1, buf.indexOf(0x0a, p + 1)));
  return { transitions, typeOf, types, footer };
}

function parsePosixTz(s: string): Tzif['footer'] {
  const m = /^(<[^>]+>|[A-Za-z]{3,})([+-]?\d{1,2}(?::\d{2}){0,2})(<[^>]+>|[A-Za-z]{3,})?/.exec(s);
  if (!m) return undefined;
  const [h = 0, mi = 0, se = 0] = m[2]!.replace(/^[+-]/, '').split(':').map(Number);
  const stdOffset = (m[2]!.startsWith('-') ? 1 : -1) * (h * 3600 + mi * 60 + se);
  const unquote = (x: string) => x.replace(/^<|>$/g, '');
  return { std: unquote(m[1]!), stdOffset, dst: m[3] && unquote(m[3]) };
}

/** Go's Location.lookup over a TZif file; past the last transition (or with no file) the offset comes from ICU. */
function tzifZone(file: Tzif | undefined, intl: (unixSeconds: number) => number): Zone {
  if (!file || !file.types.length) {
    return { at: (s) => ({ offset: intl(s), name: numericName(intl(s)) }) };
  }
  const { transitions, typeOf, types, footer } = file;
  const first = firstZone(file);
  return {
    at(s) {
      if (!transitions.length || s < transitions[0]!) return { offset: types[first]!.offset, name: types[first]!.name };
      let lo = 0;
      let hi = transitions.length;
      while (hi - lo > 1) {
        const mid = (lo + hi) >> 1;
        if (s < transitions[mid]!) hi = mid;
        else lo = mid;
      }
      const last = types[typeOf[lo]!]!;
      if (lo < transitions.length - 1 || !footer) return { offset: last.offset, name: last.name };
      const offset = intl(s);
      if (offset === footer.stdOffset) return { offset, name: footer.std };
      const named = footer.dst ?? [...types].reverse().find((t) => t.offset === offset)?.name;
      return { offset, name: named ?? numericName(offset) };
    },
  };
}

function firstZone({ transitions, typeOf, types }: Tzif): number {
  if (!typeOf.includes(0)) return 0;
  if (transitions.length && types[typeOf[0]!]!.isDst) {
    for (let zi = typeOf[0]! - 1; zi >= 0; zi--) if (!types[zi]!.isDst) return zi;
  }
  const std = types.findIndex((t) => !t.isDst);
  return std < 0 ? 0 : std;
}

/** tzdata's name for a zone without letters: "+04", "+0530", "-03". */
function numericName(offset: number): string {
  const abs = Math.abs(offset);
  const hh = String(Math.floor(abs / 3600)).padStart(2, '0');
  const mm = Math.floor((abs % 3600) / 60);
  return (offset < 0 ? '-' : '+') + hh + (mm ? String(mm).padStart(2, '0') : '');
}
