// 2-D convolution (NCHW, OIHW weights, groups), forward with fused bias (+ ReLU) and the three
// gradients, each an implicit-GEMM WGSL kernel (kernels/conv2d_*): register tiles, workgroup-memory
// tiles (for GPUs) or subgroup shuffles (the default where the adapter has subgroups), as the tuner
// chooses (conv2d_tiles.ts).
// Tensors larger than one storage binding are processed in batch chunks whose offsets the device can
// bind; the weight and bias gradients accumulate across chunks in a fixed order (deterministic).
import { LimitError, ShapeError, fmtShape } from '../errors.js';
import type { Engine } from '../gpu/engine.js';
import { itemChunks } from '../gpu/chunks.js';
import { defineKernel, type Kernel } from '../gpu/kernel.js';
import { Tensor, expectDType, expectShape } from '../tensor/tensor.js';
import { activationBackward } from './activation.js';
import { fill } from '../tensor/elementwise.js';
import { colSum } from './linear.js';
import {
  type ConvDirection,
  type ConvScratch,
  type ConvVariant,
  chooseTile,
  convCandidates,
  convTile,
  DEFAULT_TILES,
} from './conv2d_tiles.js';
import fwdWgsl from '../../kernels/conv2d_fwd.wgsl';
import fwdTiledWgsl from '../../kernels/conv2d_fwd_tiled.wgsl';
import bwdDataTiledWgsl from '../../kernels/conv2d_bwd_data_tiled.wgsl';
import bwdFilterTiledWgsl from '../../kernels/conv2d_bwd_filter_tiled.wgsl';
import fwdSubgroupWgsl from '../../kernels/conv2d_fwd_subgroup.wgsl';
import bwdDataSubgroupWgsl from '../../kernels/conv2d_bwd_data_subgroup.wgsl';
import bwdFilterSubgroupWgsl from '../../kernels/conv2d_bwd_filter_subgroup.wgsl';
import bwdDataWgsl from '../../kernels/conv2d_bwd_data.wgsl';
import bwdFilterWgsl from '../../kernels/conv2d_bwd_filter.wgsl';
import biasGradWgsl from '../../kernels/conv2d_bias_grad.wgsl';
import { recordOp } from '../tape.js';

/** Each direction's kernels: register-tiled (lavapipe), workgroup-memory and subgroup (GPUs). */
interface DirectionKernels {
  registers: Kernel;
  shared: Kernel;
  subgroup: Kernel;
}
const fwdKernels: DirectionKernels = {
  registers: defineKernel('conv2d_fwd', fwdWgsl),
  shared: defineKernel('conv2d_fwd_tiled', fwdTiledWgsl),
  subgroup: defineKernel('conv2d_fwd_subgroup', fwdSubgroupWgsl),
};
const bwdDataKernels: DirectionKernels = {
  registers: defineKernel('conv2d_bwd_data', bwdDataWgsl),
  shared: defineKernel('conv2d_bwd_data_tiled', bwdDataTiledWgsl),
  subgroup: defineKernel('conv2d_bwd_data_subgroup', bwdDataSubgroupWgsl),
};
const bwdFilterKernels: DirectionKernels = {
  registers: defineKernel('conv2d_bwd_filter', bwdFilterWgsl),
  shared: defineKernel('conv2d_bwd_filter_tiled', bwdFilterTiledWgsl),
  subgroup: defineKernel('conv2d_bwd_filter_subgroup', bwdFilterSubgroupWgsl),
};
const biasGradKernel = defineKernel('conv2d_bias_grad', biasGradWgsl);

export interface Conv2dOptions {
  stride?: number | [number, number];
  padding?: number | [number, number];
  groups?: number;
  /** Apply ReLU to the output (fused into the forward kernel). */
  relu?: boolean;
}

/** Everything a kernel needs to know about one convolution. */
interface Geom {
  n: number;
  c: number;
  h: number;
  w: number;
  o: number;
  kh: number;
  kw: number;
  oh: number;
  ow: number;
  sy: number;
  sx: number;
  py: number;
  px: number;
  groups: number;
  cg: number;
  og: number;
}

const pair = (v: number | [number, number] | undefined, dflt: number): [number, number] =>
  v === undefined ? [dflt, dflt] : typeof v === 'number' ? [v, v] : [v[0], v[1]];

function geometry(op: string, xShape: readonly number[], wShape: readonly number[], opts: Conv2dOptions): Geom {
  if (xShape.length !== 4)
    throw new ShapeError(`${op}: input has shape ${fmtShape(xShape)}, expected rank 4 [N,C,H,W]`);
  if (wShape.length !== 4)
    throw new ShapeError(`${op}: weight has shape ${fmtShape(wShape)}, expected rank 4 [O,C/groups,KH,KW]`);
  const [sy, sx] = pair(opts.stride, 1);
  const [py, px] = pair(opts.padding, 0);
  const groups = opts.groups ?? 1;
  const bad = (v: number, min: number) => !Number.isInteger(v) || v < min;
  if (bad(sy, 1) || bad(sx, 1))
    throw new ShapeError(`${op}: stride ${JSON.stringify(opts.stride)} must be positive integers`);
  if (bad(py, 0) || bad(px, 0))
    throw new ShapeError(`${op}: padding ${JSON.stringify(opts.padding)} must be non-negative integers`);
  if (bad(groups, 1)) throw new ShapeError(`${op}: groups=${groups} must be a positive integer`);
  const [n, c, h, w] = xShape;
  const [o, cg, kh, kw] = wShape;
  if (c % groups !== 0 || o % groups !== 0) {
    throw new ShapeError(
      `${op}: groups=${groups} must divide input channels (input ${fmtShape(xShape)}) and output channels (weight ${fmtShape(wShape)})`,
    );
  }
  if (cg * groups !== c) {
    throw new ShapeError(
      `${op}: weight ${fmtShape(wShape)} does not fit input ${fmtShape(xShape)} with groups=${groups}: expected weight[1] = C/groups = ${c / groups}`,
    );
  }
  if (kh < 1 || kw < 1) throw new ShapeError(`${op}: weight ${fmtShape(wShape)} has an empty kernel`);
  const oh = Math.floor((h + 2 * py - kh) / sy) + 1,
    ow = Math.floor((w + 2 * px - kw) / sx) + 1;
  if (h + 2 * py < kh || w + 2 * px < kw) {
    throw new ShapeError(
      `${op}: kernel ${kh}x${kw} is larger than the padded input ${h + 2 * py}x${w + 2 * px} (input ${fmtShape(xShape)}, weight ${fmtShape(wShape)})`,
    );
  }
  return { n, c, h, w, o, kh, kw, oh, ow, sy, sx, py, px, groups, cg, og: o / groups };
}

/** Output shape [N, O, OH, OW] of conv2d(x, w) (throws ShapeError when the shapes do not fit). */
export function conv2dOutputShape(
  xShape: readonly number[],
  wShape: readonly number[],
  opts: Conv2dOptions = {},
): number[] {
  const g = geometry('conv2d', xShape, wShape, opts);
  return [g.n, g.o, g.oh, g.ow];
}

/** Runs of whole images of a batch (src/gpu/chunks.ts), as {n0, count}. */
const imageChunks = (e: Engine, op: string, n: number, perImage: number[], maxImages = Infinity) =>
  itemChunks(e, op, n, perImage, maxImages).map(({ start, count }) => ({ n0: start, count }));

const MAX_WG = 65535;
const params = (g: Geom, n: number) => ({
  n,
  c: g.c,
  h: g.h,
  w: g.w,
  o: g.o,
  oh: g.oh,
  ow: g.ow,
  kh: g.kh,
  kw: g.kw,
  sy: g.sy,
  sx: g.sx,
  py: g.py,
  px: g.px,
  cg: g.cg,
  og: g.og,
});

function checkFits(op: string, t: Tensor): void {
  if (t.size > t.engine.maxBindingElems)
    throw new LimitError(
      `${op}: ${t.name} ${fmtShape(t.shape)} exceeds one storage binding (${t.engine.maxBindingElems} elements)`,
    );
}

/** y = conv(x, w) + b (then ReLU): x [N,C,H,W], w [O,C/groups,KH,KW], b [O] or undefined → y [N,O,OH,OW]. No tape. */
export function conv2dForward(x: Tensor, w: Tensor, b: Tensor | undefined, opts: Conv2dOptions = {}): Tensor {
  const op = 'conv2d';
  const g = geometry(op, x.shape, w.shape, opts);
  expectDType(op, 'input', x, 'f32');
  expectDType(op, 'weight', w, 'f32');
  if (b) {
    expectShape(op, 'bias', b, [g.o]);
    expectDType(op, 'bias', b, 'f32');
  }
  checkFits(op, w);
  const e = x.engine;
  const y = new Tensor(e, [g.n, g.o, g.oh, g.ow], 'f32', { name: op });
  if (y.size === 0) return y;
  const relu = !!opts.relu;
  const t = tileFor(e, 'fwd', g, (t, s) => encodeForward(g, s.x, s.w, b && s.b, s.y, relu, t));
  encodeForward(g, x, w, b, y, relu, t);
  return y;
}

function encodeForward(
  g: Geom,
  x: Tensor,
  w: Tensor,
  b: Tensor | undefined,
  y: Tensor,
  relu: boolean,
  v: ConvVariant,
): void {
  const e = x.engine;
  const xImg = g.c * g.h * g.w,
    yImg = g.o * g.oh * g.ow;
  const k = kernelOf(v, fwdKernels);
  // output pixels per workgroup: the dispatch's x dimension may not pass MAX_WG
  const maxImages = Math.floor((MAX_WG * k.perWorkgroup) / (g.oh * g.ow));
  for (const { n0, count } of imageChunks(e, 'conv2d', g.n, [xImg, yImg], maxImages)) {
    e.dispatch({
      kernel: k.kernel,
      overrides: { ...k.overrides, HAS_BIAS: b ? 1 : 0, RELU: relu ? 1 : 0 },
      params: params(g, count),
      buffers: [
        x.binding(n0 * xImg, count * xImg),
        w.binding(),
        (b ?? w).binding(),
        y.binding(n0 * yImg, count * yImg),
      ],
      workgroups: [Math.ceil((count * g.oh * g.ow) / k.perWorkgroup), Math.ceil(g.og / k.rows), g.groups],
    });
  }
}

/** The output range each direction tiles: m channels × n pixels (or taps). */
function tileRange(dir: ConvDirection, g: Geom): [number, number] {
  if (dir === 'fwd') return [g.og, g.n * g.oh * g.ow];
  if (dir === 'bwdData') return [g.cg, g.n * Math.ceil(g.h / g.sy) * Math.ceil(g.w / g.sx)];
  return [g.og, g.cg * g.kh * g.kw];
}

/** The tiles the tuner would time for `dir` on this convolution, today's first (tests run each). */
export function conv2dCandidates(
  dir: ConvDirection,
  xShape: readonly number[],
  wShape: readonly number[],
  opts: Conv2dOptions,
  subgroups: boolean,
): ConvVariant[] {
  const [m, n] = tileRange(dir, geometry('conv2d', xShape, wShape, opts));
  return convCandidates(dir, m, n, subgroups);
}

/** The tuner's tile for `dir` on g (today's until tuned); `encode` runs the direction on scratch. */
function tileFor(
  e: Engine,
  dir: ConvDirection,
  g: Geom,
  encode: (t: ConvVariant, s: ConvScratch) => void,
): ConvVariant {
  const key = `conv2d ${dir} n${g.n} c${g.c} ${g.h}x${g.w} o${g.o} k${g.kh}x${g.kw} s${g.sy}x${g.sx} p${g.py}x${g.px} g${g.groups}`;
  const shapes = { x: [g.n, g.c, g.h, g.w], w: [g.o, g.cg, g.kh, g.kw], y: [g.n, g.o, g.oh, g.ow] };
  return convTile(e, dir, key, tileRange(dir, g), shapes, encode);
}

function expectGrad(op: string, g: Geom, dy: Tensor): void {
  expectShape(op, 'output gradient', dy, [g.n, g.o, g.oh, g.ow]);
  expectDType(op, 'output gradient', dy, 'f32');
}

/** dx of conv2d: dy [N,O,OH,OW], w [O,C/groups,KH,KW] → dx of shape xShape [N,C,H,W]. */
export function conv2dBackwardData(dy: Tensor, w: Tensor, xShape: readonly number[], opts: Conv2dOptions = {}): Tensor {
  const op = 'conv2d backward data';
  const g = geometry(op, xShape, w.shape, opts);
  expectGrad(op, g, dy);
  checkFits(op, w);
  const e = dy.engine;
  const dx = new Tensor(e, xShape, 'f32', { name: 'conv2d.dx' });
  if (dx.size === 0) return dx;
  if (dy.size === 0) return fill(dx, 0);
  const t = tileFor(e, 'bwdData', g, (t, s) => encodeBackwardData(g, s.y, s.w, s.x, t));
  encodeBackwardData(g, dy, w, dx, t);
  return dx;
}

function encodeBackwardData(g: Geom, dy: Tensor, w: Tensor, dx: Tensor, v: ConvVariant): void {
  const e = dy.engine;
  const ha = Math.ceil(g.h / g.sy),
    wa = Math.ceil(g.w / g.sx);
  const xImg = g.c * g.h * g.w,
    yImg = g.o * g.oh * g.ow;
  const k = kernelOf(v, bwdDataKernels);
  const maxImages = Math.floor((MAX_WG * k.perWorkgroup) / (ha * wa));
  for (const { n0, count } of imageChunks(e, 'conv2d backward data', g.n, [xImg, yImg], maxImages)) {
    e.dispatch({
      kernel: k.kernel,
      overrides: k.overrides,
      params: { ...params(g, count), ha, wa },
      buffers: [dy.binding(n0 * yImg, count * yImg), w.binding(), dx.binding(n0 * xImg, count * xImg)],
      workgroups: [Math.ceil((count * ha * wa) / k.perWorkgroup), Math.ceil(g.cg / k.rows), g.groups * g.sy * g.sx],
    });
  }
}

/**
 * The kernel of a variant with its overrides, the pixels (taps) and channels one workgroup covers:
 * register-tiled (WG·TN × TM), workgroup-memory (64 × 64) or subgroup (64·TN × TM).
 */
function kernelOf(v: ConvVariant, k: DirectionKernels) {
  if (v === 'shared64') return { kernel: k.shared, overrides: {}, perWorkgroup: 64, rows: 64 };
  if ('subgroup' in v)
    return { kernel: k.subgroup, overrides: v.subgroup, perWorkgroup: 64 * v.subgroup.TN, rows: v.subgroup.TM };
  return { kernel: k.registers, overrides: v, perWorkgroup: v.WG * v.TN, rows: v.TM };
}

/** dw of conv2d: x [N,C,H,W], dy [N,O,OH,OW] → dw of shape wShape [O,C/groups,KH,KW] (summed over the batch). */
export function conv2dBackwardFilter(
  x: Tensor,
  dy: Tensor,
  wShape: readonly number[],
  opts: Conv2dOptions = {},
): Tensor {
  const op = 'conv2d backward filter';
  const g = geometry(op, x.shape, wShape, opts);
  expectGrad(op, g, dy);
  const e = x.engine;
  const dw = new Tensor(e, wShape, 'f32', { name: 'conv2d.dw' });
  checkFits(op, dw);
  if (dw.size === 0) return dw;
  if (g.n === 0) return fill(dw, 0);
  // the split count comes from today's tile, not the tuned one: it sets the summation order
  const [m, kk] = tileRange('bwdFilter', g);
  const d = chooseTile(DEFAULT_TILES.bwdFilter, m, kk);
  const workgroups = Math.ceil(kk / (d.WG * d.TN)) * Math.ceil(g.og / d.TM) * g.groups;
  const single = imageChunks(e, op, g.n, [g.c * g.h * g.w, g.o * g.oh * g.ow]).length === 1;
  const splits = single ? splitCount(workgroups, g.n, g.oh * g.ow, dw.size, e.maxBindingElems) : 1;
  const t = tileFor(e, 'bwdFilter', g, (t, s) => encodeBackwardFilter(g, s.x, s.y, s.w, t, splits));
  encodeBackwardFilter(g, x, dy, dw, t, splits);
  return dw;
}

function encodeBackwardFilter(g: Geom, x: Tensor, dy: Tensor, dw: Tensor, v: ConvVariant, splits: number): void {
  const e = x.engine;
  const xImg = g.c * g.h * g.w,
    yImg = g.o * g.oh * g.ow;
  const kk = g.cg * g.kh * g.kw;
  const t = kernelOf(v, bwdFilterKernels);
  const grid: [number, number, number] = [Math.ceil(kk / t.perWorkgroup), Math.ceil(g.og / t.rows), g.groups];
  if (splits > 1) {
    // split-K over the batch: partial dW per split, then a fixed-order sum over the splits
    const ips = Math.ceil(g.n / splits);
    const used = Math.ceil(g.n / ips);
    const partial = new Tensor(e, [used, dw.size], 'f32', { name: 'conv2d.dw.splits' });
    e.dispatch({
      kernel: t.kernel,
      overrides: t.overrides,
      params: { ...params(g, g.n), accumulate: 0, ips },
      buffers: [x.binding(), dy.binding(), partial.binding()],
      workgroups: [grid[0], grid[1], g.groups * used],
    });
    colSum(partial, dw);
    partial.dispose();
    return;
  }
  imageChunks(e, 'conv2d backward filter', g.n, [xImg, yImg]).forEach(({ n0, count }, i) => {
    e.dispatch({
      kernel: t.kernel,
      overrides: t.overrides,
      params: { ...params(g, count), accumulate: i > 0 ? 1 : 0, ips: count },
      buffers: [x.binding(n0 * xImg, count * xImg), dy.binding(n0 * yImg, count * yImg), dw.binding()],
      workgroups: grid,
    });
  });
}

/**
 * Batch splits for the filter gradient: enough that the dispatch has ≥ SPLIT_TARGET_WG workgroups
 * (a conv1 with 25 taps has 2 without splitting: one core of lavapipe, a sliver of a GPU), while
 * each split still reduces ≥ SPLIT_MIN_ROWS products per weight and the partials fit one binding.
 */
const SPLIT_TARGET_WG = 64,
  SPLIT_MIN_ROWS = 2048;
function splitCount(workgroups: number, n: number, pixels: number, dwSize: number, maxElems: number): number {
  let s = Math.ceil(SPLIT_TARGET_WG / workgroups);
  s = Math.min(s, n, Math.floor((n * pixels) / SPLIT_MIN_ROWS), Math.floor(maxElems / dwSize));
  return Math.max(1, s);
}

/** db of conv2d: dy [N,O,OH,OW] → [O], the sum over batch and pixels. */
export function conv2dBiasGrad(dy: Tensor): Tensor {
  const op = 'conv2d bias gradient';
  if (dy.shape.length !== 4)
    throw new ShapeError(`${op}: output gradient has shape ${fmtShape(dy.shape)}, expected rank 4 [N,O,OH,OW]`);
  const [n, o, oh, ow] = dy.shape;
  const e = dy.engine;
  const db = new Tensor(e, [o], 'f32', { name: 'conv2d.db' });
  if (n === 0 || oh * ow === 0) return fill(db, 0);
  const img = o * oh * ow;
  imageChunks(e, op, n, [img]).forEach(({ n0, count }, i) => {
    e.dispatch({
      kernel: biasGradKernel,
      params: { n: count, o, hw: oh * ow, accumulate: i > 0 ? 1 : 0 },
      buffers: [dy.binding(n0 * img, count * img), db.binding()],
      workgroups: [o],
    });
  });
  return db;
}

/**
 * y = conv(x, w) + b (then ReLU if opts.relu): x [N,C,H,W], w [O,C/groups,KH,KW], b [O] or
 * undefined → y [N,O,OH,OW]. Recorded on the active tape: the backward masks dy with the ReLU's
 * output (when fused), then computes dx, dw, db for the inputs that require them.
 */
export function conv2d(x: Tensor, w: Tensor, b: Tensor | undefined, opts: Conv2dOptions = {}): Tensor {
  const y = conv2dForward(x, w, b, opts);
  recordOp({
    op: 'conv2d',
    inputs: b ? [x, w, b] : [x, w],
    output: y,
    backward: (dy) => {
      const d = opts.relu ? activationBackward(y, dy, 'relu') : dy;
      const dx = x.requiresGrad ? conv2dBackwardData(d, w, x.shape, opts) : undefined;
      const dw = w.requiresGrad ? conv2dBackwardFilter(x, d, w.shape, opts) : undefined;
      const db = b?.requiresGrad ? conv2dBiasGrad(d) : undefined;
      if (d !== dy) d.dispose(); // released after the dispatches above are submitted
      return [dx, dw, db];
    },
  });
  return y;
}
