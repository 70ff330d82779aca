// Inverted dropout (Krizhevsky et al. 2012, sec. 4.2: p = 0.5 after fc6 and fc7): in training each
// unit is kept with probability 1 − p and scaled by 1/(1 − p), so evaluation is the identity (the
// paper's "multiply their outputs by 0.5" at test time, moved into training). The mask is a hash of
// (seed, step, element index) computed in kernels/dropout.wgsl: nothing is stored, the backward
// recomputes it, and the same (seed, step) gives the same mask on every run and any chunking.
import dropoutWgsl from '../../kernels/dropout.wgsl';
import { AlexnetError } from '../errors.js';
import { f32, stepParam } from '../gpu/engine.js';
import { defineKernel } from '../gpu/kernel.js';
import { dispatchChunked } from '../tensor/chunked.js';
import { Tensor, expectDType } from '../tensor/tensor.js';
import { recordOp } from '../tape.js';

const dropoutKernel = defineKernel('dropout', dropoutWgsl);

export interface DropoutOptions {
  /** Seed of the run (any integer; taken mod 2³²). */
  seed: number;
  /** Training step (any integer; taken mod 2³²): a new mask each step. */
  step: number;
  /** False for evaluation: dropout is then the identity. */
  training: boolean;
}

/** y = x · mask · 1/(1−p) with the mask of (p, seed, step); any shape, chunked past one binding. */
function applyMask(x: Tensor, p: number, seed: number, step: number): Tensor {
  const y = new Tensor(x.engine, x.shape, 'f32', { name: 'dropout' });
  // P(keep) = keep/2³²; p = 1 keeps nothing (and scales nothing, so no 0·∞)
  const keep = Math.min(0xffffffff, Math.floor((1 - p) * 2 ** 32));
  const scale = p < 1 ? 1 / (1 - p) : 0;
  dispatchChunked(x, {
    kernel: dropoutKernel,
    params: (c) => ({ n: c.count, base: c.start, seed: seed >>> 0, step: stepParam(step), keep, scale: f32(scale) }),
    buffers: (c) => [x.binding(c.start, c.count), y.binding(c.start, c.count)],
    perInvocation: 1,
  });
  return y;
}

/**
 * Inverted dropout with drop probability p ∈ [0, 1]. In evaluation (training false) or for p = 0
 * it returns x itself and dispatches nothing. Recorded on the tape; the backward recomputes the mask.
 */
export function dropout(x: Tensor, p: number, opts: DropoutOptions): Tensor {
  if (!(p >= 0 && p <= 1)) throw new AlexnetError(`dropout: p = ${p} is not in [0, 1]`);
  if (!Number.isInteger(opts.seed) || !Number.isInteger(opts.step))
    throw new AlexnetError(`dropout: seed ${opts.seed} and step ${opts.step} must be integers`);
  expectDType('dropout', 'x', x, 'f32');
  if (!opts.training || p === 0) return x;
  const y = applyMask(x, p, opts.seed, opts.step);
  recordOp({ op: 'dropout', inputs: [x], output: y, backward: (dy) => [applyMask(dy, p, opts.seed, opts.step)] });
  return y;
}
