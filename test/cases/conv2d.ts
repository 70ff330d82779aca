// conv2d test cases shared by the kernel tests (conv2d.test.ts, also run in a browser) and the
// PyTorch cross-check (torch_layers.test.ts): awkward shapes, seeded data, one run of the four
// kernels, and the check against the float64 reference.
import { tensor, type Engine } from '../../src/index.js';
import {
  conv2dBackwardData,
  conv2dBackwardFilter,
  conv2dBiasGrad,
  conv2dForward,
  type Conv2dOptions,
} from '../../src/ops/conv2d.js';
import { conv2dBackwardRef, conv2dRef, convGeom, reluMask, type ConvGeom } from '../ref/conv2d.js';
import { close, dot, rand } from '../helpers.js';

export const rms = (a: ArrayLike<number>): number => Math.sqrt(dot(a, a) / Math.max(1, a.length));
export const closeConv = (actual: ArrayLike<number>, expected: ArrayLike<number>, label: string): number =>
  close(actual, expected, 1e-4 * Math.max(rms(expected), 1e-6), 1e-4, label);

export interface Case {
  x: number[];
  w: number[];
  stride?: number | [number, number];
  padding?: number | [number, number];
  groups?: number;
  relu?: boolean;
  bias?: boolean;
}
export const CASES: Case[] = [
  { x: [3, 5, 11, 9], w: [7, 5, 3, 3], stride: 1, padding: 1, relu: true, bias: true },
  { x: [2, 6, 13, 10], w: [10, 3, 5, 4], stride: [2, 1], padding: [2, 1], groups: 2, bias: true },
  { x: [1, 3, 31, 29], w: [9, 3, 11, 11], stride: 4, padding: 2, relu: true, bias: true }, // conv1-like
  { x: [3, 4, 7, 8], w: [18, 2, 1, 1], groups: 2 }, // 1×1, no bias
  { x: [5, 3, 9, 12], w: [5, 3, 2, 3], stride: [3, 2], padding: [0, 1], relu: true },
  { x: [3, 10, 15, 14], w: [38, 5, 3, 3], padding: 1, groups: 2, relu: true, bias: true }, // several tiles of channels and pixels
  { x: [2, 24, 8, 7], w: [5, 24, 5, 5], padding: 2, bias: true }, // K = 600 > one tap tile
  { x: [2, 3, 7, 6], w: [4, 3, 1, 1], stride: 2, bias: true }, // 1×1 strided: dx is zero off the grid
  { x: [3, 3, 10, 11], w: [4, 3, 2, 2], stride: 3 }, // stride > kernel: taps skip pixels
  { x: [7, 4, 33, 30], w: [6, 2, 3, 3], padding: 1, groups: 2, bias: true }, // dw split over the batch: 3, 3, 1 images
];

export interface Data {
  g: ConvGeom;
  opts: Conv2dOptions;
  xs: Float64Array;
  ws: Float64Array;
  bs?: Float64Array;
  dys: Float64Array;
}
export function makeData(c: Case, seed: number): Data {
  const opts: Conv2dOptions = { stride: c.stride, padding: c.padding, groups: c.groups, relu: c.relu };
  const g = convGeom(c.x, c.w, c.stride, c.padding, c.groups);
  const fanIn = c.w[1] * c.w[2] * c.w[3];
  const nx = c.x.reduce((a, b) => a * b),
    nw = c.w.reduce((a, b) => a * b),
    ny = g.n * g.o * g.oh * g.ow;
  return {
    g,
    opts,
    xs: rand(nx, seed, -1, 1),
    ws: rand(nw, seed + 1, -1, 1).map((v) => v / Math.sqrt(fanIn)),
    bs: c.bias ? rand(g.o, seed + 2, -0.5, 0.5) : undefined,
    dys: rand(ny, seed + 3, -1, 1),
  };
}
export const label = (c: Case) =>
  `x${JSON.stringify(c.x)} w${JSON.stringify(c.w)} s${JSON.stringify(c.stride ?? 1)} p${JSON.stringify(c.padding ?? 0)} g${c.groups ?? 1}${c.relu ? ' relu' : ''}${c.bias ? ' bias' : ''}`;

/** Run forward + the three backward kernels on `e`; return host copies. */
export async function runGpu(e: Engine, d: Data, c: Case) {
  const x = tensor(e, d.xs, c.x),
    w = tensor(e, d.ws, c.w),
    b = d.bs ? tensor(e, d.bs, [d.g.o]) : undefined;
  const y = conv2dForward(x, w, b, d.opts);
  const yv = await y.read();
  const dyMasked = d.opts.relu ? reluMask(yv, d.dys) : d.dys;
  const dy = tensor(e, dyMasked, y.shape);
  const dx = conv2dBackwardData(dy, w, x.shape, d.opts),
    dw = conv2dBackwardFilter(x, dy, w.shape, d.opts),
    db = conv2dBiasGrad(dy);
  const out = { y: yv, dx: await dx.read(), dw: await dw.read(), db: await db.read(), dyMasked };
  for (const t of [x, w, b, y, dy, dx, dw, db]) t?.dispose();
  return out;
}

export function checkAgainstRef(r: Awaited<ReturnType<typeof runGpu>>, d: Data, what: string) {
  const yRef = conv2dRef(d.g, d.xs, d.ws, d.bs, d.opts.relu);
  closeConv(r.y, yRef, `${what}: forward`);
  // the mask comes from the GPU's y: a ReLU tie at exactly 0 would not be a kernel error
  const ref = conv2dBackwardRef(d.g, d.xs, d.ws, r.dyMasked);
  closeConv(r.dx, ref.dx, `${what}: dx`);
  closeConv(r.dw, ref.dw, `${what}: dw`);
  closeConv(r.db, ref.db, `${what}: db`);
}
