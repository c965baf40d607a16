// Human-friendly sizes ("1Gi", "500Mi", "64KiB", "10MB", plain bytes) and durations ("500ms", "30s", "5m", "24h", "7d").

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  m: 1e6,
  mb: 1e6,
  g: 1e9,
  gb: 1e9,
  t: 1e12,
  tb: 1e12,
  ki: 1024,
  kib: 1024,
  mi: 1024 ** 2,
  mib: 1024 ** 2,
  gi: 1024 ** 3,
  gib: 1024 ** 3,
  ti: 1024 ** 4,
  tib: 1024 ** 4,
};

/** Bytes from a number or a string like "1Gi"; throws an Error whose message says what is accepted. */
export function parseSize(value: unknown): number {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return Math.floor(value);
  if (typeof value === 'string') {
    const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(value);
    const unit = m ? SIZE_UNITS[m[2]!.toLowerCase()] : undefined;
    if (m && unit !== undefined) return Math.floor(Number(m[1]) * unit);
  }
  throw new Error(`must be a size: bytes or a number with a unit (Ki, Mi, Gi, Ti, KB, MB, GB), e.g. "500Mi"`);
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Milliseconds from a number (ms) or a string like "30s", "7d". */
export function parseDuration(value: unknown): number {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value;
  if (typeof value === 'string') {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(value);
    if (m) return Number(m[1]) * DURATION_UNITS[m[2] ?? 'ms']!;
  }
  throw new Error(`must be a duration: milliseconds or a number with a unit (ms, s, m, h, d), e.g. "30s"`);
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

/** A duration as the config writes it: "30s" rather than 30000. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  for (const [unit, size] of Object.entries(DURATION_UNITS).reverse()) if (unit !== 'ms' && ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}

/** A size as the config writes it: "4Mi" rather than 4194304. */
export function formatSize(bytes: number): string {
  for (const unit of ['Ti', 'Gi', 'Mi', 'Ki']) {
    const size = SIZE_UNITS[unit.toLowerCase()]!;
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return `${bytes}B`;
}

/** Schema keyword marking a config key whose value carries a unit (see config/unit-keys.ts). */
export const UNIT = 'x-unit';
export type Unit = 'duration' | 'size';

/**
 * JSON Schema of a duration key ("250ms", "30s", "10m", "7d"), at least `min` milliseconds; in the resolved config it
 * becomes `<key>Ms`, in milliseconds.
 */
export function durationSchema(dflt?: string, opts: { min?: number } = {}) {
  return { type: 'string', format: 'duration', [UNIT]: 'duration', ...(opts.min ? { minMs: opts.min } : {}), ...(dflt === undefined ? {} : { default: dflt }) } as const;
}

/** JSON Schema of a size key ("512B", "64Ki", "32Mi", "1Gi"), at least `min` bytes; in the resolved config, bytes. */
export function sizeSchema(dflt?: string, opts: { min?: number } = {}) {
  return { type: 'string', format: 'size', [UNIT]: 'size', ...(opts.min ? { minBytes: opts.min } : {}), ...(dflt === undefined ? {} : { default: dflt }) } as const;
}
