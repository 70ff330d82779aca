// LRN test cases shared by the kernel tests (lrn.test.ts, also run in a browser) and the PyTorch
// cross-check (torch_layers.test.ts).
import { PAPER_LRN, type LrnOptions } from '../../src/ops/lrn.js';
export { f32r, numel } from './pool.js';

// The paper's α = 1e-4 barely moves s ≈ k = 2 for inputs of order 1; large post-ReLU-like inputs
// (0..30) or a large α make the window sum, and so any indexing mistake, visible.
export const STRONG: LrnOptions = { size: 5, alpha: 0.05, beta: 0.75, k: 2 };
export interface Case {
  shape: [number, number, number, number];
  opts: LrnOptions;
  lo: number;
  hi: number;
  label: string;
}
export const CASES: Case[] = [
  { shape: [1, 1, 5, 5], opts: STRONG, lo: -2, hi: 2, label: 'C = 1' },
  { shape: [3, 3, 7, 6], opts: STRONG, lo: -2, hi: 2, label: 'C = 3 < n = 5' },
  { shape: [2, 7, 10, 7], opts: STRONG, lo: -2, hi: 2, label: 'C = 7, 10×7' },
  {
    shape: [1, 5, 13, 13],
    opts: { size: 3, alpha: 0.1, beta: 0.5, k: 1 },
    lo: -2,
    hi: 2,
    label: 'n = 3, β = 0.5, k = 1',
  },
  { shape: [3, 7, 4, 5], opts: { size: 4, alpha: 0.1, beta: 0.75, k: 2 }, lo: -2, hi: 2, label: 'even n = 4' },
  { shape: [2, 9, 3, 5], opts: { size: 1, alpha: 0.1, beta: 0.75, k: 2 }, lo: -2, hi: 2, label: 'n = 1' },
  {
    shape: [1, 21, 3, 4],
    opts: { size: 16, alpha: 0.02, beta: 0.75, k: 2 },
    lo: -2,
    hi: 2,
    label: 'n = 16 (largest), C = 21',
  },
  { shape: [1, 11, 2, 3], opts: { size: 15, alpha: 0.02, beta: 0.75, k: 1 }, lo: -2, hi: 2, label: 'n = 15 > C = 11' },
  { shape: [2, 96, 6, 6], opts: PAPER_LRN, lo: 0, hi: 30, label: 'paper constants, 96 channels, inputs 0..30' },
  { shape: [1, 256, 3, 3], opts: PAPER_LRN, lo: 0, hi: 60, label: 'paper constants, 256 channels, inputs 0..60' },
];
