// conv2d: the float64 reference against finite differences; forward (bias, ReLU), dx, dw, db on the
// GPU against the reference on awkward shapes (not multiples of the tiles; stride 1/2/3/4, padding
// 0/1/2, groups 1/2, odd batch and channels, non-square kernels, inputs, strides and padding); the
// tape's gradients against finite differences; batch chunking under a tiny binding limit;
// determinism; ShapeError on bad input. (PyTorch's check of the same cases: torch_layers.test.ts.)
//
// Tolerance: |gpu − ref| ≤ 1e-4·rms(ref) + 1e-4·|ref| per element (f32 sums of up to ~1000 products
// of O(1) values against float64; the rms scale stands in for an absolute tolerance).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Tape, parameter, tensor, ShapeError, type Engine } from '../src/index.js';
import {
  conv2d,
  conv2dBackwardData,
  conv2dBackwardFilter,
  conv2dBiasGrad,
  conv2dOutputShape,
  conv2dCandidates,
  type Conv2dOptions,
} from '../src/ops/conv2d.js';
import { variantLabel } from '../src/ops/conv2d_tiles.js';
import { conv2dBackwardRef, conv2dRef } from './ref/conv2d.js';
import { chunking, gpu, disposeGpu, close, numericGrad, dot } from './helpers.js';
import { CASES, checkAgainstRef, closeConv, label, makeData, runGpu, type Case } from './cases/conv2d.js';

test.after(disposeGpu);

test('float64 reference: backward equals central finite differences of forward (grouped, strided, padded)', () => {
  const c: Case = { x: [2, 4, 6, 5], w: [6, 2, 3, 2], stride: [2, 1], padding: [1, 2], groups: 2, bias: true };
  const d = makeData(c, 11);
  const ref = conv2dBackwardRef(d.g, d.xs, d.ws, d.dys);
  const L = (xs: Float64Array, ws: Float64Array, bs: Float64Array) => dot(conv2dRef(d.g, xs, ws, bs), d.dys);
  close(
    ref.dx,
    numericGrad((v) => L(v, d.ws, d.bs!), d.xs),
    1e-7,
    1e-6,
    'ref dx',
  );
  close(
    ref.dw,
    numericGrad((v) => L(d.xs, v, d.bs!), d.ws),
    1e-7,
    1e-6,
    'ref dw',
  );
  close(
    ref.db,
    numericGrad((v) => L(d.xs, d.ws, v), d.bs!),
    1e-7,
    1e-6,
    'ref db',
  );
});

test('forward, dx, dw, db match the float64 reference on awkward shapes', async () => {
  const e = await gpu();
  for (const [i, c] of CASES.entries()) {
    const d = makeData(c, 100 + 10 * i);
    checkAgainstRef(await runGpu(e, d, c), d, label(c));
  }
});

test('every tile the tuner may choose, in each direction, matches the reference and the default bit for bit', async () => {
  const e = await gpu();
  try {
    for (const i of [1, 5]) {
      const c = CASES[i];
      const d = makeData(c, 200 + i);
      e.tuner.force(undefined);
      const ref = await runGpu(e, d, c); // today's tiles
      const dirs = ['fwd', 'bwdData', 'bwdFilter'] as const;
      const cands = dirs.map((dir) => conv2dCandidates(dir, c.x, c.w, d.opts, e.subgroupKernels));
      const most = Math.max(...cands.map((l) => l.length));
      assert.ok(most >= 3, `${label(c)}: ${most} candidates`);
      // run k: every direction with its k-th candidate (its last once it has fewer)
      for (let k = 1; k < most; k++) {
        const pick = dirs.map((_, j) => variantLabel(cands[j][Math.min(k, cands[j].length - 1)]));
        e.tuner.force((key) => {
          const j = dirs.findIndex((dir) => key.startsWith(`conv2d ${dir} `));
          return j < 0 ? undefined : pick[j];
        });
        const got = await runGpu(e, d, c);
        checkAgainstRef(got, d, `${pick.join(' / ')} ${label(c)}`);
        for (const part of ['y', 'dx', 'dw', 'db'] as const)
          assert.ok(
            got[part].every((v, j) => Object.is(v, ref[part][j])),
            `${part} with ${pick.join(' / ')} differs from today's tiles`,
          );
      }
    }
  } finally {
    e.tuner.force(undefined);
  }
});

/** Force every conv2d direction of case c onto its workgroup-memory or its subgroup kernel. */
function forceKernel(e: Engine, c: Case, opts: Conv2dOptions, kind: 'shared' | 'subgroup') {
  const dirs = ['fwd', 'bwdData', 'bwdFilter'] as const;
  const labels = dirs.map((dir) => {
    const l = conv2dCandidates(dir, c.x, c.w, opts, e.subgroupKernels).map(variantLabel);
    const found = l.find((x) => x.startsWith(kind));
    if (!found) throw new Error(`${dir} of ${label(c)} has no ${kind} candidate`);
    return found;
  });
  e.tuner.force((key) => labels[dirs.findIndex((dir) => key.startsWith(`conv2d ${dir} `))]);
  return labels[0];
}

test('the workgroup-memory and subgroup kernels (for GPUs) on every awkward shape, and chunked, match the reference and the default bit for bit', async () => {
  const e = await gpu();
  assert.ok(e.subgroupKernels || !e.features.has('subgroups'), 'the adapter has subgroups, the engine offers none');
  try {
    // the last case has few weight taps and many pixels: its filter gradient is split over the batch
    const split: Case = { x: [16, 3, 30, 30], w: [4, 3, 5, 5], padding: 1, bias: true };
    for (const [i, c] of [...CASES, split].entries()) {
      const d = makeData(c, 300 + i);
      e.tuner.force(undefined);
      const ref = await runGpu(e, d, c);
      for (const kind of e.subgroupKernels ? (['shared', 'subgroup'] as const) : (['shared'] as const)) {
        const name = forceKernel(e, c, d.opts, kind);
        const got = await runGpu(e, d, c);
        checkAgainstRef(got, d, `${name} ${label(c)}`);
        for (const part of ['y', 'dx', 'dw', 'db'] as const)
          assert.ok(
            got[part].every((v, j) => Object.is(v, ref[part][j])),
            `${part} of ${label(c)} with ${name} differs from today's tiles`,
          );
      }
    }
  } finally {
    e.tuner.force(undefined);
  }
});

test('tape: conv2d + fused ReLU gradients (x, w, b) equal finite differences of the reference (groups 2, stride 2)', async () => {
  const e = await gpu();
  const c: Case = { x: [2, 4, 7, 6], w: [6, 2, 3, 3], stride: 2, padding: 1, groups: 2, relu: true, bias: true };
  const d = makeData(c, 7);
  const x = parameter(e, d.xs, c.x, 'x'),
    w = parameter(e, d.ws, c.w, 'w'),
    b = parameter(e, d.bs!, [d.g.o], 'b');
  const tape = new Tape(e);
  const y = tape.run(() => conv2d(x, w, b, d.opts));
  assert.equal([...y.shape], conv2dOutputShape(c.x, c.w, d.opts));
  tape.backward(y, tensor(e, d.dys, y.shape));
  const L = (xs: Float64Array, ws: Float64Array, bs: Float64Array) => dot(conv2dRef(d.g, xs, ws, bs, true), d.dys);
  // finite differences in float64 (h = 1e-4); a ReLU kink within h of a sample would show up as a big miss
  close(
    await x.grad!.read(),
    numericGrad((v) => L(v, d.ws, d.bs!), d.xs),
    1e-4,
    1e-4,
    'dx',
  );
  close(
    await w.grad!.read(),
    numericGrad((v) => L(d.xs, v, d.bs!), d.ws),
    1e-4,
    1e-4,
    'dw',
  );
  close(
    await b.grad!.read(),
    numericGrad((v) => L(d.xs, d.ws, v), d.bs!),
    1e-4,
    1e-4,
    'db',
  );
  tape.dispose();
  for (const t of [x, w, b]) t.dispose();
});

test('tape: only the gradients that are needed, no bias', async () => {
  const e = await gpu();
  const c: Case = { x: [1, 3, 5, 5], w: [4, 3, 3, 3], padding: 1 };
  const d = makeData(c, 21);
  const x = tensor(e, d.xs, c.x),
    w = parameter(e, d.ws, c.w, 'w');
  const tape = new Tape(e);
  const y = tape.run(() => conv2d(x, w, undefined, d.opts));
  tape.backward(y, tensor(e, d.dys, y.shape));
  assert.is(x.grad, undefined);
  closeConv(await w.grad!.read(), conv2dBackwardRef(d.g, d.xs, d.ws, d.dys).dw, 'dw');
  tape.dispose();
  x.dispose();
  w.dispose();
});

test('batches larger than one storage binding run in aligned chunks (a binding of one aligned run of images)', async () => {
  const e = await gpu();
  // the figure cappedEngine() (createEngine({ limits })) would set, applied to the shared engine so
  // its pipelines need not be compiled again (~0.6 s each on lavapipe)
  const saved = e.maxBindingElems;
  try {
    for (const [c, yImage] of [
      // x: images of 5·19·21 = 1995 floats (odd: on lavapipe chunks are multiples of 4 images to stay
      // 16-byte aligned, on 256-byte devices of 64), y: 20·10·10 per image
      [{ x: [0, 5, 19, 21], w: [20, 5, 3, 4], stride: 2, padding: 1, relu: true, bias: true }, 2000],
      // y is the larger side: 6·23·25 = 3450 floats per image
      [{ x: [0, 4, 23, 25], w: [6, 2, 3, 3], padding: 1, groups: 2, bias: true }, 3450],
    ] as Array<[Case, number]>) {
      const { items, bindingElems } = chunking(e, [c.x[1] * c.x[2] * c.x[3], yImage]);
      (e as { maxBindingElems: number }).maxBindingElems = bindingElems;
      const cc: Case = { ...c, x: [items, ...c.x.slice(1)] };
      const d = makeData(cc, 31);
      for (const kind of ['registers', 'shared', ...(e.subgroupKernels ? ['subgroup' as const] : [])] as const) {
        if (kind === 'registers') e.tuner.force(undefined);
        else forceKernel(e, cc, d.opts, kind);
        const before = e.dispatchCount;
        checkAgainstRef(await runGpu(e, d, cc), d, `chunked ${kind} ${label(cc)}`);
        assert.ok(e.dispatchCount - before >= 12, `${label(cc)}: every kernel ran in at least three chunks`);
      }
    }
  } finally {
    e.tuner.force(undefined);
    (e as { maxBindingElems: number }).maxBindingElems = saved;
  }
});

test('results are bitwise identical run to run', async () => {
  const e = await gpu();
  const c = CASES[5],
    d = makeData(c, 41);
  const a = await runGpu(e, d, c),
    b = await runGpu(e, d, c);
  for (const k of ['y', 'dx', 'dw', 'db'] as const) assert.equal(Array.from(a[k]), Array.from(b[k]), k);
});

test('bad input throws ShapeError naming the op and the shapes, before dispatching', async () => {
  const e = await gpu();
  const x = tensor(e, new Float32Array(2 * 4 * 5 * 5), [2, 4, 5, 5]);
  const mk = (shape: number[]) => tensor(e, new Float32Array(shape.reduce((a, b) => a * b)), shape);
  const w = mk([6, 4, 3, 3]),
    wg = mk([6, 2, 3, 3]),
    w3 = mk([6, 4, 9]),
    b5 = mk([5]);
  const before = e.dispatchCount;
  const throwsShape = (f: () => unknown, re: RegExp) =>
    assert.throws(f, (err: unknown) => err instanceof ShapeError && re.test((err as Error).message));
  throwsShape(
    () => conv2d(x, wg, undefined),
    /conv2d: weight \[6,2,3,3\] does not fit input \[2,4,5,5\] with groups=1/,
  );
  throwsShape(
    () => conv2d(x, w, undefined, { groups: 2 }),
    /conv2d: weight \[6,4,3,3\] does not fit input \[2,4,5,5\] with groups=2/,
  );
  throwsShape(() => conv2d(x, wg, undefined, { groups: 4 }), /groups=4 must divide.*\[2,4,5,5\].*\[6,2,3,3\]/);
  throwsShape(() => conv2d(x, w3, undefined), /conv2d: weight has shape \[6,4,9\], expected rank 4/);
  throwsShape(() => conv2d(x.reshape([8, 5, 5]), w, undefined), /conv2d: input has shape \[8,5,5\], expected rank 4/);
  throwsShape(() => conv2d(x, w, b5), /conv2d: bias has shape \[5\], expected \[6\]/);
  throwsShape(() => conv2d(x, w, undefined, { stride: 0 }), /stride/);
  throwsShape(() => conv2d(x, mk([6, 4, 7, 7]), undefined), /kernel 7x7 is larger than the padded input 5x5/);
  throwsShape(
    () => conv2dBackwardData(mk([2, 6, 4, 4]), w, [2, 4, 5, 5]),
    /conv2d backward data: output gradient has shape \[2,6,4,4\], expected \[2,6,3,3\]/,
  );
  throwsShape(
    () => conv2dBackwardFilter(x, mk([2, 5, 3, 3]), [6, 4, 3, 3]),
    /conv2d backward filter: output gradient has shape \[2,5,3,3\], expected \[2,6,3,3\]/,
  );
  throwsShape(() => conv2dBiasGrad(mk([6, 9])), /conv2d bias gradient: .*\[6,9\]/);
  assert.is(e.dispatchCount, before, 'nothing was dispatched');
  for (const t of [x, w, wg, w3, b5]) t.dispose();
});

test.run();
