// Fully connected layer and matmul (src/ops/linear.ts, kernels/gemm.wgsl) against the float64
// reference (test/ref/linear.ts): every transpose combination, odd sizes that are no tile or vec4
// multiple, ReLU, weights split into 2–3 binding chunks on an engine with a capped binding size,
// gradients against finite differences, and ShapeErrors for bad operands.
// Tolerances: float32 sums of K products of values in [−1, 1] are compared with
// atol = 2e-7·K + 1e-6 and rtol = 1e-5 (observed errors are 5–10× smaller); finite differences
// (h = 1e-4 on the float64 reference) with atol 1e-4.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LimitError, ShapeError, parameter, Tape, tensor, type Engine } from '../src/index.js';
import { gemm, gemmCandidates, gemmLabel, linear, matmul } from '../src/ops/linear.js';
import { linearBackwardRef, linearRef, matmulRef, type LinearDims } from './ref/linear.js';
import { cappedEngine, close, disposeGpu, dot, gpu, numericGrad, rand } from './helpers.js';

test.after(disposeGpu);

const atolK = (K: number): number => 2e-7 * K + 1e-6;
/** [R,C] → [C,R] */
const transpose = (a: Float64Array, R: number, C: number): Float64Array =>
  Float64Array.from({ length: R * C }, (_, i) => a[(i % R) * C + Math.floor(i / R)]);

test('matmul: every transpose combination on odd shapes, forward and backward', async () => {
  const e = await gpu();
  const shapes: Array<[number, number, number]> = [
    [3, 13, 9],
    [5, 37, 130],
    [7, 1000, 1],
    [17, 36, 20],
  ]; // M, K, N
  let seed = 1;
  for (const [M, K, N] of shapes) {
    for (const transA of [false, true])
      for (const transB of [false, true]) {
        const as = rand(M * K, seed++),
          bs = rand(K * N, seed++),
          gs = rand(M * N, seed++);
        const a = parameter(e, as, transA ? [K, M] : [M, K], 'a'),
          b = parameter(e, bs, transB ? [N, K] : [K, N], 'b');
        const tape = new Tape(e);
        const c = tape.run(() => matmul(a, b, { transA, transB }));
        const label = `matmul ${M}x${K}x${N} tA=${transA} tB=${transB}`;
        assert.equal(c.shape, [M, N]);
        close(await c.read(), matmulRef(as, bs, M, K, N, transA, transB), atolK(K), 1e-5, label);
        tape.backward(c, tensor(e, gs, [M, N]));
        // d op(A) = G·op(B)ᵀ, d op(B) = op(A)ᵀ·G, then stored like A and B
        const dOpA = matmulRef(gs, bs, M, N, K, false, !transB); // [M,K]
        const dOpB = matmulRef(as, gs, K, M, N, !transA, false); // [K,N]
        const dA = transA ? transpose(dOpA, M, K) : dOpA;
        const dB = transB ? transpose(dOpB, K, N) : dOpB;
        close(await a.grad!.read(), dA, atolK(N), 1e-5, `${label} dA`);
        close(await b.grad!.read(), dB, atolK(M), 1e-5, `${label} dB`);
        tape.dispose();
        a.dispose();
        b.dispose();
      }
  }
});

test('linear reference: backward matches central finite differences (with and without ReLU)', () => {
  const d: LinearDims = { B: 3, inF: 5, out: 4 };
  const x = rand(15, 11),
    w = rand(20, 12),
    b = rand(4, 13, -0.5, 0.5),
    g = rand(12, 14);
  for (const relu of [false, true]) {
    const pre = linearRef(x, w, b, d);
    assert.ok(
      pre.every((v) => Math.abs(v) > 1e-3),
      'no pre-activation near the ReLU kink',
    );
    const y = linearRef(x, w, b, d, relu);
    const ref = linearBackwardRef(x, w, y, g, d, relu);
    close(
      ref.dx,
      numericGrad((xx) => dot(g, linearRef(xx, w, b, d, relu)), x),
      1e-6,
      1e-5,
      'ref dx',
    );
    close(
      ref.dw,
      numericGrad((ww) => dot(g, linearRef(x, ww, b, d, relu)), w),
      1e-6,
      1e-5,
      'ref dw',
    );
    close(
      ref.db,
      numericGrad((bb) => dot(g, linearRef(x, w, bb, d, relu)), b),
      1e-6,
      1e-5,
      'ref db',
    );
  }
});

/** Run linear + backward through the tape on `e` and compare y, dx, dw, db with the reference. */
async function checkLinear(
  e: Engine,
  d: LinearDims,
  relu: boolean,
  bias: boolean,
  seed: number,
  label: string,
): Promise<Float32Array[]> {
  const xs = rand(d.B * d.inF, seed),
    ws = rand(d.out * d.inF, seed + 1),
    bs = rand(d.out, seed + 2),
    gs = rand(d.B * d.out, seed + 3);
  const x = parameter(e, xs, [d.B, d.inF], 'x'),
    w = parameter(e, ws, [d.out, d.inF], 'w');
  const b = bias ? parameter(e, bs, [d.out], 'b') : undefined;
  const tape = new Tape(e);
  const y = tape.run(() => linear(x, w, b, { relu }));
  const yRef = linearRef(xs, ws, bias ? bs : undefined, d, relu);
  const out = [await y.readF32()];
  close(out[0], yRef, atolK(d.inF), 1e-5, `${label} y`);
  tape.backward(y, tensor(e, gs, [d.B, d.out]));
  const ref = linearBackwardRef(xs, ws, yRef, gs, d, relu);
  out.push(await x.grad!.readF32(), await w.grad!.readF32());
  close(out[1], ref.dx, atolK(d.out), 1e-5, `${label} dx`);
  close(out[2], ref.dw, atolK(d.B), 1e-5, `${label} dw`);
  if (b) close(await b.grad!.read(), ref.db, atolK(d.B), 1e-5, `${label} db`);
  tape.dispose();
  x.dispose();
  w.dispose();
  b?.dispose();
  return out;
}

test("every GEMM workgroup shape the tuner may choose matches float64 and today's choice bit for bit", async () => {
  const e = await gpu();
  try {
    for (const d of [
      { B: 5, inF: 37, out: 130 },
      { B: 33, inF: 70, out: 260 },
      { B: 6, inF: 68, out: 132 }, // every ld a multiple of 4: the vec4 paths
    ]) {
      e.tuner.force(undefined);
      const base = await checkLinear(e, d, true, true, 40, `linear ${d.B}x${d.inF}→${d.out}`);
      let most = 0;
      const seen = new Set<string>();
      assert.ok(
        e.subgroupKernels || !e.features.has('subgroups'),
        'the adapter has subgroups, the engine offers no subgroup kernel',
      );
      for (let k = 1; k === 1 || k < most; k++) {
        e.tuner.force((key) => {
          const m = /^gemm M(\d+) N(\d+) /.exec(key);
          if (!m) return undefined;
          const c = gemmCandidates(Number(m[1]), Number(m[2]), e.subgroupKernels);
          most = Math.max(most, c.length);
          seen.add(gemmLabel(c[Math.min(k, c.length - 1)]));
          return gemmLabel(c[Math.min(k, c.length - 1)]);
        });
        const got = await checkLinear(e, d, true, true, 40, `linear ${d.B}x${d.inF}→${d.out} candidate ${k}`);
        got.forEach((a, i) =>
          assert.ok(
            a.every((v, j) => Object.is(v, base[i][j])),
            `output ${i}, candidate ${k}`,
          ),
        );
      }
      assert.ok(most >= 3, `${most} candidates`);
      for (const l of ['tiled64x64', ...(e.subgroupKernels ? ['subgroup8x256', 'subgroup256x8'] : [])])
        assert.ok(seen.has(l), `${l} was not run (ran ${[...seen].join(', ')})`);
    }
  } finally {
    e.tuner.force(undefined);
  }
});

test('GEMM on rows longer than K or N (their tails NaN), every variant: float64, and bit for bit with the default', async () => {
  const e = await gpu();
  const M = 70,
    N = 68, // C rows start on a vec4 too: every operand aligned
    K = 21,
    lda = 24, // ≥ K (or M when transposed: 72), a multiple of 4 so the vec4 paths run
    ldb = 72;
  // a row of `len` values whose first `used` are v's, the rest NaN: a GEMM that reads past K or N shows it
  const rows = (v: Float64Array, n: number, len: number, used: number) =>
    Float32Array.from({ length: n * len }, (_, i) =>
      i % len < used ? v[Math.floor(i / len) * used + (i % len)] : NaN,
    );
  try {
    for (const transA of [false, true]) {
      const ld = transA ? 72 : lda;
      const as = rand(M * K, 7),
        bs = rand(K * N, 8); // op(A) row-major [M, K] as stored (transposed: [K, M]); B [K, N]
      const a = tensor(e, transA ? rows(as, K, ld, M) : rows(as, M, ld, K), [(transA ? K : M) * ld]);
      const b = tensor(e, rows(bs, K, ldb, N), [K * ldb]);
      const opA = (m: number, k: number) => (transA ? as[k * M + m] : as[m * K + k]);
      const want = Float64Array.from({ length: M * N }, (_, i) => {
        let sum = 0;
        for (let k = 0; k < K; k++) sum += opA(Math.floor(i / N), k) * bs[k * N + (i % N)];
        return sum;
      });
      let base: Float32Array | undefined;
      for (const v of gemmCandidates(M, N, e.subgroupKernels)) {
        const c = tensor(e, new Float32Array(M * N), [M * N]);
        e.tuner.force((key) => (key.startsWith('gemm ') ? gemmLabel(v) : undefined));
        gemm({
          M,
          N,
          K,
          transA,
          a: { t: a, start: 0, count: a.size, ld, off: 0 },
          b: { t: b, start: 0, count: b.size, ld: ldb, off: 0 },
          c: { t: c, start: 0, count: c.size, ld: N, off: 0 },
        });
        const got = await c.readF32();
        close(got, want, atolK(K), 1e-5, `${gemmLabel(v)} transA=${transA}`);
        base ??= got;
        assert.ok(
          got.every((x, j) => Object.is(x, base![j])),
          `${gemmLabel(v)} transA=${transA} differs from the default`,
        );
        c.dispose();
      }
      a.dispose();
      b.dispose();
    }
  } finally {
    e.tuner.force(undefined);
  }
});

test('linear forward and backward match float64 on odd shapes, with and without ReLU', async () => {
  const e = await gpu();
  const shapes: LinearDims[] = [
    { B: 3, inF: 13, out: 9 },
    { B: 5, inF: 37, out: 130 },
    { B: 7, inF: 1000, out: 1 },
    { B: 8, inF: 64, out: 36 },
  ];
  let seed = 100;
  for (const d of shapes) {
    for (const relu of [false, true])
      await checkLinear(e, d, relu, true, (seed += 10), `linear ${d.B}x${d.inF}→${d.out} relu=${relu}`);
  }
  await checkLinear(e, { B: 5, inF: 37, out: 9 }, false, false, 7, 'linear without bias');
});

test('linear with weights split into 2 and 3 binding chunks (64 KiB bindings) matches float64', async () => {
  const e = await cappedEngine();
  try {
    for (const [d, chunks] of [
      [{ B: 3, inF: 37, out: 600 }, 2],
      [{ B: 4, inF: 1000, out: 40 }, 3],
    ] as Array<[LinearDims, number]>) {
      const probe = tensor(e, new Float32Array(d.out * d.inF), [d.out, d.inF]);
      assert.is(probe.chunks(d.inF).length, chunks, `weight [${d.out},${d.inF}] is bound in ${chunks} chunks`);
      probe.dispose();
      for (const relu of [false, true])
        await checkLinear(e, d, relu, true, 40 + d.inF, `chunked linear ${d.B}x${d.inF}→${d.out} relu=${relu}`);
    }
    // only the weight may span bindings: an activation that does not fit is refused up front
    const big = tensor(e, new Float32Array(300 * 100), [300, 100]),
      w = tensor(e, new Float32Array(200), [2, 100]);
    assert.throws(
      () => linear(big, w),
      (err: unknown) => err instanceof LimitError && /linear: x \[300,100\]/.test((err as Error).message),
    );
    big.dispose();
    w.dispose();
    await e.sync(); // let queued uploads finish before the device goes
  } finally {
    e.dispose();
  }
});

test('linear GPU gradients match finite differences of the float64 reference', async () => {
  const e = await gpu();
  const d: LinearDims = { B: 3, inF: 5, out: 4 };
  const xs = rand(15, 11),
    ws = rand(20, 12),
    bs = rand(4, 13, -0.5, 0.5),
    gs = rand(12, 14);
  const x = parameter(e, xs, [3, 5], 'x'),
    w = parameter(e, ws, [4, 5], 'w'),
    b = parameter(e, bs, [4], 'b');
  const tape = new Tape(e);
  const y = tape.run(() => linear(x, w, b, { relu: true }));
  tape.backward(y, tensor(e, gs, [3, 4]));
  const f = (xx: Float64Array, ww: Float64Array, bb: Float64Array) => dot(gs, linearRef(xx, ww, bb, d, true));
  close(
    await x.grad!.read(),
    numericGrad((v) => f(v, ws, bs), xs),
    1e-4,
    1e-4,
    'dx vs finite differences',
  );
  close(
    await w.grad!.read(),
    numericGrad((v) => f(xs, v, bs), ws),
    1e-4,
    1e-4,
    'dw vs finite differences',
  );
  close(
    await b.grad!.read(),
    numericGrad((v) => f(xs, ws, v), bs),
    1e-4,
    1e-4,
    'db vs finite differences',
  );
  tape.dispose();
  x.dispose();
  w.dispose();
  b.dispose();
});

test('bad operands throw ShapeError naming the op and both shapes', async () => {
  const e = await gpu();
  const x = tensor(e, new Float32Array(39), [3, 13]),
    w = tensor(e, new Float32Array(108), [9, 12]);
  const w13 = tensor(e, new Float32Array(117), [9, 13]),
    b8 = tensor(e, new Float32Array(8), [8]);
  const labels = tensor(e, [1, 2, 3], [3], 'i32');
  const is = (re: RegExp) => (err: unknown) => err instanceof ShapeError && re.test((err as Error).message);
  assert.throws(() => linear(x, w), is(/linear.*\[3,13\].*\[9,12\]/));
  assert.throws(() => linear(x, w13, b8), is(/linear.*\[8\].*\[9,13\]/));
  assert.throws(() => linear(x.reshape([39]), w13), is(/linear.*\[39\]/));
  assert.throws(() => linear(labels.reshape([3, 1]), tensor(e, [1], [1, 1])), is(/linear.*dtype i32/));
  assert.throws(() => matmul(x, w13), is(/matmul.*\[3,13\].*\[9,13\]/));
  const ok = matmul(x, w13, { transB: true });
  assert.equal(ok.shape, [3, 9]);
  ok.dispose();
  const count = e.dispatchCount;
  assert.throws(() => matmul(x, x), is(/matmul/));
  assert.is(e.dispatchCount, count, 'nothing dispatched for a bad call');
  for (const t of [x, w, w13, b8, labels]) t.dispose();
});

test.run();
