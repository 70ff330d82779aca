// Seedable deterministic PRNG (xoshiro128**, seeded by splitmix32) for shuffling and augmentation.
// Its whole state is four uint32 words, so a checkpoint can save and restore it exactly.
import { AlexnetError } from '../errors.js';

/** splitmix32 step: a good 32-bit mixer, used to expand seeds and to hash (seed, epoch, index) keys. */
function mix32(x: number): number {
  x = (x + 0x9e3779b9) | 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/**
 * Hash any number of integer keys into one 32-bit seed. Keys may be up to 2^53 (the high part is
 * folded in too), so (seed, epoch, position) tuples never collide by truncation.
 */
export function hashSeed(...keys: number[]): number {
  let h = 0x6a09e667;
  for (const k of keys) {
    if (!Number.isSafeInteger(k)) throw new AlexnetError(`rng key must be a safe integer, got ${k}`);
    const lo = k >>> 0;
    const hi = Math.floor(k / 4294967296) >>> 0;
    h = mix32(h ^ lo);
    h = mix32(h ^ hi ^ 0x5bd1e995);
  }
  return h;
}

export type RngState = [number, number, number, number];

export class Rng {
  private s = new Uint32Array(4);

  /** Seed from one or more integer keys, e.g. new Rng(seed) or Rng.from(seed, epoch, index). */
  constructor(seed = 0) {
    let x = hashSeed(seed);
    for (let i = 0; i < 4; i++) {
      x = mix32(x);
      this.s[i] = x;
    }
    // xoshiro must not start from the all-zero state.
    if ((this.s[0] | this.s[1] | this.s[2] | this.s[3]) === 0) this.s[0] = 1;
  }

  static from(...keys: number[]): Rng {
    return new Rng(hashSeed(...keys));
  }

  /** Next raw uint32 (xoshiro128**). */
  u32(): number {
    const s = this.s;
    const r = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return r;
  }

  /** Uniform float in [0, 1) with 32 random bits. */
  next(): number {
    return this.u32() / 4294967296;
  }

  /** Uniform integer in [0, n), unbiased (rejection sampling); n in 1..2^32. */
  int(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > 4294967296)
      throw new AlexnetError(`Rng.int: n must be an integer in 1..2^32, got ${n}`);
    const limit = 4294967296 - (4294967296 % n);
    let r: number;
    do r = this.u32();
    while (r >= limit);
    return r % n;
  }

  /** Standard normal N(0, 1) by Box–Muller; no cached spare, so state() captures everything. */
  normal(): number {
    const u = (this.u32() + 1) / 4294967297; // (0, 1): log never sees 0
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  state(): RngState {
    return [this.s[0], this.s[1], this.s[2], this.s[3]];
  }

  restore(state: readonly number[]): this {
    if (
      state.length !== 4 ||
      !state.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffffffff) ||
      state.every((w) => w === 0)
    ) {
      throw new AlexnetError(`Rng.restore: expected four uint32 words, not all zero, got [${state.join(',')}]`);
    }
    this.s.set(state);
    return this;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** In-place Fisher–Yates shuffle; returns the same array. */
export function shuffle<T extends { length: number; [i: number]: unknown }>(array: T, rng: Rng): T {
  for (let i = array.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = array[i];
    array[i] = array[j];
    array[j] = t;
  }
  return array;
}
