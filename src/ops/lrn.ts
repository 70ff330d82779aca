// Local Response Normalisation across channels (paper sec. 3.3), forward and backward, in the
// paper's form with plain α:
//   b_c = a_c / (k + α · Σ_{j=max(0, c−n/2)}^{min(C−1, c+n/2)} a_j²)^β
// PyTorch's and Caffe's LocalResponseNorm divide α by n, so the paper's (n=5, α=1e-4, β=0.75, k=2)
// is torch.nn.LocalResponseNorm(5, alpha=5e-4, beta=0.75, k=2). The forward saves nothing: the
// backward recomputes the scale from x (which the tape keeps as the input anyway), which saves a
// tensor the size of x per LRN layer (148 MB for conv1 at batch 128). Both kernels run one
// invocation per pixel that walks down the channels with the window in registers. Tensors larger
// than one storage binding are processed in chunks of whole images (the sum runs across channels).
// Not here: windows wider than 16 channels, LRN within a channel (Caffe's WITHIN_CHANNEL).
import { ShapeError, fmtShape } from '../errors.js';
import { f32 } from '../gpu/engine.js';
import { ceilDiv, grid1d } from '../gpu/grid.js';
import { defineKernel, type Kernel } from '../gpu/kernel.js';
import { Tensor, expectDType, expectShape } from '../tensor/tensor.js';
import lrnFwdWgsl from '../../kernels/lrn_fwd.wgsl';
import lrnBwdWgsl from '../../kernels/lrn_bwd.wgsl';
import { recordOp } from '../tape.js';

const lrnFwd = defineKernel('lrn_fwd', lrnFwdWgsl);
const lrnBwd = defineKernel('lrn_bwd', lrnBwdWgsl);

export interface LrnOptions {
  /** Channels in the window, n (5; at most 16). Odd n: c ± ⌊n/2⌋ as in the paper; even n: [c − n/2, c + n/2 − 1] as PyTorch. */
  size: number;
  /** Plain α of the paper (1e-4), NOT PyTorch's α/n. */
  alpha: number;
  beta: number;
  k: number;
}

/** The paper's constants: "k = 2, n = 5, α = 10^−4, and β = 0.75". */
export const PAPER_LRN: Readonly<LrnOptions> = Object.freeze({ size: 5, alpha: 1e-4, beta: 0.75, k: 2 });

/** Largest window the kernels' register arrays hold. */
export const LRN_MAX_SIZE = 16;

function check(op: string, x: Tensor, o: LrnOptions): void {
  if (x.shape.length !== 4) throw new ShapeError(`${op}: input has shape ${fmtShape(x.shape)}, expected [N,C,H,W]`);
  expectDType(op, 'x', x, 'f32');
  if (!Number.isInteger(o.size) || o.size < 1 || o.size > LRN_MAX_SIZE)
    throw new ShapeError(`${op}: size ${o.size} must be an integer in 1..${LRN_MAX_SIZE}`);
  for (const key of ['alpha', 'beta', 'k'] as const) {
    if (!Number.isFinite(o[key])) throw new ShapeError(`${op}: ${key} = ${o[key]} is not a finite number`);
  }
}

/**
 * Encode one kernel per chunk of whole images; each invocation walks one pixel's channels.
 * `tensors` are bound over the chunk's elements in order.
 */
function dispatchImages(kernel: Kernel, x: Tensor, o: LrnOptions, tensors: Tensor[]): void {
  const [, C, H, W] = x.shape;
  for (const c of x.chunks(C * H * W)) {
    const pixels = c.count / C;
    x.engine.dispatch({
      kernel,
      overrides: { SIZE: o.size },
      params: { n: pixels, C, HW: H * W, alpha: f32(o.alpha), beta: f32(o.beta), k: f32(o.k) },
      buffers: tensors.map((t) => t.binding(c.start, c.count)),
      workgroups: grid1d(ceilDiv(pixels, 256)),
    });
  }
}

/**
 * y [N,C,H,W] = x / (k + α Σ_window x²)^β across channels at each pixel (paper form, plain α;
 * equals torch.nn.LocalResponseNorm(size, alpha = α·size, beta, k)). Recorded on the active tape;
 * nothing is saved besides x, which the tape keeps as the input.
 */
export function lrn(x: Tensor, opts: LrnOptions = PAPER_LRN): Tensor {
  check('lrn', x, opts);
  const y = new Tensor(x.engine, x.shape, 'f32', { name: 'lrn' });
  dispatchImages(lrnFwd, x, opts, [x, y]);
  recordOp({ op: 'lrn', inputs: [x], output: y, backward: (dy) => [lrnBackward(x, dy, opts)] });
  return y;
}

/**
 * dx of lrn from its input x and dy (both [N,C,H,W]), s recomputed from x:
 *   dx_c = dy_c·s_c^−β − 2αβ·x_c·Σ_{j: c ∈ window(j)} dy_j·x_j·s_j^(−β−1),   s = k + α Σ_window x².
 * One pass, deterministic (fixed-order sums, no atomics).
 */
export function lrnBackward(x: Tensor, dy: Tensor, opts: LrnOptions = PAPER_LRN): Tensor {
  check('lrnBackward', x, opts);
  expectShape('lrnBackward', 'dy', dy, x.shape);
  const dx = new Tensor(x.engine, x.shape, 'f32', { name: 'dlrn' });
  dispatchImages(lrnBwd, x, opts, [x, dy, dx]);
  return dx;
}
