// Elementwise helpers the tape and optimizer need: fill, y = a·x + b·y (accumulate, copy, scale).
// Each works on tensors of any size by binding them in chunks that fit one storage binding.
import { ShapeError, fmtShape } from '../errors.js';
import { f32 } from '../gpu/engine.js';
import { ceilDiv } from '../gpu/grid.js';
import { dispatchChunked } from './chunked.js';
import { defineKernel } from '../gpu/kernel.js';
import fillWgsl from '../../kernels/fill.wgsl';
import axpyWgsl from '../../kernels/axpy.wgsl';
import { expectDType, type Tensor } from './tensor.js';

const fillKernel = defineKernel('fill', fillWgsl);
const axpyKernel = defineKernel('axpy', axpyWgsl);

/** t[:] = value */
export function fill(t: Tensor, value: number): Tensor {
  t.markWritten();
  dispatchChunked(t, {
    kernel: fillKernel,
    params: (c) => ({ n: ceilDiv(c.count, 4), value: f32(value) }),
    buffers: (c) => [t.bindingVec4(c.start, c.count)],
    perInvocation: 4,
  });
  return t;
}

/** y = a·x + b·y, elementwise (same element count). */
export function axpby(a: number, x: Tensor, b: number, y: Tensor): Tensor {
  if (x.size !== y.size)
    throw new ShapeError(`axpby: x ${fmtShape(x.shape)} and y ${fmtShape(y.shape)} differ in size`);
  expectDType('axpby', 'x', x, 'f32');
  expectDType('axpby', 'y', y, 'f32');
  y.markWritten();
  dispatchChunked(y, {
    kernel: axpyKernel,
    params: (c) => ({ n: ceilDiv(c.count, 4), a: f32(a), b: f32(b) }),
    buffers: (c) => [x.bindingVec4(c.start, c.count), y.bindingVec4(c.start, c.count)],
    perInvocation: 4,
  });
  return y;
}

/** acc += g (gradient accumulation). */
export const accumulate = (acc: Tensor, g: Tensor): Tensor => axpby(1, g, 1, acc);

/** dst = src */
export const copyInto = (src: Tensor, dst: Tensor): Tensor => axpby(1, src, 0, dst);
