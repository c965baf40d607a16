// Decision ids: UUIDv7 (RFC 9562), so ids sort by creation time (lexically, as strings) and any UUID parser accepts them.
// Within one process they are strictly increasing: a 12-bit counter in rand_a (RFC 9562 §6.2, method 1) orders ids
// made in the same millisecond, and the clock never goes backwards for the generator.
import { randomFillSync } from 'node:crypto';

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const POOL_SIZE = 8 * 1024;
const pool = Buffer.alloc(POOL_SIZE);
let poolOffset = POOL_SIZE;
let lastMs = 0;
let counter = 0;

function random8(): Buffer {
  if (poolOffset + 8 > POOL_SIZE) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const b = pool.subarray(poolOffset, poolOffset + 8);
  poolOffset += 8;
  return b;
}

/** A new UUIDv7 string, e.g. "019abf3c-7d2e-7a01-9c4b-3f1e2d5a6b7c". Cheap: no syscall per id. */
export function newDecisionId(now: number = Date.now()): string {
  if (now > lastMs) {
    lastMs = now;
    // Start each millisecond at a random point in the lower half, leaving room to count up.
    counter = random8()[0]! << 3;
  } else if (++counter > 0xfff) {
    // 4096 ids in one millisecond: borrow the next millisecond rather than lose ordering.
    lastMs++;
    counter = 0;
  }
  const ms = lastMs;
  const r = random8();
  const hi = Math.floor(ms / 0x10000); // upper 32 bits of the 48-bit time
  const lo = ms % 0x10000;
  return (
    HEX[(hi >>> 24) & 0xff]! + HEX[(hi >>> 16) & 0xff]! + HEX[(hi >>> 8) & 0xff]! + HEX[hi & 0xff]! + '-' +
    HEX[lo >>> 8]! + HEX[lo & 0xff]! + '-' +
    HEX[0x70 | (counter >>> 8)]! + HEX[counter & 0xff]! + '-' +
    HEX[0x80 | (r[0]! & 0x3f)]! + HEX[r[1]!]! + '-' +
    HEX[r[2]!]! + HEX[r[3]!]! + HEX[r[4]!]! + HEX[r[5]!]! + HEX[r[6]!]! + HEX[r[7]!]!
  );
}

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

/** The creation time of a UUIDv7 decision id, or undefined for any other id. */
export function decisionIdTime(id: string): Date | undefined {
  if (!UUID_V7.test(id)) return undefined;
  return new Date(parseInt(id.slice(0, 8) + id.slice(9, 13), 16));
}
