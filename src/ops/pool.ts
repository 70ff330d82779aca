// Pooling over NCHW planes, forward and backward: max-pool (any window, stride and padding,
// including the paper's overlapping 3×3 stride 2, sec. 3.4), average pool and adaptive average
// pool (torchvision's AdaptiveAvgPool2d((6, 6))). Output sizes use PyTorch's floor mode.
// Both backward passes are gathers, one invocation per input element (tfjs MaxPoolGrad): windows
// overlap, and a gather needs no atomics and sums in a fixed order, so results are deterministic.
// Max-pool saves the argmax (u32, index within the input plane) for its backward. Tensors larger
// than one storage binding are processed in chunks of whole planes. Not here: ceil mode,
// dilation, divisor_override, NHWC.
import { LimitError, ShapeError, fmtShape } from '../errors.js';
import type { Engine } from '../gpu/engine.js';
import { ceilDiv, grid1d } from '../gpu/grid.js';
import { itemChunks } from '../gpu/chunks.js';
import { defineKernel, type Kernel } from '../gpu/kernel.js';
import { Tensor, expectDType, expectShape } from '../tensor/tensor.js';
import maxpoolFwdWgsl from '../../kernels/maxpool_fwd.wgsl';
import maxpoolBwdWgsl from '../../kernels/maxpool_bwd.wgsl';
import avgpoolFwdWgsl from '../../kernels/avgpool_fwd.wgsl';
import avgpoolBwdWgsl from '../../kernels/avgpool_bwd.wgsl';
import { recordOp } from '../tape.js';

const maxpoolFwd = defineKernel('maxpool_fwd', maxpoolFwdWgsl);
const maxpoolBwd = defineKernel('maxpool_bwd', maxpoolBwdWgsl);
const avgpoolFwd = defineKernel('avgpool_fwd', avgpoolFwdWgsl);
const avgpoolBwd = defineKernel('avgpool_bwd', avgpoolBwdWgsl);

type Pair = number | readonly [number, number];

export interface Pool2dOptions {
  /** Window size k or [kh, kw]. */
  kernel: Pair;
  /** Step between windows (default: the kernel size, i.e. non-overlapping). */
  stride?: Pair;
  /** Implicit padding on each side (default 0); at most half the window, as in PyTorch. */
  padding?: Pair;
}

export interface AvgPool2dOptions extends Pool2dOptions {
  /** Divide by the padded window size (true, PyTorch's default) or by the real elements only. */
  countIncludePad?: boolean;
}

/** The geometry of a pooling layer; the kernels receive all but N, C as override constants. */
interface Geometry {
  N: number;
  C: number;
  H: number;
  W: number;
  OH: number;
  OW: number;
  KH: number;
  KW: number;
  SH: number;
  SW: number;
  PH: number;
  PW: number;
}

const pair = (v: Pair): [number, number] => (typeof v === 'number' ? [v, v] : [v[0], v[1]]);

/** Validate x [N,C,H,W] and the window; compute the output size (floor mode). Throws ShapeError. */
function geometry(op: string, xShape: readonly number[], o: Pool2dOptions): Geometry {
  if (xShape.length !== 4) throw new ShapeError(`${op}: input has shape ${fmtShape(xShape)}, expected [N,C,H,W]`);
  const [N, C, H, W] = xShape;
  if (!xShape.every((d) => d >= 1)) throw new ShapeError(`${op}: input ${fmtShape(xShape)} is empty`);
  const [KH, KW] = pair(o.kernel);
  const [SH, SW] = pair(o.stride ?? o.kernel);
  const [PH, PW] = pair(o.padding ?? 0);
  const ints = [KH, KW, SH, SW, PH, PW];
  if (!ints.every((v) => Number.isInteger(v)) || KH < 1 || KW < 1 || SH < 1 || SW < 1 || PH < 0 || PW < 0) {
    throw new ShapeError(
      `${op}: kernel ${KH}x${KW}, stride ${SH}x${SW}, padding ${PH}x${PW} must be integers (kernel, stride ≥ 1, padding ≥ 0)`,
    );
  }
  if (2 * PH > KH || 2 * PW > KW)
    throw new ShapeError(`${op}: padding ${PH}x${PW} is more than half the kernel ${KH}x${KW}`);
  if (H + 2 * PH < KH || W + 2 * PW < KW) {
    throw new ShapeError(
      `${op}: window ${KH}x${KW} is larger than the padded input ${H + 2 * PH}x${W + 2 * PW} of ${fmtShape(xShape)}`,
    );
  }
  const OH = Math.floor((H + 2 * PH - KH) / SH) + 1,
    OW = Math.floor((W + 2 * PW - KW) / SW) + 1;
  return { N, C, H, W, OH, OW, KH, KW, SH, SW, PH, PW };
}

/** Runs of whole N·C planes (src/gpu/chunks.ts), as {p0, np}. */
export const planeChunks = (engine: Engine, planes: number, perPlane: readonly number[]) =>
  itemChunks(engine, 'pool', planes, perPlane).map(({ start, count }) => ({ p0: start, np: count }));

/**
 * Encode one pooling kernel per chunk of planes. `tensors` are [tensor, elements per plane] in
 * binding order; the kernel runs one invocation per element of `perThread` elements per plane.
 * The geometry goes in as override constants (one pipeline per pooling layer shape), so the
 * kernels' index divisions and window loops compile to constants.
 */
function dispatchPlanes(
  kernel: Kernel,
  flags: Record<string, number>,
  g: Geometry,
  tensors: Array<[Tensor, number]>,
  perThread: number,
): void {
  const engine = tensors[0][0].engine;
  const { H, W, OH, OW, KH, KW, SH, SW, PH, PW } = g;
  const overrides = { ...flags, H, W, OH, OW, KH, KW, SH, SW, PH, PW };
  for (const { p0, np } of planeChunks(
    engine,
    g.N * g.C,
    tensors.map(([, m]) => m),
  )) {
    const n = np * perThread;
    engine.dispatch({
      kernel,
      overrides,
      params: { n },
      buffers: tensors.map(([t, m]) => t.binding(p0 * m, np * m)),
      workgroups: grid1d(ceilDiv(n, 256)),
    });
  }
}

// ---------------------------------------------------------------------------------------------
// max-pool

/**
 * y [N,C,OH,OW] = max over each window of x [N,C,H,W], OH = ⌊(H + 2·pad − kernel)/stride⌋ + 1.
 * Padding never wins (PyTorch's −inf padding); ties go to the first element in row-major order.
 * Recorded on the active tape with the argmax saved for maxPool2dBackward.
 */
export function maxPool2d(x: Tensor, opts: Pool2dOptions): Tensor {
  const { y, argmax } = maxPool2dForward(x, opts);
  recordOp({
    op: 'maxpool2d',
    inputs: [x],
    output: y,
    saved: [argmax],
    backward: (dy) => [maxPool2dBackward(dy, argmax, x.shape, opts)],
  });
  return y;
}

/** The forward without the tape: y and argmax [N,C,OH,OW] (u32 index iy·W + ix within the input plane). */
export function maxPool2dForward(x: Tensor, opts: Pool2dOptions): { y: Tensor; argmax: Tensor } {
  const g = geometry('maxPool2d', x.shape, opts);
  expectDType('maxPool2d', 'x', x, 'f32');
  const out = [g.N, g.C, g.OH, g.OW];
  const y = new Tensor(x.engine, out, 'f32', { name: 'maxpool' });
  const argmax = new Tensor(x.engine, out, 'u32', { name: 'maxpool.argmax' });
  const inPlane = g.H * g.W,
    outPlane = g.OH * g.OW;
  dispatchPlanes(
    maxpoolFwd,
    {},
    g,
    [
      [x, inPlane],
      [y, outPlane],
      [argmax, outPlane],
    ],
    outPlane,
  );
  return { y, argmax };
}

/** dx [N,C,H,W] from dy and the forward's argmax [N,C,OH,OW]: a gather over covering windows. */
export function maxPool2dBackward(dy: Tensor, argmax: Tensor, xShape: readonly number[], opts: Pool2dOptions): Tensor {
  const g = geometry('maxPool2dBackward', xShape, opts);
  expectShape('maxPool2dBackward', 'dy', dy, [g.N, g.C, g.OH, g.OW]);
  expectShape('maxPool2dBackward', 'argmax', argmax, [g.N, g.C, g.OH, g.OW]);
  expectDType('maxPool2dBackward', 'argmax', argmax, 'u32');
  const dx = new Tensor(dy.engine, xShape, 'f32', { name: 'dmaxpool' });
  const inPlane = g.H * g.W,
    outPlane = g.OH * g.OW;
  if (g.SH * g.SW > 64)
    throw new LimitError(
      `maxPool2dBackward: stride ${g.SH}x${g.SW} is over the 64 inputs per invocation the kernel holds`,
    );
  // one invocation per SH×SW block of inputs, aligned in padded coordinates (see the kernel's header)
  const blocks = Math.ceil((g.H + g.PH) / g.SH) * Math.ceil((g.W + g.PW) / g.SW);
  dispatchPlanes(
    maxpoolBwd,
    {},
    g,
    [
      [dy, outPlane],
      [argmax, outPlane],
      [dx, inPlane],
    ],
    blocks,
  );
  return dx;
}

// ---------------------------------------------------------------------------------------------
// average pools

/** Adaptive pools reuse the fixed-window geometry with K, S, P unused (set to 1, 1, 0). */
function adaptiveGeometry(op: string, xShape: readonly number[], size: Pair): Geometry {
  if (xShape.length !== 4) throw new ShapeError(`${op}: input has shape ${fmtShape(xShape)}, expected [N,C,H,W]`);
  const [OH, OW] = pair(size);
  if (!Number.isInteger(OH) || !Number.isInteger(OW) || OH < 1 || OW < 1)
    throw new ShapeError(`${op}: output size ${OH}x${OW} must be positive integers`);
  const [N, C, H, W] = xShape;
  if (!xShape.every((d) => d >= 1)) throw new ShapeError(`${op}: input ${fmtShape(xShape)} is empty`);
  return { N, C, H, W, OH, OW, KH: 1, KW: 1, SH: 1, SW: 1, PH: 0, PW: 0 };
}

function avgForward(op: string, x: Tensor, g: Geometry, overrides: Record<string, number>): Tensor {
  expectDType(op, 'x', x, 'f32');
  const y = new Tensor(x.engine, [g.N, g.C, g.OH, g.OW], 'f32', { name: op });
  const outPlane = g.OH * g.OW;
  dispatchPlanes(
    avgpoolFwd,
    overrides,
    g,
    [
      [x, g.H * g.W],
      [y, outPlane],
    ],
    outPlane,
  );
  return y;
}

function avgBackward(
  op: string,
  dy: Tensor,
  xShape: readonly number[],
  g: Geometry,
  overrides: Record<string, number>,
): Tensor {
  expectShape(op, 'dy', dy, [g.N, g.C, g.OH, g.OW]);
  const dx = new Tensor(dy.engine, xShape, 'f32', { name: `d${op}` });
  const inPlane = g.H * g.W;
  dispatchPlanes(
    avgpoolBwd,
    overrides,
    g,
    [
      [dy, g.OH * g.OW],
      [dx, inPlane],
    ],
    inPlane,
  );
  return dx;
}

const avgOverrides = (opts: AvgPool2dOptions) => ({ ADAPTIVE: 0, INCLUDE_PAD: opts.countIncludePad === false ? 0 : 1 });

/**
 * y [N,C,OH,OW] = mean over each window of x [N,C,H,W] (PyTorch's avg_pool2d, floor mode). With
 * padding, the divisor is the padded window (countIncludePad, default true) or the real elements.
 */
export function avgPool2d(x: Tensor, opts: AvgPool2dOptions): Tensor {
  const g = geometry('avgPool2d', x.shape, opts);
  const y = avgForward('avgPool2d', x, g, avgOverrides(opts));
  recordOp({ op: 'avgpool2d', inputs: [x], output: y, backward: (dy) => [avgPool2dBackward(dy, x.shape, opts)] });
  return y;
}

/** dx [N,C,H,W] of avgPool2d from dy: a gather, dy / window size summed over covering windows. */
export function avgPool2dBackward(dy: Tensor, xShape: readonly number[], opts: AvgPool2dOptions): Tensor {
  return avgBackward('avgPool2dBackward', dy, xShape, geometry('avgPool2dBackward', xShape, opts), avgOverrides(opts));
}

/**
 * PyTorch's adaptive_avg_pool2d: output cell i of `size` averages rows ⌊i·H/oh⌋ … ⌈(i+1)·H/oh⌉ − 1
 * (and likewise columns); windows may overlap and differ in size. An input that already has the
 * output size is returned as is (the identity; nothing is dispatched or recorded).
 */
export function adaptiveAvgPool2d(x: Tensor, size: Pair): Tensor {
  const g = adaptiveGeometry('adaptiveAvgPool2d', x.shape, size);
  if (g.H === g.OH && g.W === g.OW) return x;
  const y = avgForward('adaptiveAvgPool2d', x, g, { ADAPTIVE: 1, INCLUDE_PAD: 1 });
  recordOp({
    op: 'adaptiveavgpool2d',
    inputs: [x],
    output: y,
    backward: (dy) => [adaptiveAvgPool2dBackward(dy, x.shape)],
  });
  return y;
}

/** dx [N,C,H,W] of adaptiveAvgPool2d from dy [N,C,oh,ow]. */
export function adaptiveAvgPool2dBackward(dy: Tensor, xShape: readonly number[]): Tensor {
  expectShape('adaptiveAvgPool2dBackward', 'dy', dy, [xShape[0] ?? -1, xShape[1] ?? -1, -1, -1]);
  const g = adaptiveGeometry('adaptiveAvgPool2dBackward', xShape, [dy.shape[2] ?? 0, dy.shape[3] ?? 0]);
  return avgBackward('adaptiveAvgPool2dBackward', dy, xShape, g, { ADAPTIVE: 1, INCLUDE_PAD: 1 });
}
