// Dropout (src/ops/dropout.ts, kernels/dropout.wgsl): reproducible masks from (seed, step), the
// kept fraction and the preserved mean on 1e5 elements, kept values scaled by exactly 1/(1−p),
// the backward recomputing the forward's mask, the same mask whatever the binding chunking, and
// evaluation as the identity.
// Tolerances (n = 1e5, binomial): kept fraction within 0.01 of 1 − p (≥ 6σ; σ = 0.0016 at p = 0.5,
// 0.00095 at p = 0.1); mean of y within 2% of mean of x (≥ 6σ); two independent masks at p = 0.5
// agree on 0.5 ± 0.02 of the elements; kept values equal x/(1−p) to float32 rounding (rtol 1e-6).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AlexnetError, Tape, parameter, tensor } from '../src/index.js';
import { dropout } from '../src/ops/dropout.js';
import { cappedEngine, close, disposeGpu, gpu, rand } from './helpers.js';

test.after(disposeGpu);

const N = 100_000;
const mean = (a: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s / a.length;
};

test('kept fraction ≈ 1 − p, kept values scaled by 1/(1 − p), mean preserved', async () => {
  const e = await gpu();
  const xs = rand(N, 1, 0.5, 1.5); // no zeros, so y = 0 means dropped
  const x = tensor(e, xs, [100, 1000]);
  for (const p of [0.5, 0.1]) {
    const y = await dropout(x, p, { seed: 7, step: 3, training: true }).read();
    let kept = 0;
    const scaled: number[] = [],
      expect: number[] = [];
    for (let i = 0; i < N; i++)
      if (y[i] !== 0) {
        kept++;
        scaled.push(y[i]);
        expect.push(xs[i] / (1 - p));
      }
    assert.ok(Math.abs(kept / N - (1 - p)) < 0.01, `p=${p}: kept fraction ${kept / N}`);
    close(scaled, expect, 0, 1e-6, `p=${p}: kept values`);
    const ratio = mean(y) / mean(xs);
    assert.ok(Math.abs(ratio - 1) < 0.02, `p=${p}: E[y]/E[x] = ${ratio}`);
  }
  x.dispose();
});

test('same seed and step give the same mask; another step or seed another one', async () => {
  const e = await gpu();
  const x = tensor(e, new Float32Array(N).fill(1), [N]);
  const run = async (seed: number, step: number) =>
    Array.from(await dropout(x, 0.5, { seed, step, training: true }).read(), (v) => v !== 0);
  const a = await run(1, 0),
    again = await run(1, 0),
    step1 = await run(1, 1),
    seed2 = await run(2, 0);
  assert.equal(again, a, 'reproducible');
  const agree = (u: boolean[], v: boolean[]) => u.reduce((s, m, i) => s + (m === v[i] ? 1 : 0), 0) / N;
  for (const [what, other] of [
    ['step', step1],
    ['seed', seed2],
  ] as const) {
    const f = agree(a, other);
    assert.ok(Math.abs(f - 0.5) < 0.02, `another ${what}: masks agree on ${f} (independent: 0.5)`);
  }
  x.dispose();
});

test('the backward applies the forward mask (recomputed, not stored)', async () => {
  const e = await gpu();
  const n = 4099,
    p = 0.3;
  const xs = rand(n, 3, 0.5, 1.5),
    gs = rand(n, 4);
  const x = parameter(e, xs, [n], 'x');
  const tape = new Tape(e);
  const y = tape.run(() => dropout(x, p, { seed: 11, step: 5, training: true }));
  const ys = await y.read();
  tape.backward(y, tensor(e, gs, [n]));
  const expect = Array.from(ys, (v, i) => (v !== 0 ? gs[i] / (1 - p) : 0));
  close(await x.grad!.read(), expect, 1e-7, 1e-6, 'dx = dy·mask/(1−p)');
  tape.dispose();
  x.dispose();
});

test('the mask does not depend on how the tensor is split into bindings', async () => {
  const e = await gpu();
  const small = await cappedEngine();
  try {
    const xs = rand(N, 9);
    const xa = tensor(e, xs, [N]),
      xb = tensor(small, xs, [N]);
    assert.ok(xb.chunks().length >= 6, 'capped engine binds 1e5 floats in chunks');
    const a = await dropout(xa, 0.5, { seed: 3, step: 8, training: true }).read();
    const b = await dropout(xb, 0.5, { seed: 3, step: 8, training: true }).read();
    assert.equal(Array.from(b), Array.from(a));
    xa.dispose();
    await small.sync(); // let queued uploads finish before the device goes
  } finally {
    small.dispose();
  }
});

test('evaluation and p = 0 are the identity without a dispatch; p = 1 drops all; bad p throws', async () => {
  const e = await gpu();
  const x = parameter(e, [1, -2, 3], [3], 'x');
  const count = e.dispatchCount;
  assert.is(dropout(x, 0.5, { seed: 1, step: 1, training: false }), x);
  assert.is(dropout(x, 0, { seed: 1, step: 1, training: true }), x);
  assert.is(e.dispatchCount, count);
  assert.equal(Array.from(await dropout(x, 1, { seed: 1, step: 1, training: true }).read()), [0, 0, 0]);
  for (const p of [-0.1, 1.5, NaN]) {
    assert.throws(
      () => dropout(x, p, { seed: 1, step: 1, training: true }),
      (err: unknown) => err instanceof AlexnetError && /dropout/.test((err as Error).message),
    );
  }
  x.dispose();
});

test.run();
