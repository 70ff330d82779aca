// Max-pool, average pool and adaptive average pool: GPU forward/backward against the float64
// references on odd shapes (overlapping 3/2, non-overlapping 2/2, 3/1 pad 1, stride > kernel,
// rectangular windows); the references' backward against central finite differences; the chunked
// path of tensors larger than one binding; ShapeErrors before dispatch. (PyTorch's check of the same
// cases: torch_layers.test.ts.)
// Tolerances: max-pool forward and argmax exact (a selection); max-pool backward ≤ 1e-6 (fp32 sums
// of ≤ 4 terms in a different order); average pools 1e-6 abs + 1e-5 rel.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ShapeError, Tape, parameter, tensor, type Engine, type Tensor } from '../src/index.js';
import {
  adaptiveAvgPool2d,
  avgPool2d,
  maxPool2d,
  maxPool2dBackward,
  maxPool2dForward,
  planeChunks,
} from '../src/ops/pool.js';
import {
  avgPool2dBackwardRef,
  avgPool2dRef,
  maxPool2dBackwardRef,
  maxPool2dRef,
  poolOutShape,
  type PoolOpts,
  type Shape4,
} from './ref/pool.js';
import { cappedEngine, chunking, close, disposeGpu, dot, gpu, numericGrad, rand } from './helpers.js';
import { ADAPTIVE_CASES, AVG_CASES, MAX_CASES, f32r, numel, type Case } from './cases/pool.js';

test.after(disposeGpu);

/** GPU forward + tape backward vs the float64 reference for one max-pool case. */
async function checkMaxPool(e: Engine, c: Case, xs: Float64Array, seed: number): Promise<void> {
  const x = parameter(e, xs, c.shape, 'x');
  const ref = maxPool2dRef(xs, c.shape, c.opts);
  const { y: y0, argmax } = maxPool2dForward(x, c.opts);
  assert.equal([...y0.shape], ref.outShape, `${c.label}: output shape`);
  close(await y0.read(), ref.y, 0, 0, `${c.label}: forward`);
  assert.equal(Array.from(await argmax.read()), Array.from(ref.argmax), `${c.label}: argmax`);
  y0.dispose();
  argmax.dispose();
  const tape = new Tape(e);
  const y = tape.run(() => maxPool2d(x, c.opts));
  const dys = f32r(rand(y.size, seed, -1, 1));
  const seedT = tensor(e, dys, y.shape);
  tape.backward(y, seedT);
  close(
    await x.grad!.read(),
    maxPool2dBackwardRef(dys, ref.argmax, c.shape, ref.outShape),
    1e-6,
    1e-6,
    `${c.label}: backward`,
  );
  tape.dispose();
  seedT.dispose();
  x.dispose();
}

test('max-pool forward, argmax and backward match float64 on odd shapes', async () => {
  const e = await gpu();
  for (const [i, c] of MAX_CASES.entries())
    await checkMaxPool(e, c, f32r(rand(numel(c.shape), 10 + i, -2, 2)), 100 + i);
});

test('max-pool backward is deterministic: repeated runs are bitwise equal', async () => {
  const e = await gpu();
  const shape: Shape4 = [3, 5, 27, 27],
    opts = { kernel: 3, stride: 2 };
  const x = tensor(e, rand(numel(shape), 3, -2, 2), shape);
  const { y, argmax } = maxPool2dForward(x, opts);
  const dy = tensor(e, rand(y.size, 4), y.shape);
  const a = maxPool2dBackward(dy, argmax, shape, opts),
    b = maxPool2dBackward(dy, argmax, shape, opts);
  assert.equal(new Uint32Array((await a.read()).buffer), new Uint32Array((await b.read()).buffer));
  for (const t of [x, y, argmax, dy, a, b]) t.dispose();
});

test('max-pool ties: the first maximum in row-major order wins (forward, argmax, backward)', async () => {
  const e = await gpu();
  for (const [i, c] of MAX_CASES.slice(0, 4).entries()) {
    const xs = rand(numel(c.shape), 20 + i, 0, 3).map(Math.floor); // values 0, 1, 2: many ties
    await checkMaxPool(e, { ...c, label: `${c.label} (ties)` }, xs, 200 + i);
  }
});

test('max-pool reference backward equals central finite differences (distinct values)', () => {
  for (const c of [MAX_CASES[0], MAX_CASES[3], MAX_CASES[5]]) {
    const shape: Shape4 = [1, Math.min(c.shape[1], 2), c.shape[2], c.shape[3]];
    const n = numel(shape);
    // a shuffled ramp: values 0.01 apart, so a step of h = 1e-4 never changes an argmax
    const order = Array.from(rand(n, 7), (r, i) => [r, i]).sort((a, b) => a[0] - b[0]);
    const xs = new Float64Array(n);
    order.forEach(([, i], rank) => {
      xs[i] = rank * 0.01;
    });
    const out = poolOutShape(shape, c.opts);
    const w = rand(numel(out), 8);
    const num = numericGrad((v) => dot(w, maxPool2dRef(v, shape, c.opts).y), xs);
    const ref = maxPool2dRef(xs, shape, c.opts);
    close(
      maxPool2dBackwardRef(w, ref.argmax, shape, ref.outShape),
      num,
      1e-8,
      1e-7,
      `${c.label}: reference vs finite differences`,
    );
  }
});

test('average pool and adaptive average pool forward/backward match float64', async () => {
  const e = await gpu();
  const cases = [
    ...AVG_CASES.map((c) => ({
      ...c,
      run: (x: Tensor) => avgPool2d(x, c.opts),
      ro: c.opts as PoolOpts | { adaptive: [number, number] },
    })),
    ...ADAPTIVE_CASES.map((c) => ({
      shape: c.shape,
      label: `adaptive ${c.shape.join('×')} → ${c.size.join('×')}`,
      run: (x: Tensor) => adaptiveAvgPool2d(x, c.size),
      ro: { adaptive: c.size },
    })),
  ];
  for (const [i, c] of cases.entries()) {
    const xs = f32r(rand(numel(c.shape), 30 + i, -2, 2));
    const x = parameter(e, xs, c.shape, 'x');
    const tape = new Tape(e);
    const y = tape.run(() => c.run(x));
    assert.equal([...y.shape], poolOutShape(c.shape, c.ro), `${c.label}: shape`);
    close(await y.read(), avgPool2dRef(xs, c.shape, c.ro), 1e-6, 1e-5, `${c.label}: forward`);
    const dys = f32r(rand(y.size, 300 + i));
    const seedT = tensor(e, dys, y.shape);
    tape.backward(y, seedT);
    close(await x.grad!.read(), avgPool2dBackwardRef(dys, c.shape, c.ro), 1e-6, 1e-5, `${c.label}: backward`);
    // the backward reference is the adjoint of the forward: check it by finite differences too
    if (i % 3 === 0) {
      const small: Shape4 = [1, 1, c.shape[2], c.shape[3]];
      const w = rand(numel(poolOutShape(small, c.ro)), 9);
      const num = numericGrad((v) => dot(w, avgPool2dRef(v, small, c.ro)), rand(numel(small), 10));
      close(avgPool2dBackwardRef(w, small, c.ro), num, 1e-8, 1e-7, `${c.label}: reference vs finite differences`);
    }
    tape.dispose();
    seedT.dispose();
    x.dispose();
  }
});

test('adaptive average pool of an input that already has the output size is the identity', async () => {
  const e = await gpu();
  const x = parameter(e, rand(2 * 3 * 6 * 6, 5), [2, 3, 6, 6], 'x');
  const tape = new Tape(e);
  const before = e.dispatchCount;
  tape.run(() => {
    assert.is(adaptiveAvgPool2d(x, [6, 6]), x);
    assert.is(adaptiveAvgPool2d(x, 6), x);
  });
  assert.is(e.dispatchCount, before);
  assert.is(tape.nodes.length, 0);
  tape.dispose();
  x.dispose();
});

test('tensors larger than one storage binding are pooled in aligned chunks of planes', async () => {
  // 64 KiB bindings, or one aligned run of the largest plane where alignment needs more (a 6×5
  // adaptive output is 30 floats: on 256-byte devices 32 planes per chunk)
  const run = chunking(await gpu(), [32 * 32, 16 * 16, 6 * 5]);
  const e = await cappedEngine(Math.max(64 * 1024, 4 * run.bindingElems));
  try {
    const align = e.limits.minStorageBufferOffsetAlignment / 4;
    // 32×32 planes → 16×16: every plane offset is aligned for any alignment ≤ 256 bytes;
    // 27×27 → 13×13 (odd planes) needs several planes per aligned offset (lavapipe: 16 bytes)
    const cases: Case[] = [
      { shape: [5, 8, 32, 32], opts: { kernel: 3, stride: 2, padding: 1 }, label: 'chunked 32×32 3/2 pad 1' },
    ];
    if (align <= 4) cases.push({ shape: [4, 7, 27, 27], opts: { kernel: 3, stride: 2 }, label: 'chunked 27×27 3/2' });
    for (const [i, c] of cases.entries()) {
      const out = poolOutShape(c.shape, c.opts);
      const chunks = planeChunks(e, c.shape[0] * c.shape[1], [c.shape[2] * c.shape[3], out[2] * out[3]]);
      assert.ok(chunks.length >= 2, `${c.label}: ${chunks.length} chunk(s)`);
      for (const ch of chunks) assert.is((ch.p0 * c.shape[2] * c.shape[3]) % align, 0);
      const before = e.dispatchCount;
      await checkMaxPool(e, c, f32r(rand(numel(c.shape), 90 + i, -2, 2)), 95 + i);
      assert.ok(e.dispatchCount - before >= 3 * chunks.length, 'one dispatch per chunk');
      // average pools through the same chunking
      const xs = f32r(rand(numel(c.shape), 97 + i));
      const x = parameter(e, xs, c.shape, 'x');
      const tape = new Tape(e);
      const [y, z] = tape.run(() => [avgPool2d(x, c.opts), adaptiveAvgPool2d(x, [6, 5])]);
      close(await y.read(), avgPool2dRef(xs, c.shape, c.opts), 1e-6, 1e-5, `${c.label}: avg forward`);
      close(
        await z.read(),
        avgPool2dRef(xs, c.shape, { adaptive: [6, 5] }),
        1e-6,
        1e-5,
        `${c.label}: adaptive forward`,
      );
      const dys = f32r(rand(y.size, 99));
      const seedT = tensor(e, dys, y.shape);
      tape.backward(y, seedT);
      close(await x.grad!.read(), avgPool2dBackwardRef(dys, c.shape, c.opts), 1e-6, 1e-5, `${c.label}: avg backward`);
      tape.dispose();
      seedT.dispose();
      x.dispose();
    }
    await e.sync();
  } finally {
    e.dispose();
  }
});

test('bad input throws ShapeError naming the op and shapes, before any dispatch', async () => {
  const e = await gpu();
  const x3 = tensor(e, rand(2 * 5 * 5, 1), [2, 5, 5]);
  const x4 = tensor(e, rand(1 * 2 * 2 * 2, 1), [1, 2, 2, 2]);
  const x5 = tensor(e, rand(1 * 2 * 5 * 5, 1), [1, 2, 5, 5]);
  const before = e.dispatchCount;
  const throwsShape = (f: () => unknown, re: RegExp) =>
    assert.throws(f, (err: unknown) => err instanceof ShapeError && re.test((err as Error).message));
  throwsShape(() => maxPool2d(x3, { kernel: 2 }), /maxPool2d.*\[2,5,5\].*\[N,C,H,W\]/);
  throwsShape(() => maxPool2d(x4, { kernel: 3 }), /maxPool2d.*window 3x3 is larger than the padded input 2x2/);
  throwsShape(() => avgPool2d(x5, { kernel: 6, padding: 0 }), /avgPool2d.*larger than the padded input 5x5/);
  throwsShape(() => maxPool2d(x5, { kernel: 2, padding: 2 }), /more than half the kernel/);
  throwsShape(() => maxPool2d(x5, { kernel: 2, stride: 0 }), /stride/);
  throwsShape(() => maxPool2d(x5, { kernel: 2.5 }), /integers/);
  throwsShape(() => adaptiveAvgPool2d(x5, [0, 3]), /adaptiveAvgPool2d.*0x3/);
  throwsShape(() => adaptiveAvgPool2d(x3, [1, 1]), /adaptiveAvgPool2d.*\[2,5,5\]/);
  const { y, argmax } = maxPool2dForward(x5, { kernel: 2 });
  const mid = e.dispatchCount;
  throwsShape(
    () => maxPool2dBackward(x5, argmax, x5.shape, { kernel: 2 }),
    /maxPool2dBackward: dy has shape \[1,2,5,5\], expected \[1,2,2,2\]/,
  );
  throwsShape(() => maxPool2dBackward(y, y, x5.shape, { kernel: 2 }), /argmax has dtype f32/);
  assert.is(mid - before, 1);
  assert.is(e.dispatchCount, mid);
  for (const t of [x3, x4, x5, y, argmax]) t.dispose();
});

test.run();
