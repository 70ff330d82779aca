// Elementwise helpers the tape and optimizer need: fill, y = a·x + b·y (accumulate, copy, scale).
// Each works on tensors of any size by binding them in chunks that fit one storage binding.
import { ShapeError, fmtShape } from '../errors.js';
import { f32 } from '../gpu/engine.js';
import { ceilDiv, grid1d } from '../gpu/grid.js';
import type { Kernel } from '../gpu/pipelines.js';
import fillWgsl from '../../kernels/fill.wgsl';
import axpyWgsl from '../../kernels/axpy.wgsl';
import { expectDType, type Tensor } from './tensor.js';

const fillKernel: Kernel = { name: 'fill', code: fillWgsl };
const axpyKernel: Kernel = { name: 'axpy', code: axpyWgsl };

/** t[:] = value */
export function fill(t: Tensor, value: number): Tensor {
  t.markWritten();
  for (const c of t.chunks()) {
    t.engine.dispatch({
      kernel: fillKernel,
      params: [ceilDiv(c.count, 4), f32(value)],
      buffers: [t.bindingVec4(c.start, c.count)],
      workgroups: grid1d(ceilDiv(c.count, 1024)),
    });
  }
  return t;
}

/** y = a·x + b·y, elementwise (same element count). */
export function axpby(a: number, x: Tensor, b: number, y: Tensor): Tensor {
  if (x.size !== y.size)
    throw new ShapeError(`axpby: x ${fmtShape(x.shape)} and y ${fmtShape(y.shape)} differ in size`);
  expectDType('axpby', 'x', x, 'f32');
  expectDType('axpby', 'y', y, 'f32');
  y.markWritten();
  for (const c of y.chunks()) {
    y.engine.dispatch({
      kernel: axpyKernel,
      params: [ceilDiv(c.count, 4), f32(a), f32(b)],
      buffers: [x.bindingVec4(c.start, c.count), y.bindingVec4(c.start, c.count)],
      workgroups: grid1d(ceilDiv(c.count, 1024)),
    });
  }
  return y;
}

/** acc += g (gradient accumulation). */
export const accumulate = (acc: Tensor, g: Tensor): Tensor => axpby(1, g, 1, acc);

/** dst = src */
export const copyInto = (src: Tensor, dst: Tensor): Tensor => axpby(1, src, 0, dst);
