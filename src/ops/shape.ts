// Shape-only ops: flatten/reshape as views of the same storage, recorded on the tape so the
// gradient flows back with the input's shape. No kernel runs.
import type { Tensor } from '../tensor.js';

/** A view of `x` with another shape (−1 infers one dimension). */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const y = x.reshape(shape);
  x.engine.tape?.record({ op: 'reshape', inputs: [x], output: y, backward: (dy) => [dy.moveTo(x.shape)] });
  return y;
}

/** [N, ...] → [N, prod(...)]: C,H,W order, as PyTorch's flatten (fc6 weights load unchanged). */
export const flatten = (x: Tensor): Tensor => reshape(x, [x.shape[0], -1]);
