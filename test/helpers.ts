// Shared test helpers: one engine per test file, seeded random data, a float64-vs-GPU compare
// that prints the first values and the max difference (llm.c's check_tensor), and a central
// finite-difference gradient of a float64 CPU reference.
import * as assert from 'uvu/assert';
// Dawn in Node; the browser suite's bundle resolves this module to the core's createEngine (navigator.gpu).
import { createEngine } from '../src/node/dawn.js';
import type { Engine, Rng } from '../src/index.js';

let engine: Engine | undefined;
export async function gpu(): Promise<Engine> {
  engine ??= await createEngine();
  return engine;
}
export function disposeGpu(): void {
  engine?.dispose();
  engine = undefined;
}

/** mulberry32: a seeded source, so every random choice of a test reproduces. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Deterministic uniform numbers in [lo, hi) from a seed. */
export function rand(n: number, seed: number, lo = -1, hi = 1): Float64Array {
  const r = rng(seed);
  return Float64Array.from({ length: n }, () => lo + (hi - lo) * r());
}

/** Assert |actual − expected| ≤ atol + rtol·|expected| everywhere. */
export function close(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  atol: number,
  rtol: number,
  label: string,
): number {
  assert.is(actual.length, expected.length, `${label}: length`);
  let maxdiff = 0,
    worst = -1;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= atol + rtol * Math.abs(expected[i]))) {
      if (worst < 0 || d > maxdiff) worst = i;
    }
    if (!(d <= maxdiff)) maxdiff = d;
  }
  if (worst >= 0) {
    const head = Array.from({ length: Math.min(5, expected.length) }, (_, i) => `${actual[i]} vs ${expected[i]}`).join(
      ', ',
    );
    assert.unreachable(
      `${label}: mismatch at ${worst}: ${actual[worst]} vs ${expected[worst]} (maxdiff ${maxdiff}); first: ${head}`,
    );
  }
  return maxdiff;
}

/**
 * True when `check` fails (throws, uvu's assertions included): negative controls use it, since
 * uvu's assert.throws passes its own assertion errors through.
 */
export function fails(check: () => unknown): boolean {
  try {
    check();
  } catch {
    return true;
  }
  return false;
}

/**
 * Central finite differences of f (a scalar function of x, computed in float64) at x.
 * Returns df/dx for every element.
 */
export function numericGrad(f: (x: Float64Array) => number, x: Float64Array, h = 1e-4): Float64Array {
  const g = new Float64Array(x.length);
  const xp = Float64Array.from(x);
  for (let i = 0; i < x.length; i++) {
    const v = xp[i];
    xp[i] = v + h;
    const fp = f(xp);
    xp[i] = v - h;
    const fm = f(xp);
    xp[i] = v;
    g[i] = (fp - fm) / (2 * h);
  }
  return g;
}

/** Σ w·y: a random linear functional turns any op into a scalar for gradient checks. */
export const dot = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};

/** An engine whose storage bindings hold only 64 KiB, so small shapes exercise the chunked paths. */
export const cappedEngine = (bytes = 64 * 1024): Promise<Engine> =>
  createEngine({ limits: { maxStorageBufferBindingSize: bytes } });

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/**
 * A binding size that splits a batch of items of these sizes (floats each) into chunks on this
 * device: chunk starts must be aligned (lavapipe 16 bytes, SwiftShader and most GPUs 256), so a
 * chunk holds a multiple of `step` items. The size holds exactly one step of the largest item, and
 * `items` (2 steps + 1) makes at least three chunks, the last one short.
 */
export function chunking(e: Engine, perItem: readonly number[]): { items: number; bindingElems: number } {
  const align = Math.max(1, e.limits.minStorageBufferOffsetAlignment / 4);
  let step = 1;
  for (const size of perItem) {
    const k = align / gcd(align, size);
    step = (step * k) / gcd(step, k);
  }
  return { items: Math.max(3, 2 * step + 1), bindingElems: step * Math.max(...perItem) };
}

/**
 * A fuzzer's mutation of `b`: up to 4 random bytes changed, a truncation, or random bytes of up to
 * `maxLen`, or one of the format's own `extra` mutations, chosen uniformly.
 */
export function mutateBytes(
  b: Uint8Array,
  r: Rng,
  maxLen: number,
  extra: ReadonlyArray<(b: Uint8Array) => Uint8Array>,
): Uint8Array {
  const k = r.int(3 + extra.length);
  if (k === 0) {
    for (let n = r.int(4) + 1; n > 0; n--) b[r.int(b.length)] = r.int(256);
    return b;
  }
  if (k === 1) return b.subarray(0, r.int(b.length + 1));
  if (k === 2) return Uint8Array.from({ length: r.int(maxLen) }, () => r.int(256));
  return extra[k - 3](b);
}
