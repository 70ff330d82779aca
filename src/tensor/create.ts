// Creating tensors: from host data, zeros, uninitialised, and trainable parameters.
import { ShapeError, fmtShape } from '../errors.js';
import type { Engine } from '../gpu/engine.js';
import { Tensor, hostArray, numel, type DType } from './tensor.js';
import { fill } from './elementwise.js';

/** Upload host data as a tensor of `shape`; every value must fit the dtype (checked before anything is allocated). */
export function tensor(
  engine: Engine,
  data: ArrayLike<number>,
  shape: readonly number[],
  dtype: DType = 'f32',
  name?: string,
): Tensor {
  const what = name ? `tensor '${name}'` : 'tensor';
  if (data.length !== numel(shape))
    throw new ShapeError(`${what}: ${data.length} values do not fill shape ${fmtShape(shape)}`);
  const host = hostArray(what, data, dtype);
  return new Tensor(engine, shape, dtype, { name }).write(host);
}

/** Uninitialised tensor (contents undefined until written). */
export const empty = (engine: Engine, shape: readonly number[], dtype: DType = 'f32', name?: string): Tensor =>
  new Tensor(engine, shape, dtype, { name });

export const zeros = (engine: Engine, shape: readonly number[], name?: string): Tensor =>
  fill(empty(engine, shape, 'f32', name), 0);

/** A trainable tensor: requiresGrad, named (checkpoint names). */
export function parameter(engine: Engine, data: ArrayLike<number>, shape: readonly number[], name: string): Tensor {
  const t = tensor(engine, data, shape, 'f32', name);
  t.requiresGrad = true;
  return t;
}
