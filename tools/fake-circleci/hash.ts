// Deterministic hashing helpers for the fake CircleCI world.
//
// Everything large in the world (pipelines, workflows, jobs) is derived on demand from
// (seed, indices) through these integer hashes, so a world of a million jobs costs no
// memory until a request asks for one of them.

import { createHmac } from 'node:crypto';

/** murmur3 finalizer: a good 32-bit avalanche. */
export function mix32(input: number): number {
  let h = input >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Hash a list of 32-bit integers into one unsigned 32-bit integer. */
export function hashInts(...xs: number[]): number {
  let h = 0x811c9dc5;
  for (const x of xs) {
    h = mix32((h ^ mix32((x >>> 0) + 0x9e3779b9)) + 0x7f4a7c15);
  }
  return h;
}

/** FNV-1a over the UTF-16 code units, then mixed. */
export function hashStr(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return mix32(h);
}

/** A float in [0, 1) from a 32-bit hash. */
export function unit(h: number): number {
  return (h >>> 0) / 0x100000000;
}

/** An integer in [lo, hi] (inclusive) from a 32-bit hash. */
export function between(h: number, lo: number, hi: number): number {
  return lo + Math.floor(unit(h) * (hi - lo + 1));
}

/** Pick one element of a non-empty list from a 32-bit hash. */
export function pick<T>(h: number, list: readonly T[]): T {
  const item = list[(h >>> 0) % list.length];
  if (item === undefined) throw new Error('pick from an empty list');
  return item;
}

export function hex8(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}

/** A random-looking (v4-shaped) UUID from a hash key; not invertible. */
export function uuidFrom(...key: number[]): string {
  const w0 = hashInts(...key, 0);
  const w1 = hashInts(...key, 1);
  const w2 = hashInts(...key, 2);
  const w3 = hashInts(...key, 3);
  const hex = hex8(w0) + hex8(w1) + hex8(w2) + hex8(w3);
  const variant = '89ab'[w3 & 3] ?? '8';
  return (
    `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-` +
    `${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`
  );
}

/** A 40-hex-digit string (a git sha, a token body). */
export function hex40(...key: number[]): string {
  let out = '';
  for (let i = 0; i < 5; i++) out += hex8(hashInts(...key, 100 + i));
  return out;
}

// ---------------------------------------------------------------------------------------
// Invertible ids: a 64-bit payload (kind and indices) is enciphered with a keyed Feistel
// network and laid out as a v4-shaped UUID together with a 32-bit check word. The world
// can decode a pipeline/workflow/job id back to its indices without any lookup table,
// and an id that was not minted by this world (wrong seed, random uuid) fails the check.
// ---------------------------------------------------------------------------------------

function feistelRound(half: number, key: number, round: number): number {
  return hashInts(key, round, half);
}

export function encipher64(hi: number, lo: number, key: number): [number, number] {
  let l = hi >>> 0;
  let r = lo >>> 0;
  for (let round = 0; round < 4; round++) {
    const next = (l ^ feistelRound(r, key, round)) >>> 0;
    l = r;
    r = next;
  }
  return [l, r];
}

export function decipher64(hi: number, lo: number, key: number): [number, number] {
  let l = hi >>> 0;
  let r = lo >>> 0;
  for (let round = 3; round >= 0; round--) {
    const prev = (r ^ feistelRound(l, key, round)) >>> 0;
    r = l;
    l = prev;
  }
  return [l, r];
}

export function encodeId(hi: number, lo: number, key: number): string {
  const [eh, el] = encipher64(hi, lo, key);
  const check = hex8(hashInts(key, eh, el, 0xc0ffee));
  const filler = hashInts(key, el, eh, 0xf111);
  const h = hex8(eh);
  const l = hex8(el);
  const variant = '89ab'[filler & 3] ?? '8';
  const tail = check + hex8(filler).slice(0, 6); // 14 hex digits
  return `${h}-${l.slice(0, 4)}-4${l.slice(4, 7)}-${variant}${l.slice(7, 8)}${tail.slice(0, 2)}-${tail.slice(2, 14)}`;
}

export function decodeId(id: string, key: number): [number, number] | undefined {
  const m = /^([0-9a-f]{8})-([0-9a-f]{4})-4([0-9a-f]{3})-[89ab]([0-9a-f])([0-9a-f]{2})-([0-9a-f]{12})$/.exec(
    id.toLowerCase(),
  );
  if (!m) return undefined;
  const [, h, l1, l2, l3, t1, t2] = m as unknown as [string, string, string, string, string, string, string];
  const eh = parseInt(h, 16) >>> 0;
  const el = parseInt(l1 + l2 + l3, 16) >>> 0;
  const check = (t1 + t2).slice(0, 8);
  if (check !== hex8(hashInts(key, eh, el, 0xc0ffee))) return undefined;
  return decipher64(eh, el, key);
}

/** Short keyed MAC (hex) used to make page tokens opaque and tamper-evident. */
export function mac(secret: string, text: string): string {
  return createHmac('sha256', secret).update(text).digest('hex').slice(0, 16);
}
