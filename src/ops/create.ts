// Creating tensors: from host data, zeros, uninitialised, and trainable parameters.
import { ShapeError, fmtShape } from '../errors.js';
import type { Engine } from '../gpu/engine.js';
import { Tensor, numel, type DType } from '../tensor.js';
import { fill } from './elementwise.js';

/** Upload host data as a tensor of `shape`. */
export function tensor(engine: Engine, data: ArrayLike<number>, shape: readonly number[], dtype: DType = 'f32', name?: string): Tensor {
  if (data.length !== numel(shape)) throw new ShapeError(`tensor: ${data.length} values do not fill shape ${fmtShape(shape)}`);
  return new Tensor(engine, shape, dtype, { name }).write(data);
}

/** Uninitialised tensor (contents undefined until written). */
export const empty = (engine: Engine, shape: readonly number[], dtype: DType = 'f32', name?: string): Tensor =>
  new Tensor(engine, shape, dtype, { name });

export const zeros = (engine: Engine, shape: readonly number[], name?: string): Tensor => fill(empty(engine, shape, 'f32', name), 0);

/** A trainable tensor: requiresGrad, named (checkpoint names). */
export function parameter(engine: Engine, data: ArrayLike<number>, shape: readonly number[], name: string): Tensor {
  const t = tensor(engine, data, shape, 'f32', name);
  t.requiresGrad = true;
  return t;
}
