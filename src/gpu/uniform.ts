// The uniform block of a dispatch: its scalar parameters packed as the kernel's WGSL struct reads
// them, by field name (src/gpu/kernel.ts), one owner for the engine and the bench.
import { DispatchError } from '../errors.js';
import type { Kernel } from './kernel.js';

/**
 * A scalar parameter packed into a kernel's uniform block: plain numbers are u32/i32. A StepParam is
 * one of the step's values (the learning rate times `scale`, or the step counter): a recorded step
 * patches it when it replays (recording.ts).
 */
export type Param = number | { f32: number } | StepParam;
export type StepParam = { per: 'lr'; scale: number; f32: number } | { per: 'step'; u32: number };
export const f32 = (x: number): Param => ({ f32: x });
/** The learning rate (times scale), as an f32 uniform field that replaying updates. */
export const lrParam = (lr: number, scale = 1): Param => ({ per: 'lr', scale, f32: scale * lr });
/** The step counter (mod 2³²), as a u32 uniform field that replaying updates. */
export const stepParam = (step: number): Param => ({ per: 'step', u32: step >>> 0 });

/** A dispatch's parameters by uniform field name. */
export type Params = Readonly<Record<string, Param>>;

/**
 * The uniform block of `kernel` from named parameters (a 16-byte multiple), and which of its words
 * are the step's values. Every field must be given once, with a value of its type: integers for
 * u32/i32 (u32 ≥ 0), f32()/lrParam() for f32, stepParam() only for u32.
 */
export function packUniform(
  kernel: Kernel,
  params: Params,
): { data: ArrayBuffer; perStep: Array<{ word: number; param: StepParam }> } {
  const fail = (why: string): never => {
    throw new DispatchError(`${kernel.name}: ${why}`);
  };
  for (const name of Object.keys(params))
    if (!kernel.fields.some((f) => f.name === name))
      fail(`no uniform field '${name}' (the struct has ${kernel.fields.map((f) => f.name).join(', ')})`);
  const words = Math.max(4, Math.ceil(kernel.fields.length / 4) * 4);
  const data = new ArrayBuffer(words * 4);
  const u = new Uint32Array(data),
    i = new Int32Array(data),
    f = new Float32Array(data);
  const perStep: Array<{ word: number; param: StepParam }> = [];
  kernel.fields.forEach((field, k) => {
    const p = params[field.name];
    if (p === undefined) fail(`uniform field '${field.name}' (${field.type}) is not given`);
    const what = `uniform field '${field.name}' (${field.type}) = ${JSON.stringify(p)}`;
    if (typeof p === 'number') {
      if (field.type === 'f32') fail(`${what}: wrap an f32 value with f32()`);
      if (!Number.isInteger(p) || (field.type === 'u32' ? p < 0 || p > 0xffffffff : p < -(2 ** 31) || p >= 2 ** 31))
        fail(`${what} does not fit ${field.type}`);
      if (field.type === 'i32') i[k] = p;
      else u[k] = p;
      return;
    }
    if ('per' in p) perStep.push({ word: k, param: p });
    if ('f32' in p) {
      if (field.type !== 'f32') fail(`${what}: an f32 value for a ${field.type} field`);
      f[k] = p.f32;
    } else {
      if (field.type !== 'u32') fail(`${what}: the step counter goes in a u32 field`);
      u[k] = p.u32;
    }
  });
  return { data, perStep };
}
