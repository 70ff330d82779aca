// Local Response Normalisation (paper form, plain α): GPU forward/backward against the float64
// reference (C = 1, C < n, odd C, 96 channels; odd and even n; constants where the normalisation
// matters); the reference's backward against central finite differences; equivalence with
// torch.nn.LocalResponseNorm(n, alpha = n·α, beta, k) (torch 1.13 via /usr/bin/python3); the
// chunked path; ShapeErrors.
// Tolerances: forward 1e-6 abs + 1e-5 rel; backward 1e-5 abs + 1e-4 rel (fp32 pow and sums of
// ≤ n terms); reference vs finite differences 1e-8 abs + 1e-6 rel; reference vs torch float64 1e-12.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ShapeError, parameter, record, tensor, type Engine } from '../src/index.js';
import { PAPER_LRN, lrn, lrnBackward, type LrnOptions } from '../src/ops/lrn.js';
import { lrnBackwardRef, lrnRef } from './ref/lrn.js';
import { runTorch } from './ref/pool.js';
import { cappedEngine, close, disposeGpu, dot, gpu, numericGrad, rand } from './helpers.js';

test.after(disposeGpu);

const f32r = (a: ArrayLike<number>): Float64Array => Float64Array.from(Float32Array.from(a));
const numel = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

// The paper's α = 1e-4 barely moves s ≈ k = 2 for inputs of order 1; large post-ReLU-like inputs
// (0..30) or a large α make the window sum, and so any indexing mistake, visible.
const STRONG: LrnOptions = { size: 5, alpha: 0.05, beta: 0.75, k: 2 };
interface Case { shape: [number, number, number, number]; opts: LrnOptions; lo: number; hi: number; label: string }
const CASES: Case[] = [
  { shape: [1, 1, 5, 5], opts: STRONG, lo: -2, hi: 2, label: 'C = 1' },
  { shape: [3, 3, 7, 6], opts: STRONG, lo: -2, hi: 2, label: 'C = 3 < n = 5' },
  { shape: [2, 7, 10, 7], opts: STRONG, lo: -2, hi: 2, label: 'C = 7, 10×7' },
  { shape: [1, 5, 13, 13], opts: { size: 3, alpha: 0.1, beta: 0.5, k: 1 }, lo: -2, hi: 2, label: 'n = 3, β = 0.5, k = 1' },
  { shape: [3, 7, 4, 5], opts: { size: 4, alpha: 0.1, beta: 0.75, k: 2 }, lo: -2, hi: 2, label: 'even n = 4' },
  { shape: [2, 9, 3, 5], opts: { size: 1, alpha: 0.1, beta: 0.75, k: 2 }, lo: -2, hi: 2, label: 'n = 1' },
  { shape: [1, 21, 3, 4], opts: { size: 16, alpha: 0.02, beta: 0.75, k: 2 }, lo: -2, hi: 2, label: 'n = 16 (largest), C = 21' },
  { shape: [1, 11, 2, 3], opts: { size: 15, alpha: 0.02, beta: 0.75, k: 1 }, lo: -2, hi: 2, label: 'n = 15 > C = 11' },
  { shape: [2, 96, 6, 6], opts: PAPER_LRN, lo: 0, hi: 30, label: 'paper constants, 96 channels, inputs 0..30' },
  { shape: [1, 256, 3, 3], opts: PAPER_LRN, lo: 0, hi: 60, label: 'paper constants, 256 channels, inputs 0..60' },
];

async function checkLrn(e: Engine, c: Case, seed: number): Promise<void> {
  const xs = f32r(rand(numel(c.shape), seed, c.lo, c.hi));
  const x = parameter(e, xs, c.shape, 'x');
  const tape = record(e);
  const y = lrn(x, c.opts);
  close(await y.read(), lrnRef(xs, c.shape, c.opts), 1e-6, 1e-5, `${c.label}: forward`);
  const dys = f32r(rand(y.size, seed + 1));
  const seedT = tensor(e, dys, y.shape);
  tape.backward(y, seedT);
  close(await x.grad!.read(), lrnBackwardRef(xs, dys, c.shape, c.opts), 1e-5, 1e-4, `${c.label}: backward`);
  tape.dispose(); seedT.dispose(); x.dispose();
}

test('LRN forward and backward match float64 (C = 1, C < n, odd C, 96/256 channels, even n)', async () => {
  const e = await gpu();
  for (const [i, c] of CASES.entries()) await checkLrn(e, c, 10 * i + 1);
});

test('LRN backward is deterministic: repeated runs are bitwise equal', async () => {
  const e = await gpu();
  const shape = [2, 96, 7, 9];
  const x = tensor(e, rand(numel(shape), 5, 0, 30), shape), dy = tensor(e, rand(numel(shape), 6), shape);
  const a = lrnBackward(x, dy), b = lrnBackward(x, dy);
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

test('paper LRN equals torch.nn.LocalResponseNorm(5, alpha=5e-4, beta=0.75, k=2) (torch divides α by n)', async () => {
  const e = await gpu();
  const cases = CASES.map((c, i) => {
    const xs = f32r(rand(numel(c.shape), 70 + i, c.lo, c.hi));
    return { ...c, xs, dys: f32r(rand(xs.length, 80 + i)) };
  });
  const script = `
import json, sys, torch
inp = json.load(open(sys.argv[1]))
out = []
for c in inp:
    o = c['opts']
    m = torch.nn.LocalResponseNorm(o['size'], alpha=o['alpha'] * o['size'], beta=o['beta'], k=o['k'])
    x = torch.tensor(c['xs'], dtype=torch.float64).reshape(c['shape']).requires_grad_()
    y = m(x)
    y.backward(torch.tensor(c['dys'], dtype=torch.float64).reshape(y.shape))
    out.append({'y': y.flatten().tolist(), 'dx': x.grad.flatten().tolist(), 'repr': repr(m)})
print(json.dumps(out))
`;
  const t = runTorch(script, cases.map((c) => ({ shape: c.shape, opts: c.opts, xs: Array.from(c.xs), dys: Array.from(c.dys) })));
  assert.match(t[8].repr, /LocalResponseNorm\(5, alpha=0\.0005, beta=0\.75, k=2/);
  for (const [i, c] of cases.entries()) {
    // the float64 reference is the same function as torch's (up to float64 rounding) ...
    close(lrnRef(c.xs, c.shape, c.opts), t[i].y, 1e-12, 1e-12, `${c.label}: reference vs torch forward`);
    close(lrnBackwardRef(c.xs, c.dys, c.shape, c.opts), t[i].dx, 1e-12, 1e-11, `${c.label}: reference vs torch backward`);
    // ... and the GPU agrees with torch to fp32 accuracy
    const x = tensor(e, c.xs, c.shape);
    const dy = tensor(e, c.dys, c.shape);
    const y = lrn(x, c.opts);
    close(await y.read(), t[i].y, 1e-6, 1e-5, `${c.label}: GPU vs torch forward`);
    const dx = lrnBackward(x, dy, c.opts);
    close(await dx.read(), t[i].dx, 1e-5, 1e-4, `${c.label}: GPU vs torch backward`);
    for (const z of [x, dy, y, dx]) z.dispose();
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
      await checkLrn(e, { shape: [20, 7, 13, 13], opts: STRONG, lo: -2, hi: 2, label: 'chunked 20×7×13×13 (odd images)' }, 95);
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
