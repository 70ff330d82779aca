// Shape-only ops: flatten/reshape as views of the same storage, recorded on the tape so the
// gradient flows back with the input's shape. No kernel runs.
import { ShapeError, fmtShape } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';
import { recordOp } from '../tape.js';

/** A view of `x` with another shape (−1 infers one dimension). */
export function reshape(x: Tensor, shape: readonly number[], op = 'reshape'): Tensor {
  const y = x.reshape(shape, op);
  recordOp({ op: 'reshape', inputs: [x], output: y, backward: (dy) => [dy.moveTo(x.shape)] });
  return y;
}

/** [N, ...] → [N, prod(...)]: C,H,W order, as PyTorch's flatten (fc6 weights load unchanged). */
export function flatten(x: Tensor): Tensor {
  if (x.shape.length < 2)
    throw new ShapeError(
      `flatten: tensor '${x.name}' ${fmtShape(x.shape)} has rank ${x.shape.length}; it needs a batch dimension and at least one more`,
    );
  return reshape(x, [x.shape[0], -1], 'flatten');
}
