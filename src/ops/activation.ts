// ReLU and tanh, forward and backward. Both backward passes use the forward's output, which is
// what a fused conv+bias+ReLU keeps, so no pre-activation buffer is ever needed.
import { ShapeError, fmtShape } from '../errors.js';
import { ceilDiv } from '../gpu/grid.js';
import { defineKernel } from '../gpu/kernel.js';
import { dispatchChunked } from '../tensor/chunked.js';
import actFwdWgsl from '../../kernels/act_fwd.wgsl';
import actBwdWgsl from '../../kernels/act_bwd.wgsl';
import { Tensor, expectDType } from '../tensor/tensor.js';
import { recordOp } from '../tape.js';

const actFwd = defineKernel('act_fwd', actFwdWgsl);
const actBwd = defineKernel('act_bwd', actBwdWgsl);

export type Activation = 'relu' | 'tanh';

function actForward(x: Tensor, kind: Activation): Tensor {
  expectDType(kind, 'x', x, 'f32');
  const y = new Tensor(x.engine, x.shape, 'f32', { name: kind });
  dispatchChunked(x, {
    kernel: actFwd,
    overrides: { TANH: kind === 'tanh' ? 1 : 0 },
    params: (c) => ({ n: ceilDiv(c.count, 4) }),
    buffers: (c) => [x.bindingVec4(c.start, c.count), y.bindingVec4(c.start, c.count)],
    perInvocation: 4,
  });
  return y;
}

/** dx from the activation's output y and dy: shapes equal (any). */
export function activationBackward(y: Tensor, dy: Tensor, kind: Activation): Tensor {
  expectDType(`${kind} backward`, 'y', y, 'f32');
  expectDType(`${kind} backward`, 'dy', dy, 'f32');
  if (dy.size !== y.size)
    throw new ShapeError(`${kind} backward: dy ${fmtShape(dy.shape)} does not match y ${fmtShape(y.shape)}`);
  const dx = new Tensor(y.engine, y.shape, 'f32', { name: `d${kind}` });
  dispatchChunked(y, {
    kernel: actBwd,
    overrides: { TANH: kind === 'tanh' ? 1 : 0 },
    params: (c) => ({ n: ceilDiv(c.count, 4) }),
    buffers: (c) => [
      y.bindingVec4(c.start, c.count),
      dy.bindingVec4(c.start, c.count),
      dx.bindingVec4(c.start, c.count),
    ],
    perInvocation: 4,
  });
  return dx;
}

/** y = act(x), recorded on the active tape. Any shape. */
export function activation(x: Tensor, kind: Activation): Tensor {
  const y = actForward(x, kind);
  recordOp({ op: kind, inputs: [x], output: y, backward: (dy) => [activationBackward(y, dy, kind)] });
  return y;
}

export const relu = (x: Tensor): Tensor => activation(x, 'relu');
export const tanh = (x: Tensor): Tensor => activation(x, 'tanh');
