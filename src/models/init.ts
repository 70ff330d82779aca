// Weight initialisers, for the layer tables and for nets a program builds itself: the paper's
// N(0, σ), He normal (std √(2/fan_in)), PyTorch's default U(±1/√fan_in), zeros. Values come from a
// seeded Rng, so the same seed gives the same net on every run and machine.
import { ShapeError, fmtShape } from '../errors.js';
import type { Engine } from '../gpu/engine.js';
import { parameter } from '../tensor/create.js';
import type { Tensor } from '../tensor/tensor.js';
import { Rng } from '../util/rng.js';
import type { Init } from './spec.js';

/** Inputs feeding one output of a weight [out, in, kh, kw] or [out, in]: the product of all but the first dimension. */
export const fanIn = (shape: readonly number[]): number => shape.slice(1).reduce((a, b) => a * b, 1);

/** Fill `a` from `init`; `fan` is the fan-in of the weight the values belong to (a bias takes its weight's). */
export function fillInit(a: Float32Array, init: Init, fan: number, rng: Rng): Float32Array {
  if (init.kind === 'zeros') return a.fill(0);
  if (!(fan >= 1)) throw new ShapeError(`init ${init.kind}: fan-in ${fan} must be ≥ 1`);
  if (init.kind === 'normal') for (let i = 0; i < a.length; i++) a[i] = init.std * rng.normal();
  else if (init.kind === 'kaiming') {
    const std = Math.sqrt(2 / fan);
    for (let i = 0; i < a.length; i++) a[i] = std * rng.normal();
  } else {
    const bound = 1 / Math.sqrt(fan);
    for (let i = 0; i < a.length; i++) a[i] = (2 * rng.next() - 1) * bound;
  }
  return a;
}

/** Initial values of `shape` (fan-in from the shape unless given: pass the weight's for a bias). */
export function initValues(init: Init, shape: readonly number[], rng: Rng, fan = fanIn(shape)): Float32Array {
  if (!shape.every((d) => Number.isInteger(d) && d >= 0))
    throw new ShapeError(`init: invalid shape ${fmtShape(shape)}`);
  return fillInit(new Float32Array(shape.reduce((a, b) => a * b, 1)), init, fan, rng);
}

/** A named trainable tensor of `shape` initialised by `init` from `rng` (or a seed). */
export function initParameter(
  engine: Engine,
  name: string,
  shape: readonly number[],
  init: Init,
  rng: Rng | number,
  fan?: number,
): Tensor {
  return parameter(engine, initValues(init, shape, typeof rng === 'number' ? new Rng(rng) : rng, fan), shape, name);
}
