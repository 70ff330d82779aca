// Local Response Normalisation (paper form, plain α): GPU forward/backward against the float64
// reference (C = 1, C < n, odd C, 96 channels; odd and even n; constants where the normalisation
// matters); the reference's backward against central finite differences; the chunked path;
// ShapeErrors. (Equivalence with torch.nn.LocalResponseNorm(n, alpha = n·α, beta, k):
// torch_layers.test.ts.)
// Tolerances: forward 1e-6 abs + 1e-5 rel; backward 1e-5 abs + 1e-4 rel (fp32 pow and sums of
// ≤ n terms); reference vs finite differences 1e-8 abs + 1e-6 rel; reference vs torch float64 1e-12.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ShapeError, Tape, parameter, tensor, type Engine } from '../src/index.js';
import { PAPER_LRN, lrn, lrnBackward } from '../src/ops/lrn.js';
import { lrnBackwardRef, lrnRef } from './ref/lrn.js';
import { cappedEngine, close, disposeGpu, dot, gpu, numericGrad, rand } from './helpers.js';
import { CASES, STRONG, f32r, numel, type Case } from './cases/lrn.js';

test.after(disposeGpu);

async function checkLrn(e: Engine, c: Case, seed: number): Promise<void> {
  const xs = f32r(rand(numel(c.shape), seed, c.lo, c.hi));
  const x = parameter(e, xs, c.shape, 'x');
  const tape = new Tape(e);
  const y = tape.run(() => lrn(x, c.opts));
  close(await y.read(), lrnRef(xs, c.shape, c.opts), 1e-6, 1e-5, `${c.label}: forward`);
  const dys = f32r(rand(y.size, seed + 1));
  const seedT = tensor(e, dys, y.shape);
  tape.backward(y, seedT);
  close(await x.grad!.read(), lrnBackwardRef(xs, dys, c.shape, c.opts), 1e-5, 1e-4, `${c.label}: backward`);
  tape.dispose();
  seedT.dispose();
  x.dispose();
}

test('LRN forward and backward match float64 (C = 1, C < n, odd C, 96/256 channels, even n)', async () => {
  const e = await gpu();
  for (const [i, c] of CASES.entries()) await checkLrn(e, c, 10 * i + 1);
});

test('LRN backward is deterministic: repeated runs are bitwise equal', async () => {
  const e = await gpu();
  const shape = [2, 96, 7, 9];
  const x = tensor(e, rand(numel(shape), 5, 0, 30), shape),
    dy = tensor(e, rand(numel(shape), 6), shape);
  const a = lrnBackward(x, dy),
    b = lrnBackward(x, dy);
  assert.equal(new Uint32Array((await a.read()).buffer), new Uint32Array((await b.read()).buffer));
  for (const t of [x, dy, a, b]) t.dispose();
});

test('LRN reference backward equals central finite differences of the reference forward', () => {
  const cases: Case[] = [
    { shape: [1, 1, 2, 2], opts: { size: 5, alpha: 0.3, beta: 0.75, k: 2 }, lo: -2, hi: 2, label: 'C = 1' },
    { shape: [2, 3, 2, 3], opts: { size: 5, alpha: 0.3, beta: 0.75, k: 2 }, lo: -2, hi: 2, label: 'C = 3' },
    { shape: [1, 9, 2, 2], opts: { size: 5, alpha: 0.2, beta: 0.75, k: 1 }, lo: -2, hi: 2, label: 'C = 9' },
    { shape: [1, 6, 1, 3], opts: { size: 4, alpha: 0.2, beta: 0.6, k: 1.5 }, lo: -2, hi: 2, label: 'even n' },
    { shape: [1, 8, 2, 1], opts: PAPER_LRN, lo: 0, hi: 30, label: 'paper constants' },
  ];
  for (const [i, c] of cases.entries()) {
    const xs = rand(numel(c.shape), 50 + i, c.lo, c.hi);
    const w = rand(xs.length, 60 + i);
    const num = numericGrad((v) => dot(w, lrnRef(v, c.shape, c.opts)), xs, 1e-4 * Math.max(1, c.hi / 4));
    close(lrnBackwardRef(xs, w, c.shape, c.opts), num, 1e-8, 1e-6, `${c.label}: reference vs finite differences`);
  }
});

test('LRN of tensors larger than one storage binding runs in chunks of whole images', async () => {
  const e = await cappedEngine();
  try {
    const c: Case = { shape: [6, 16, 16, 16], opts: STRONG, lo: -2, hi: 2, label: 'chunked 6×16×16×16' };
    const x = parameter(e, rand(numel(c.shape), 1), c.shape, 'x');
    const chunks = x.chunks(16 * 16 * 16);
    assert.ok(chunks.length >= 2, `${chunks.length} chunk(s)`);
    x.dispose();
    const before = e.dispatchCount;
    await checkLrn(e, c, 90);
    assert.ok(e.dispatchCount - before >= 2 * chunks.length, 'one forward and one backward dispatch per chunk');
    if (e.limits.minStorageBufferOffsetAlignment <= 16) {
      await checkLrn(
        e,
        { shape: [20, 7, 13, 13], opts: STRONG, lo: -2, hi: 2, label: 'chunked 20×7×13×13 (odd images)' },
        95,
      );
    }
    await e.sync();
  } finally {
    e.dispose();
  }
});

test('bad input throws ShapeError before any dispatch', async () => {
  const e = await gpu();
  const x3 = tensor(e, rand(2 * 5 * 5, 1), [2, 5, 5]);
  const x = tensor(e, rand(2 * 3 * 2 * 2, 1), [2, 3, 2, 2]);
  const other = tensor(e, rand(2 * 3 * 2 * 1, 1), [2, 3, 2, 1]);
  const before = e.dispatchCount;
  const throwsShape = (f: () => unknown, re: RegExp) =>
    assert.throws(f, (err: unknown) => err instanceof ShapeError && re.test((err as Error).message));
  throwsShape(() => lrn(x3), /lrn: input has shape \[2,5,5\], expected \[N,C,H,W\]/);
  throwsShape(() => lrn(x, { ...PAPER_LRN, size: 0 }), /lrn: size 0/);
  throwsShape(() => lrn(x, { ...PAPER_LRN, beta: NaN }), /beta/);
  throwsShape(() => lrn(x, { ...PAPER_LRN, size: 17 }), /lrn: size 17 must be an integer in 1\.\.16/);
  throwsShape(() => lrnBackward(x, other), /lrnBackward: dy has shape \[2,3,2,1\], expected \[2,3,2,2\]/);
  throwsShape(() => lrnBackward(x3, x3), /lrnBackward: input has shape \[2,5,5\]/);
  assert.is(e.dispatchCount, before);
  for (const t of [x3, x, other]) t.dispose();
});

test.run();
