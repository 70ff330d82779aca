// conv2d: the float64 reference against finite differences; forward (bias, ReLU), dx, dw, db on the
// GPU against the reference on awkward shapes (not multiples of the tiles; stride 1/2/3/4, padding
// 0/1/2, groups 1/2, odd batch and channels, non-square kernels, inputs, strides and padding); the
// tape's gradients against finite differences; batch chunking under a tiny binding limit;
// determinism; PyTorch as an outside check; ShapeError on bad input.
//
// Tolerance: |gpu − ref| ≤ 1e-4·rms(ref) + 1e-4·|ref| per element (f32 sums of up to ~1000 products
// of O(1) values against float64; the rms scale stands in for an absolute tolerance).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parameter, record, tensor, ShapeError, type Engine } from '../src/index.js';
import { conv2d, conv2dForward, conv2dBackwardData, conv2dBackwardFilter, conv2dBiasGrad, conv2dOutputShape, conv2dTiles, type Conv2dOptions } from '../src/ops/conv2d.js';
import { conv2dBackwardRef, conv2dRef, convGeom, reluMask, type ConvGeom } from './ref/conv2d.js';
import { gpu, disposeGpu, rand, close, numericGrad, dot } from './helpers.js';

test.after(disposeGpu);

const rms = (a: ArrayLike<number>): number => Math.sqrt(dot(a, a) / Math.max(1, a.length));
const closeConv = (actual: ArrayLike<number>, expected: ArrayLike<number>, label: string): number =>
  close(actual, expected, 1e-4 * Math.max(rms(expected), 1e-6), 1e-4, label);

interface Case { x: number[]; w: number[]; stride?: number | [number, number]; padding?: number | [number, number]; groups?: number; relu?: boolean; bias?: boolean }
const CASES: Case[] = [
  { x: [3, 5, 11, 9], w: [7, 5, 3, 3], stride: 1, padding: 1, relu: true, bias: true },
  { x: [2, 6, 13, 10], w: [10, 3, 5, 4], stride: [2, 1], padding: [2, 1], groups: 2, bias: true },
  { x: [1, 3, 31, 29], w: [9, 3, 11, 11], stride: 4, padding: 2, relu: true, bias: true },        // conv1-like
  { x: [3, 4, 7, 8], w: [18, 2, 1, 1], groups: 2 },                                                // 1×1, no bias
  { x: [5, 3, 9, 12], w: [5, 3, 2, 3], stride: [3, 2], padding: [0, 1], relu: true },
  { x: [3, 10, 15, 14], w: [38, 5, 3, 3], padding: 1, groups: 2, relu: true, bias: true },         // several tiles of channels and pixels
  { x: [2, 24, 8, 7], w: [5, 24, 5, 5], padding: 2, bias: true },                                  // K = 600 > one tap tile
  { x: [2, 3, 7, 6], w: [4, 3, 1, 1], stride: 2, bias: true },                                     // 1×1 strided: dx is zero off the grid
  { x: [3, 3, 10, 11], w: [4, 3, 2, 2], stride: 3 },                                               // stride > kernel: taps skip pixels
  { x: [7, 4, 33, 30], w: [6, 2, 3, 3], padding: 1, groups: 2, bias: true },                        // dw split over the batch: 3, 3, 1 images
];

interface Data { g: ConvGeom; opts: Conv2dOptions; xs: Float64Array; ws: Float64Array; bs?: Float64Array; dys: Float64Array }
function makeData(c: Case, seed: number): Data {
  const opts: Conv2dOptions = { stride: c.stride, padding: c.padding, groups: c.groups, relu: c.relu };
  const g = convGeom(c.x, c.w, c.stride, c.padding, c.groups);
  const fanIn = c.w[1] * c.w[2] * c.w[3];
  const nx = c.x.reduce((a, b) => a * b), nw = c.w.reduce((a, b) => a * b), ny = g.n * g.o * g.oh * g.ow;
  return {
    g, opts, xs: rand(nx, seed, -1, 1), ws: rand(nw, seed + 1, -1, 1).map((v) => v / Math.sqrt(fanIn)),
    bs: c.bias ? rand(g.o, seed + 2, -0.5, 0.5) : undefined, dys: rand(ny, seed + 3, -1, 1),
  };
}
const label = (c: Case) => `x${JSON.stringify(c.x)} w${JSON.stringify(c.w)} s${JSON.stringify(c.stride ?? 1)} p${JSON.stringify(c.padding ?? 0)} g${c.groups ?? 1}${c.relu ? ' relu' : ''}${c.bias ? ' bias' : ''}`;

/** Run forward + the three backward kernels on `e`; return host copies. */
async function runGpu(e: Engine, d: Data, c: Case) {
  const x = tensor(e, d.xs, c.x), w = tensor(e, d.ws, c.w), b = d.bs ? tensor(e, d.bs, [d.g.o]) : undefined;
  const y = conv2dForward(x, w, b, d.opts);
  const yv = await y.read();
  const dyMasked = d.opts.relu ? reluMask(yv, d.dys) : d.dys;
  const dy = tensor(e, dyMasked, y.shape);
  const dx = conv2dBackwardData(dy, w, x.shape, d.opts), dw = conv2dBackwardFilter(x, dy, w.shape, d.opts), db = conv2dBiasGrad(dy);
  const out = { y: yv, dx: await dx.read(), dw: await dw.read(), db: await db.read(), dyMasked };
  for (const t of [x, w, b, y, dy, dx, dw, db]) t?.dispose();
  return out;
}

function checkAgainstRef(r: Awaited<ReturnType<typeof runGpu>>, d: Data, what: string) {
  const yRef = conv2dRef(d.g, d.xs, d.ws, d.bs, d.opts.relu);
  closeConv(r.y, yRef, `${what}: forward`);
  // the mask comes from the GPU's y: a ReLU tie at exactly 0 would not be a kernel error
  const ref = conv2dBackwardRef(d.g, d.xs, d.ws, r.dyMasked);
  closeConv(r.dx, ref.dx, `${what}: dx`);
  closeConv(r.dw, ref.dw, `${what}: dw`);
  closeConv(r.db, ref.db, `${what}: db`);
}

test('float64 reference: backward equals central finite differences of forward (grouped, strided, padded)', () => {
  const c: Case = { x: [2, 4, 6, 5], w: [6, 2, 3, 2], stride: [2, 1], padding: [1, 2], groups: 2, bias: true };
  const d = makeData(c, 11);
  const ref = conv2dBackwardRef(d.g, d.xs, d.ws, d.dys);
  const L = (xs: Float64Array, ws: Float64Array, bs: Float64Array) => dot(conv2dRef(d.g, xs, ws, bs), d.dys);
  close(ref.dx, numericGrad((v) => L(v, d.ws, d.bs!), d.xs), 1e-7, 1e-6, 'ref dx');
  close(ref.dw, numericGrad((v) => L(d.xs, v, d.bs!), d.ws), 1e-7, 1e-6, 'ref dw');
  close(ref.db, numericGrad((v) => L(d.xs, d.ws, v), d.bs!), 1e-7, 1e-6, 'ref db');
});

test('forward, dx, dw, db match the float64 reference on awkward shapes', async () => {
  const e = await gpu();
  for (const [i, c] of CASES.entries()) {
    const d = makeData(c, 100 + 10 * i);
    checkAgainstRef(await runGpu(e, d, c), d, label(c));
  }
});

test('other tile shapes (what another adapter might choose) give the same results', async () => {
  const e = await gpu();
  const saved = JSON.stringify(conv2dTiles);
  try {
    // (each tile is a pipeline to compile, ~0.6 s apiece on lavapipe: two tiles, one shape each)
    for (const [tile, i] of [[{ TM: 4, TN: 16, WG: 64, minWG: 64 }, 1], [{ TM: 12, TN: 5, WG: 16, minWG: 8 }, 5]] as const) {
      Object.assign(conv2dTiles, { fwd: tile, bwdData: tile, bwdFilter: tile });
      const d = makeData(CASES[i], 200 + i);
      checkAgainstRef(await runGpu(e, d, CASES[i]), d, `tile ${JSON.stringify(tile)} ${label(CASES[i])}`);
    }
  } finally {
    Object.assign(conv2dTiles, JSON.parse(saved));
  }
});

test('tape: conv2d + fused ReLU gradients (x, w, b) equal finite differences of the reference (groups 2, stride 2)', async () => {
  const e = await gpu();
  const c: Case = { x: [2, 4, 7, 6], w: [6, 2, 3, 3], stride: 2, padding: 1, groups: 2, relu: true, bias: true };
  const d = makeData(c, 7);
  const x = parameter(e, d.xs, c.x, 'x'), w = parameter(e, d.ws, c.w, 'w'), b = parameter(e, d.bs!, [d.g.o], 'b');
  const tape = record(e);
  const y = conv2d(x, w, b, d.opts);
  assert.equal([...y.shape], conv2dOutputShape(c.x, c.w, d.opts));
  tape.backward(y, tensor(e, d.dys, y.shape));
  const L = (xs: Float64Array, ws: Float64Array, bs: Float64Array) => dot(conv2dRef(d.g, xs, ws, bs, true), d.dys);
  // finite differences in float64 (h = 1e-4); a ReLU kink within h of a sample would show up as a big miss
  close(await x.grad!.read(), numericGrad((v) => L(v, d.ws, d.bs!), d.xs), 1e-4, 1e-4, 'dx');
  close(await w.grad!.read(), numericGrad((v) => L(d.xs, v, d.bs!), d.ws), 1e-4, 1e-4, 'dw');
  close(await b.grad!.read(), numericGrad((v) => L(d.xs, d.ws, v), d.bs!), 1e-4, 1e-4, 'db');
  tape.dispose();
  for (const t of [x, w, b]) t.dispose();
});

test('tape: only the gradients that are needed, no bias', async () => {
  const e = await gpu();
  const c: Case = { x: [1, 3, 5, 5], w: [4, 3, 3, 3], padding: 1 };
  const d = makeData(c, 21);
  const x = tensor(e, d.xs, c.x), w = parameter(e, d.ws, c.w, 'w');
  const tape = record(e);
  const y = conv2d(x, w, undefined, d.opts);
  tape.backward(y, tensor(e, d.dys, y.shape));
  assert.is(x.grad, undefined);
  closeConv(await w.grad!.read(), conv2dBackwardRef(d.g, d.xs, d.ws, d.dys).dw, 'dw');
  tape.dispose(); x.dispose(); w.dispose();
});

test('batches larger than one storage binding run in aligned chunks (bindings capped at 64 KiB)', async () => {
  const e = await gpu();
  // the figure cappedEngine() (createEngine({ limits })) would set, applied to the shared engine so
  // its pipelines need not be compiled again (~0.6 s each on lavapipe)
  const saved = e.maxBindingElems;
  (e as { maxBindingElems: number }).maxBindingElems = (64 * 1024) / 4;
  try {
    for (const c of [
      // x: 9 images of 5·19·21 = 1995 floats (odd: chunks must be multiples of 4 images to stay 16-byte
      // aligned), y: 9 × 20·10·10
      { x: [9, 5, 19, 21], w: [20, 5, 3, 4], stride: 2, padding: 1, relu: true, bias: true },
      // y is the larger side: 6·23·25 = 3450 floats per image, 4 + 3 images
      { x: [7, 4, 23, 25], w: [6, 2, 3, 3], padding: 1, groups: 2, bias: true },
    ] as Case[]) {
      const d = makeData(c, 31);
      const before = e.dispatchCount;
      checkAgainstRef(await runGpu(e, d, c), d, `chunked ${label(c)}`);
      assert.ok(e.dispatchCount - before >= 8, `${label(c)}: every kernel ran in at least two chunks`);
    }
  } finally {
    (e as { maxBindingElems: number }).maxBindingElems = saved;
  }
});

test('results are bitwise identical run to run', async () => {
  const e = await gpu();
  const c = CASES[5], d = makeData(c, 41);
  const a = await runGpu(e, d, c), b = await runGpu(e, d, c);
  for (const k of ['y', 'dx', 'dw', 'db'] as const) assert.equal(Array.from(a[k]), Array.from(b[k]), k);
});

test('PyTorch (torch.nn.functional.conv2d, float64) agrees: AlexNet-like grouped and strided convs', async () => {
  const e = await gpu();
  const dir = mkdtempSync(join(tmpdir(), 'conv2d-torch-'));
  try {
    const cases: Case[] = [
      { x: [2, 6, 15, 15], w: [16, 3, 5, 5], padding: 2, groups: 2, relu: true, bias: true },   // conv2, two "GPUs"
      { x: [2, 3, 35, 35], w: [8, 3, 11, 11], stride: 4, padding: 2, relu: true, bias: true },  // conv1
      { x: [3, 8, 7, 7], w: [12, 4, 3, 3], padding: 1, groups: 2, bias: true },                 // conv4/5
    ];
    const ours = [];
    for (const [i, c] of cases.entries()) {
      const d = makeData(c, 51 + i);
      ours.push(await runGpu(e, d, c));
      const f32 = (a: ArrayLike<number>) => Buffer.from(Float32Array.from(a).buffer);
      writeFileSync(join(dir, `${i}.x`), f32(d.xs)); writeFileSync(join(dir, `${i}.w`), f32(d.ws));
      writeFileSync(join(dir, `${i}.b`), f32(d.bs!)); writeFileSync(join(dir, `${i}.dy`), f32(d.dys)); // the f32 values the GPU saw
    }
    const py = `
import json, sys, torch
d, cases = sys.argv[1], json.loads(sys.argv[2])
def load(p, shape): return torch.frombuffer(bytearray(open(p, 'rb').read()), dtype=torch.float32).double().reshape(shape)
for i, c in enumerate(cases):
    x = load(f'{d}/{i}.x', c['x']).requires_grad_(); w = load(f'{d}/{i}.w', c['w']).requires_grad_()
    b = load(f'{d}/{i}.b', [c['w'][0]]).requires_grad_()
    y = torch.nn.functional.conv2d(x, w, b, stride=c.get('stride', 1), padding=c.get('padding', 0), groups=c.get('groups', 1))
    if c.get('relu'): y = torch.relu(y)
    y.backward(load(f'{d}/{i}.dy', list(y.shape)))
    for k, t in (('y', y), ('dx', x.grad), ('dw', w.grad), ('db', b.grad)):
        open(f'{d}/{i}.{k}.out', 'wb').write(t.detach().float().numpy().tobytes())
`;
    const r = spawnSync('/usr/bin/python3', ['-c', py, dir, JSON.stringify(cases)], { encoding: 'utf8', timeout: 60_000 });
    if (r.error || r.status !== 0) {
      assert.unreachable(`PyTorch cross-check needs /usr/bin/python3 with torch (Debian: apt-get install python3-torch): ${r.error?.message ?? r.stderr}`);
    }
    for (const [i, c] of cases.entries()) {
      const read = (k: string) => new Float32Array(new Uint8Array(readFileSync(join(dir, `${i}.${k}.out`))).buffer);
      for (const k of ['y', 'dx', 'dw', 'db'] as const) closeConv(ours[i][k], read(k), `torch ${label(c)}: ${k}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad input throws ShapeError naming the op and the shapes, before dispatching', async () => {
  const e = await gpu();
  const x = tensor(e, new Float32Array(2 * 4 * 5 * 5), [2, 4, 5, 5]);
  const mk = (shape: number[]) => tensor(e, new Float32Array(shape.reduce((a, b) => a * b)), shape);
  const w = mk([6, 4, 3, 3]), wg = mk([6, 2, 3, 3]), w3 = mk([6, 4, 9]), b5 = mk([5]);
  const before = e.dispatchCount;
  const throwsShape = (f: () => unknown, re: RegExp) =>
    assert.throws(f, (err: unknown) => err instanceof ShapeError && re.test((err as Error).message));
  throwsShape(() => conv2d(x, wg, undefined), /conv2d: weight \[6,2,3,3\] does not fit input \[2,4,5,5\] with groups=1/);
  throwsShape(() => conv2d(x, w, undefined, { groups: 2 }), /conv2d: weight \[6,4,3,3\] does not fit input \[2,4,5,5\] with groups=2/);
  throwsShape(() => conv2d(x, wg, undefined, { groups: 4 }), /groups=4 must divide.*\[2,4,5,5\].*\[6,2,3,3\]/);
  throwsShape(() => conv2d(x, w3, undefined), /conv2d: weight has shape \[6,4,9\], expected rank 4/);
  throwsShape(() => conv2d(x.reshape([8, 5, 5]), w, undefined), /conv2d: input has shape \[8,5,5\], expected rank 4/);
  throwsShape(() => conv2d(x, w, b5), /conv2d: bias has shape \[5\], expected \[6\]/);
  throwsShape(() => conv2d(x, w, undefined, { stride: 0 }), /stride/);
  throwsShape(() => conv2d(x, mk([6, 4, 7, 7]), undefined), /kernel 7x7 is larger than the padded input 5x5/);
  throwsShape(() => conv2dBackwardData(mk([2, 6, 4, 4]), w, [2, 4, 5, 5]), /conv2d backward data: output gradient has shape \[2,6,4,4\], expected \[2,6,3,3\]/);
  throwsShape(() => conv2dBackwardFilter(x, mk([2, 5, 3, 3]), [6, 4, 3, 3]), /conv2d backward filter: output gradient has shape \[2,5,3,3\], expected \[2,6,3,3\]/);
  throwsShape(() => conv2dBiasGrad(mk([6, 9])), /conv2d bias gradient: .*\[6,9\]/);
  assert.is(e.dispatchCount, before, 'nothing was dispatched');
  for (const t of [x, w, wg, w3, b5]) t.dispose();
});

test.run();
