// Pool test cases shared by the kernel tests (pool.test.ts, also run in a browser) and the PyTorch
// cross-check (torch_layers.test.ts): odd shapes, overlapping and non-overlapping windows, padding,
// stride > kernel, rectangular windows, tiny planes.
import type { AvgPool2dOptions } from '../../src/ops/pool.js';
import type { PoolOpts, Shape4 } from '../ref/pool.js';

/** Values as float32 would hold them, in float64. */
export const f32r = (a: ArrayLike<number>): Float64Array => Float64Array.from(Float32Array.from(a));
export const numel = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

export interface Case {
  shape: Shape4;
  opts: PoolOpts;
  label: string;
}
export const MAX_CASES: Case[] = [
  { shape: [1, 1, 13, 13], opts: { kernel: 3, stride: 2 }, label: 'overlapping 3/2, 13×13' },
  { shape: [3, 5, 27, 27], opts: { kernel: 3, stride: 2 }, label: 'overlapping 3/2, 27×27' },
  { shape: [3, 7, 10, 7], opts: { kernel: 2, stride: 2 }, label: 'non-overlapping 2/2, 10×7' },
  { shape: [1, 5, 13, 13], opts: { kernel: 3, stride: 1, padding: 1 }, label: '3/1 pad 1' },
  { shape: [3, 1, 10, 7], opts: { kernel: 2, stride: 3 }, label: 'stride 3 > kernel 2' },
  {
    shape: [1, 7, 9, 11],
    opts: { kernel: [3, 2], stride: [2, 1], padding: [1, 0] },
    label: 'rectangular 3×2 / 2×1 pad 1×0',
  },
  { shape: [3, 5, 13, 13], opts: { kernel: 3 }, label: 'kernel 3, default stride 3' },
  { shape: [2, 3, 4, 3], opts: { kernel: 3, stride: 2, padding: 1 }, label: 'tiny planes 4×3, 3/2 pad 1' },
  { shape: [2, 2, 3, 2], opts: { kernel: 2, stride: 1, padding: 1 }, label: 'tiny planes 3×2, 2/1 pad 1' },
];

export const AVG_CASES: Array<{ shape: Shape4; opts: AvgPool2dOptions; label: string }> = [
  { shape: [3, 5, 27, 27], opts: { kernel: 3, stride: 2 }, label: 'avg 3/2' },
  { shape: [1, 7, 10, 7], opts: { kernel: 2 }, label: 'avg 2/2' },
  { shape: [3, 1, 13, 13], opts: { kernel: 3, stride: 1, padding: 1 }, label: 'avg 3/1 pad 1, count pad' },
  {
    shape: [3, 1, 13, 13],
    opts: { kernel: 3, stride: 1, padding: 1, countIncludePad: false },
    label: 'avg 3/1 pad 1, real count',
  },
  {
    shape: [1, 5, 10, 7],
    opts: { kernel: [3, 2], stride: [2, 3], padding: [1, 1], countIncludePad: false },
    label: 'avg rectangular',
  },
  { shape: [3, 1, 10, 7], opts: { kernel: 2, stride: 3 }, label: 'avg stride 3 > kernel 2' },
];
export const ADAPTIVE_CASES: Array<{ shape: Shape4; size: [number, number] }> = [
  { shape: [2, 3, 13, 13], size: [6, 6] }, // torchvision AlexNet at 224 → 6×6 already; 13 → 6 overlaps
  { shape: [1, 5, 10, 7], size: [3, 4] },
  { shape: [3, 1, 5, 4], size: [6, 6] }, // more outputs than inputs
  { shape: [1, 2, 27, 27], size: [1, 1] }, // global average
];
