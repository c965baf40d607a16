// Kafka's zig-zag varints (record lengths, offsets, key/value/header sizes inside a record batch).

export function varintBytes(n: number): number {
  let v = (n << 1) ^ (n >> 31);
  let bytes = 1;
  while ((v & 0xffffff80) !== 0) {
    bytes++;
    v >>>= 7;
  }
  return bytes;
}

/** Writes n (a 32-bit integer) at buf[at]; returns the offset after it. */
export function writeVarint(buf: Uint8Array, at: number, n: number): number {
  let v = (n << 1) ^ (n >> 31);
  while ((v & 0xffffff80) !== 0) {
    buf[at++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[at++] = v;
  return at;
}

/** A length-prefixed byte string as it appears in a record (key, header name or value). */
export function varintPrefixed(bytes: Buffer): Buffer {
  const out = Buffer.allocUnsafe(varintBytes(bytes.length) + bytes.length);
  bytes.copy(out, writeVarint(out, 0, bytes.length));
  return out;
}
