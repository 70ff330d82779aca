// Pooling and LRN kernels at AlexNet's shapes (llm.c dev/cuda style): first validate each op's
// forward and backward against the float64 CPU references at the real C×H×W (batch 2), then time
// forward and backward at batch 8 and 32 and print ms and GB/s.
// Timing: wall time of encode + engine.sync() (submit and wait), median of REPS runs after WARMUP.
// GB/s counts the bytes each op's kernels must read and write once per element (overlapping
// windows re-read from cache are not counted):
//   maxpool fwd  x + y + argmax        maxpool bwd  dy + argmax + dx
//   lrn fwd      x + y                 lrn bwd      x + dy + dx (the scale is recomputed)
// Run: node scripts/build.mjs bench && node build/bench/pool_lrn.bench.js
import { createEngine, tensor, type Engine, type Tensor } from '../src/index.js';
import { lrn, lrnBackward, PAPER_LRN } from '../src/ops/lrn.js';
import { maxPool2dBackward, maxPool2dForward, type Pool2dOptions } from '../src/ops/pool.js';
import { maxPool2dBackwardRef, maxPool2dRef, type Shape4 } from '../test/ref/pool.js';
import { lrnBackwardRef, lrnRef } from '../test/ref/lrn.js';

const WARMUP = 2, REPS = 7;
const POOL: Pool2dOptions = { kernel: 3, stride: 2 };

interface Spec { name: string; kind: 'pool' | 'lrn'; chw: [number, number, number] }
const SPECS: Spec[] = [
  { name: 'pool1 96×55×55 3/2', kind: 'pool', chw: [96, 55, 55] },
  { name: 'pool2 256×27×27 3/2', kind: 'pool', chw: [256, 27, 27] },
  { name: 'pool5 256×13×13 3/2', kind: 'pool', chw: [256, 13, 13] },
  { name: 'lrn1 96×55×55', kind: 'lrn', chw: [96, 55, 55] },
  { name: 'lrn2 256×27×27', kind: 'lrn', chw: [256, 27, 27] },
];

function random(n: number, seed: number, lo: number, hi: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = lo + (hi - lo) * (s / 4294967296);
  }
  return out;
}

function maxdiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]) / (1 + Math.abs(b[i])));
  return m;
}

function check(label: string, got: ArrayLike<number>, want: ArrayLike<number>, tol: number): void {
  const d = maxdiff(got, want);
  const ok = d <= tol;
  console.log(`  ${ok ? 'OK    ' : 'NOT OK'} ${label.padEnd(34)} maxdiff ${d.toExponential(2)} (tol ${tol})`);
  if (!ok) throw new Error(`validation failed: ${label}`);
}

/** Forward and backward of one op on x; returns the outputs to dispose and the input gradient. */
function run(e: Engine, s: Spec, x: Tensor, dyFor: (shape: readonly number[]) => Tensor) {
  if (s.kind === 'pool') {
    const { y, argmax } = maxPool2dForward(x, POOL);
    return { y, extra: argmax, backward: (dy: Tensor) => maxPool2dBackward(dy, argmax, x.shape, POOL), dy: dyFor(y.shape) };
  }
  const y = lrn(x, PAPER_LRN);
  return { y, extra: undefined, backward: (dy: Tensor) => lrnBackward(x, dy, PAPER_LRN), dy: dyFor(y.shape) };
}

async function validate(e: Engine, s: Spec): Promise<void> {
  const shape: Shape4 = [2, ...s.chw];
  const n = shape.reduce((a, b) => a * b);
  const xs = random(n, 1, 0, 30); // post-ReLU-like magnitudes, so LRN's normalisation matters
  const x = tensor(e, xs, shape);
  const r = run(e, s, x, (sh) => tensor(e, random(sh.reduce((a, b) => a * b), 2, -1, 1), sh));
  const dys = await r.dy.read();
  const dx = r.backward(r.dy);
  if (s.kind === 'pool') {
    const ref = maxPool2dRef(xs, shape, POOL);
    check(`${s.name} forward`, await r.y.read(), ref.y, 0);
    check(`${s.name} argmax`, await r.extra!.read(), ref.argmax, 0);
    check(`${s.name} backward`, await dx.read(), maxPool2dBackwardRef(dys, ref.argmax, shape, ref.outShape), 1e-6);
  } else {
    check(`${s.name} forward`, await r.y.read(), lrnRef(xs, shape, PAPER_LRN), 1e-5);
    check(`${s.name} backward`, await dx.read(), lrnBackwardRef(xs, dys, shape, PAPER_LRN), 1e-4);
  }
  for (const t of [x, r.y, r.extra, r.dy, dx]) t?.dispose();
}

async function time(e: Engine, f: () => Tensor[]): Promise<number> {
  const ms: number[] = [];
  for (let i = 0; i < WARMUP + REPS; i++) {
    await e.sync();
    const t0 = performance.now();
    const outs = f();
    await e.sync();
    if (i >= WARMUP) ms.push(performance.now() - t0);
    outs.forEach((t) => t.dispose());
  }
  return ms.sort((a, b) => a - b)[REPS >> 1];
}

async function bench(e: Engine, s: Spec, batch: number): Promise<void> {
  const shape: Shape4 = [batch, ...s.chw];
  const n = shape.reduce((a, b) => a * b);
  const x = tensor(e, random(n, 3, 0, 30), shape);
  const r = run(e, s, x, (sh) => tensor(e, random(sh.reduce((a, b) => a * b), 4, -1, 1), sh));
  const inB = n * 4, outB = r.y.size * 4;
  const fwd = await time(e, () => {
    if (s.kind === 'pool') { const o = maxPool2dForward(x, POOL); return [o.y, o.argmax]; }
    return [lrn(x, PAPER_LRN)];
  });
  const bwd = await time(e, () => [r.backward(r.dy)]);
  const fwdBytes = s.kind === 'pool' ? inB + 2 * outB : 2 * inB;
  const bwdBytes = s.kind === 'pool' ? 2 * outB + inB : 3 * inB;
  const gbs = (bytes: number, ms: number) => (bytes / 1e6 / ms).toFixed(2);
  console.log(`  ${s.name.padEnd(22)} N=${String(batch).padEnd(3)} fwd ${fwd.toFixed(2).padStart(8)} ms ${gbs(fwdBytes, fwd).padStart(6)} GB/s` +
    `   bwd ${bwd.toFixed(2).padStart(8)} ms ${gbs(bwdBytes, bwd).padStart(6)} GB/s`);
  for (const t of [x, r.y, r.extra, r.dy]) t?.dispose();
}

const e = await createEngine();
try {
  const info = e.info();
  console.log(`pool_lrn bench on ${info.adapter.vendor} ${info.adapter.description || info.adapter.device} (software: ${info.software})`);
  console.log('validation vs float64 reference (batch 2, max |d|/(1+|ref|)):');
  for (const s of SPECS) await validate(e, s);
  console.log(`timing: median of ${REPS} after ${WARMUP} warm-up, wall time incl. submit + sync:`);
  for (const batch of [8, 32]) for (const s of SPECS) await bench(e, s, batch);
} finally {
  e.dispose();
}
