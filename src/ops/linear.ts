// Fully connected layers and general matrix products on one register-tiled GEMM kernel
// (kernels/gemm.wgsl), forward and backward next to each other:
//   linear   y[B,out] = x[B,in]·wᵀ + b (ReLU)   dx = dy·w   dw = dyᵀ·x   db = Σ_batch dy
//   matmul   C = op(A)·op(B)
// The kernel reads B only untransposed (the fast pattern on lavapipe), so the forward computes
// yᵀ = w·xᵀ from a transposed copy of the small x and stores its result transposed into y.
// Weights larger than one storage binding (fc6: [4096, 9216] floats = 151 MB > lavapipe's
// 128 MiB) are processed per row chunk (tensor.chunks): each chunk writes its own column range of
// y, its own rows of dw, and adds its share of dx (ACCUM), so no pass ever binds the whole weight.
// Beside gemm.wgsl the tuner may pick gemm_tiled.wgsl (workgroup memory) or, where the adapter has
// subgroups, gemm_subgroup.wgsl: every variant sums in the same order (bit for bit the same numbers).
// Left out: batched (3-D) products.
import gemmWgsl from '../../kernels/gemm.wgsl';
import gemmSubgroupWgsl from '../../kernels/gemm_subgroup.wgsl';
import gemmTiledWgsl from '../../kernels/gemm_tiled.wgsl';
import transposeWgsl from '../../kernels/gemm_transpose.wgsl';
import colSumWgsl from '../../kernels/col_sum.wgsl';
import { LimitError, ShapeError, fmtShape } from '../errors.js';
import { f32 } from '../gpu/engine.js';
import { ceilDiv } from '../gpu/grid.js';
import { defineKernel } from '../gpu/kernel.js';
import type { TuneBench } from '../gpu/tuner.js';
import { fill } from '../tensor/elementwise.js';
import { Tensor, expectDType } from '../tensor/tensor.js';
import { activationBackward } from './activation.js';
import { recordOp } from '../tape.js';

const TM = 8,
  TN = 16; // register tile of gemm.wgsl
const gemmKernel = defineKernel('gemm', gemmWgsl);
const gemmTiledKernel = defineKernel('gemm_tiled', gemmTiledWgsl);
const gemmSubgroupKernel = defineKernel('gemm_subgroup', gemmSubgroupWgsl);
const transposeKernel = defineKernel('gemm_transpose', transposeWgsl);
const colSumKernel = defineKernel('col_sum', colSumWgsl);

/** A matrix inside a tensor: elements [start, start+count) are bound; (r, c) is at off + r·ld + c there. */
export interface MatrixRef {
  t: Tensor;
  start: number;
  count: number;
  ld: number;
  off: number;
}

const whole = (t: Tensor, ld: number, off = 0): MatrixRef => ({ t, start: 0, count: t.size, ld, off });

/** The binding of a MatrixRef, rounded up to whole vec4s (pool buffers are 16-byte multiples). */
function bind4(r: MatrixRef): GPUBufferBinding {
  const limit = r.t.engine.maxBindingElems * 4;
  const size = Math.min(Math.max(16, Math.ceil(r.count / 4) * 16), r.t.buffer.size - r.start * 4);
  if (size > limit)
    throw new LimitError(
      `gemm: tensor '${r.t.name}' ${fmtShape(r.t.shape)} (${r.count} elements) exceeds one storage binding`,
    );
  return { buffer: r.t.buffer, offset: r.start * 4, size };
}

const aligned = (r: MatrixRef): boolean => r.ld % 4 === 0 && r.off % 4 === 0;
const pow2ceil = (n: number): number => 2 ** Math.ceil(Math.log2(Math.max(1, n)));

/**
 * Encode C(M×N) = op(A)·B (+ bias) (+ C if accumulate) (ReLU), C stored transposed if transC
 * (bias then runs along m). No shape checks: the callers below check the tensors.
 */
export interface GemmArgs {
  M: number;
  N: number;
  K: number;
  a: MatrixRef;
  b: MatrixRef;
  c: MatrixRef;
  transA?: boolean;
  transC?: boolean;
  bias?: MatrixRef;
  relu?: boolean;
  accumulate?: boolean;
}

export function gemm(o: GemmArgs): void {
  const { M, N, K } = o;
  if (M === 0 || N === 0) return;
  const align = aligned(o.a) && aligned(o.b) && (o.transC || aligned(o.c));
  const key = `gemm M${M} N${N} K${K}${o.transA ? ' transA' : ''}${o.transC ? ' transC' : ''}${align ? '' : ' unaligned'}`;
  const e = o.c.t.engine;
  const v = e.tuner.pick(key, gemmCandidates(M, N, e.subgroupKernels), gemmLabel, () => gemmScratch(o));
  encodeGemm(o, v);
}

/**
 * gemm.wgsl with `wgx` tiles per workgroup along n, gemm_tiled.wgsl (workgroup-memory tiles, for
 * GPUs), or gemm_subgroup.wgsl with its 64 lanes along n (sharing 8 rows) or along m (sharing 8 columns).
 */
export type GemmVariant =
  | { kernel: 'registers'; wgx: number }
  | { kernel: 'tiled' }
  | { kernel: 'subgroup'; lanes: 'n' | 'm' };
export function gemmLabel(v: GemmVariant): string {
  if (v.kernel === 'tiled') return 'tiled64x64';
  if (v.kernel === 'subgroup') return v.lanes === 'n' ? 'subgroup8x256' : 'subgroup256x8';
  return `wgx${v.wgx}`;
}

/**
 * Tiles per workgroup along n (of its 64): today's choice first — 8×8 unless M or N is too small to
 * keep them busy (fc layers at small batch: M or N is the batch) — then its neighbours by powers of two.
 */
export function gemmCandidates(M: number, N: number, subgroups: boolean): GemmVariant[] {
  const tm = pow2ceil(ceilDiv(M, TM)),
    tn = pow2ceil(ceilDiv(N, TN));
  const w0 = Math.min(64 / Math.min(8, tm), tn);
  const others = [1, 2, 4, 8, 16, 32, 64].filter((w) => w !== w0 && w <= 2 * tn && 64 / w <= 2 * tm);
  others.sort((a, b) => Math.abs(Math.log2(a / w0)) - Math.abs(Math.log2(b / w0)));
  const registers = [w0, ...others.slice(0, 4)].map((wgx): GemmVariant => ({ kernel: 'registers', wgx }));
  const sub: GemmVariant[] = subgroups
    ? [
        { kernel: 'subgroup', lanes: 'n' },
        { kernel: 'subgroup', lanes: 'm' },
      ]
    : [];
  return [...registers, { kernel: 'tiled' }, ...sub];
}

/** Scratch copies of a GEMM's operands (same shapes, ranges, strides) for the tuner to time on. */
function gemmScratch(o: GemmArgs): TuneBench<GemmVariant> {
  const copies = new Map<Tensor, Tensor>();
  const copy = (r: MatrixRef): MatrixRef => {
    let t = copies.get(r.t);
    if (!t) copies.set(r.t, (t = fill(new Tensor(r.t.engine, r.t.shape, 'f32', { name: `tune.${r.t.name}` }), 0.5)));
    return { ...r, t };
  };
  const s = { ...o, a: copy(o.a), b: copy(o.b), c: copy(o.c), bias: o.bias && copy(o.bias) };
  return { run: (v) => encodeGemm(s, v), dispose: () => copies.forEach((t) => t.dispose()) };
}

/** Encode the GEMM as variant v (gemm.wgsl: 64 invocations = wgx × 64/wgx register tiles). */
function encodeGemm(o: GemmArgs, v: GemmVariant): void {
  const { M, N, K, a, b, c } = o;
  const overrides = {
    TRANS_A: o.transA ? 1 : 0,
    TRANS_C: o.transC ? 1 : 0,
    ALIGN: aligned(a) && aligned(b) && (o.transC || aligned(c)) ? 1 : 0,
    BIAS: o.bias ? 1 : 0,
    RELU: o.relu ? 1 : 0,
    ACCUM: o.accumulate ? 1 : 0,
  };
  const biasBinding = o.bias ? o.bias.t.binding(o.bias.start, o.bias.count) : bind4(a); // unread placeholder
  const kernel = v.kernel === 'tiled' ? gemmTiledKernel : v.kernel === 'subgroup' ? gemmSubgroupKernel : gemmKernel;
  c.t.engine.dispatch({
    kernel,
    overrides: v.kernel === 'subgroup' ? { ...overrides, LANES_M: v.lanes === 'm' ? 1 : 0 } : overrides,
    params: {
      M,
      N,
      K,
      lda: a.ld,
      ldb: b.ld,
      ldc: c.ld,
      offA: a.off,
      offB: b.off,
      offC: c.off,
      offBias: o.bias?.off ?? 0,
      wgx: v.kernel === 'registers' ? v.wgx : 0,
    },
    buffers: [bind4(a), bind4(b), biasBinding, bind4(c)],
    workgroups: gemmGrid(M, N, v),
  });
}

/** Workgroups of each variant (the kernels' headers say which outputs one workgroup owns). */
function gemmGrid(M: number, N: number, v: GemmVariant): [number, number] {
  if (v.kernel === 'tiled') return [ceilDiv(N, 64), ceilDiv(M, 64)];
  if (v.kernel === 'subgroup')
    return v.lanes === 'n' ? [ceilDiv(N, 256), ceilDiv(M, 8)] : [ceilDiv(N, 8), ceilDiv(M, 256)];
  return [ceilDiv(N, TN * v.wgx), ceilDiv(M, (TM * 64) / v.wgx)];
}

/**
 * xᵀ of a 2-D tensor [R, C] that fits one binding, as a [C, ld] matrix with ld = R rounded up to
 * a multiple of 4 so the GEMM can read it as vec4s (odd batches too); the padding columns are
 * never written and only feed outputs that are not stored. The caller disposes `.t`.
 */
function transposed(x: Tensor): MatrixRef {
  const [R, C] = x.shape;
  const ld = Math.ceil(R / 4) * 4;
  const t = new Tensor(x.engine, [C, ld], 'f32', { name: `${x.name}ᵀ` });
  x.engine.dispatch({
    kernel: transposeKernel,
    params: { R, C, ldi: C, ldo: ld },
    buffers: [x.binding(), t.binding()],
    workgroups: [ceilDiv(R, 8), ceilDiv(C, 8)],
  });
  return whole(t, ld);
}

/** out[n] = scale · Σ_m x[m, n] for x [M, N] in one binding: bias gradients, loss means. */
export function colSum(x: Tensor, out: Tensor, scale = 1): Tensor {
  const [M, N] = x.shape.length === 1 ? [x.shape[0], 1] : x.shape;
  if (x.shape.length > 2 || out.size !== N)
    throw new ShapeError(`colSum: x ${fmtShape(x.shape)} and out ${fmtShape(out.shape)} do not fit`);
  x.engine.dispatch({
    kernel: colSumKernel,
    params: { M, N, ld: N, scale: f32(scale) },
    buffers: [x.binding(), out.binding()],
    workgroups: [ceilDiv(N, 64)],
  });
  return out;
}

function check2d(op: string, what: string, t: Tensor): void {
  if (t.shape.length !== 2) throw new ShapeError(`${op}: ${what} must be 2-D, got ${fmtShape(t.shape)}`);
  expectDType(op, what, t, 'f32');
}

/** Throw LimitError before dispatching if a matrix of `shape` would not fit one binding. */
function checkFits(op: string, what: string, shape: readonly number[], t: Tensor): void {
  if (shape[0] * shape[1] > t.engine.maxBindingElems) {
    throw new LimitError(
      `${op}: ${what} ${fmtShape(shape)} exceeds one storage binding (${t.engine.maxBindingElems} floats); only linear's weight may`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// matmul

export interface MatmulOptions {
  transA?: boolean;
  transB?: boolean;
}

/** C = op(A)·op(B) without recording; op(B) = Bᵀ goes through a transposed copy. */
function matmulRaw(a: Tensor, b: Tensor, transA: boolean, transB: boolean): Tensor {
  const [M, K] = transA ? [a.shape[1], a.shape[0]] : a.shape;
  const N = transB ? b.shape[0] : b.shape[1];
  const bm = transB ? transposed(b) : whole(b, N);
  const c = new Tensor(a.engine, [M, N], 'f32', { name: 'matmul' });
  gemm({ M, N, K, a: whole(a, a.shape[1]), b: bm, c: whole(c, N), transA });
  if (transB) bm.t.dispose(); // reusable once this batch is submitted
  return c;
}

/**
 * C[M,N] = op(A)·op(B), op(X) = X or Xᵀ; recorded on the tape. Each operand must fit one
 * storage binding (linear() handles weights that do not).
 */
export function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  const transA = !!opts.transA,
    transB = !!opts.transB;
  check2d('matmul', 'a', a);
  check2d('matmul', 'b', b);
  const ka = transA ? a.shape[0] : a.shape[1],
    kb = transB ? b.shape[1] : b.shape[0];
  if (ka !== kb) {
    throw new ShapeError(
      `matmul: a ${fmtShape(a.shape)}${transA ? 'ᵀ' : ''} and b ${fmtShape(b.shape)}${transB ? 'ᵀ' : ''} disagree on the inner dimension (${ka} vs ${kb})`,
    );
  }
  const M = transA ? a.shape[1] : a.shape[0],
    N = transB ? b.shape[0] : b.shape[1];
  checkFits('matmul', 'a', a.shape, a);
  checkFits('matmul', 'b', b.shape, b);
  checkFits('matmul', 'the product', [M, N], a);
  const c = matmulRaw(a, b, transA, transB);
  recordOp({
    op: 'matmul',
    inputs: [a, b],
    output: c,
    // d op(A) = dC·op(B)ᵀ and d op(B) = op(A)ᵀ·dC, each written so the result comes out stored like A / B
    backward: (dc) => [
      a.requiresGrad ? (transA ? matmulRaw(b, dc, transB, true) : matmulRaw(dc, b, false, !transB)) : undefined,
      b.requiresGrad ? (transB ? matmulRaw(dc, a, true, transA) : matmulRaw(a, dc, !transA, false)) : undefined,
    ],
  });
  return c;
}

// ---------------------------------------------------------------------------------------------
// linear

export interface LinearOptions {
  /** Fuse a ReLU into the forward; the backward masks dy by y > 0. */
  relu?: boolean;
}

/** y = x·wᵀ + b (ReLU) as yᵀ = w·xᵀ per weight chunk, into its columns of y. x [B,in], w [out,in], b [out]. */
export function linearForward(x: Tensor, w: Tensor, b: Tensor | undefined, relu: boolean): Tensor {
  const [B, inF] = x.shape,
    out = w.shape[0];
  const y = new Tensor(x.engine, [B, out], 'f32', { name: relu ? 'linear_relu' : 'linear' });
  const xt = transposed(x); // [in, B (padded to 4)]
  for (const ch of w.chunks(inF)) {
    const r0 = ch.start / inF,
      rows = ch.count / inF;
    gemm({
      M: rows,
      N: B,
      K: inF,
      transC: true,
      relu,
      a: { t: w, start: ch.start, count: ch.count, ld: inF, off: 0 },
      b: xt,
      c: whole(y, out, r0),
      bias: b && whole(b, 0, r0),
    });
  }
  xt.t.dispose();
  return y;
}

/** dx, dw, db of y = x·wᵀ + b from dz = dL/d(x·wᵀ + b); undefined where `need` says so. */
export function linearBackward(
  x: Tensor,
  w: Tensor,
  dz: Tensor,
  need: { x: boolean; w: boolean; b: boolean },
): { dx?: Tensor; dw?: Tensor; db?: Tensor } {
  const [B, inF] = x.shape,
    out = w.shape[0];
  const e = x.engine;
  const dx = need.x ? new Tensor(e, [B, inF], 'f32', { name: 'dlinear.x' }) : undefined;
  const dw = need.w ? new Tensor(e, w.shape, 'f32', { name: `d${w.name}` }) : undefined;
  w.chunks(inF).forEach((ch, i) => {
    const r0 = ch.start / inF,
      rows = ch.count / inF;
    const wc: MatrixRef = { t: w, start: ch.start, count: ch.count, ld: inF, off: 0 };
    // dx = Σ_chunks dz[:, chunk]·w[chunk, :]
    if (dx) gemm({ M: B, N: inF, K: rows, a: whole(dz, out, r0), b: wc, c: whole(dx, inF), accumulate: i > 0 });
    // dw[chunk, :] = dz[:, chunk]ᵀ·x
    if (dw) gemm({ M: rows, N: inF, K: B, transA: true, a: whole(dz, out, r0), b: whole(x, inF), c: { ...wc, t: dw } });
  });
  const db = need.b ? colSum(dz, new Tensor(e, [out], 'f32', { name: 'dlinear.b' })) : undefined;
  return { dx, dw, db };
}

/**
 * Fully connected layer, PyTorch layout: y[B,out] = x[B,in]·wᵀ + b, ReLU if `relu`. Recorded on
 * the tape. w may exceed one storage binding (it is processed in row chunks); x and y may not.
 */
export function linear(x: Tensor, w: Tensor, b?: Tensor, opts: LinearOptions = {}): Tensor {
  check2d('linear', 'x', x);
  check2d('linear', 'w', w);
  if (x.shape[1] !== w.shape[1]) {
    throw new ShapeError(
      `linear: x ${fmtShape(x.shape)} and w ${fmtShape(w.shape)} disagree on in_features (${x.shape[1]} vs ${w.shape[1]})`,
    );
  }
  if (b && (b.shape.length !== 1 || b.shape[0] !== w.shape[0])) {
    throw new ShapeError(
      `linear: b ${fmtShape(b.shape)} does not match w ${fmtShape(w.shape)} (expected [${w.shape[0]}])`,
    );
  }
  if (b) expectDType('linear', 'b', b, 'f32');
  checkFits('linear', 'x', x.shape, x);
  checkFits('linear', 'y', [x.shape[0], w.shape[0]], x);
  const relu = !!opts.relu;
  const y = linearForward(x, w, b, relu);
  recordOp({
    op: relu ? 'linear_relu' : 'linear',
    inputs: b ? [x, w, b] : [x, w],
    output: y,
    backward: (dy) => {
      const dz = relu ? activationBackward(y, dy, 'relu') : dy;
      const g = linearBackward(x, w, dz, { x: x.requiresGrad, w: w.requiresGrad, b: !!b?.requiresGrad });
      if (dz !== dy) dz.dispose();
      return [g.dx, g.dw, g.db];
    },
  });
  return y;
}
