// The paper's figure 3 as pixels: first-layer kernels as small RGB (or gray) images, enlarged
// without smoothing, in one captioned block per group (the paper's two GPUs learned visibly
// different kernels). Node writes it as a PNG (node/pictures/kernels.ts), a page onto a canvas.
import { ShapeError, fmtShape } from '../errors.js';

export interface KernelGridOptions {
  /** Groups of output kernels, shown as separate blocks (the paper: 2). Default 1. */
  groups?: number;
  /** Enlargement factor (nearest neighbour). Default 4. */
  scale?: number;
  /** Kernels per row. Default min(16, kernels per group). */
  columns?: number;
  /**
   * 'kernel': each kernel stretched over its own min..max, like the paper's figure (default);
   * 'shared': one scale for all, so magnitudes compare. A constant kernel has no contrast of its
   * own and is always drawn on the shared scale.
   */
  contrast?: 'kernel' | 'shared';
}

export interface KernelCell {
  kernel: number;
  group: number;
  x: number;
  y: number;
  width: number;
  height: number;
}

const PAD = 10,
  GAP = 2,
  LABEL = 24,
  BLOCK_GAP = 10;

/** A caption of the grid: text at (x, y), its baseline; `end` aligns it on x from the right. */
export interface KernelLabel {
  x: number;
  y: number;
  text: string;
  size: number;
  bold: boolean;
  end: boolean;
}

export interface KernelGridImage {
  width: number;
  height: number;
  rgb: Uint8Array;
  cells: KernelCell[];
  labels: KernelLabel[];
}

/** Lay out weights of shape [out, in, kh, kw], in = 1 (gray) or 3 (RGB), as an RGB image with captions. */
export function kernelGridImage(
  weights: Float32Array,
  shape: readonly number[],
  opts: KernelGridOptions = {},
): KernelGridImage {
  if (shape.length !== 4 || !shape.every((d) => Number.isSafeInteger(d) && d > 0))
    throw new ShapeError(`kernelGrid: shape ${fmtShape(shape)} is not [out, in, kh, kw]`);
  const [out, cin, kh, kw] = shape;
  if (cin !== 1 && cin !== 3)
    throw new ShapeError(`kernelGrid: ${cin} input channels; only 1 (gray) or 3 (RGB) can be shown`);
  if (weights.length !== out * cin * kh * kw)
    throw new ShapeError(
      `kernelGrid: shape ${fmtShape(shape)} needs ${out * cin * kh * kw} weights, got ${weights.length}`,
    );
  const groups = opts.groups ?? 1,
    scale = opts.scale ?? 4;
  if (!Number.isSafeInteger(groups) || groups < 1 || out % groups)
    throw new ShapeError(`kernelGrid: ${out} kernels do not split into ${groups} groups`);
  if (!Number.isSafeInteger(scale) || scale < 1 || scale > 64)
    throw new ShapeError(`kernelGrid: scale ${scale} must be an integer in 1..64`);
  const per = out / groups;
  const cols = Math.max(1, Math.min(opts.columns ?? 16, per)),
    rows = Math.ceil(per / cols);
  const cw = kw * scale,
    ch = kh * scale;
  const blockH = LABEL + rows * (ch + GAP) - GAP;
  const width = 2 * PAD + cols * (cw + GAP) - GAP;
  const height = 2 * PAD + groups * blockH + (groups - 1) * BLOCK_GAP;

  const size = cin * kh * kw;
  const all = range(weights, 0, weights.length);
  const px = new Uint8Array(width * height * 3).fill(255);
  const cells: KernelCell[] = [];
  const labels: KernelLabel[] = [];
  for (let g = 0; g < groups; g++) {
    const top = PAD + g * (blockH + BLOCK_GAP);
    labels.push(
      { x: PAD, y: top + 16, text: groups > 1 ? `group ${g + 1}` : 'kernels', size: 14, bold: true, end: false },
      {
        x: width - PAD,
        y: top + 16,
        text: `kernels ${g * per + 1}–${(g + 1) * per}`,
        size: 11,
        bold: false,
        end: true,
      },
    );
    for (let i = 0; i < per; i++) {
      const k = g * per + i;
      const x = PAD + (i % cols) * (cw + GAP),
        y = top + LABEL + Math.floor(i / cols) * (ch + GAP);
      cells.push({ kernel: k, group: g, x, y, width: cw, height: ch });
      const own = range(weights, k * size, (k + 1) * size);
      const [lo, hi] = opts.contrast !== 'shared' && own[1] > own[0] ? own : all;
      for (let r = 0; r < kh; r++) {
        for (let c = 0; c < kw; c++) {
          const rgb = [0, 1, 2].map((ci) =>
            level(weights[k * size + Math.min(ci, cin - 1) * kh * kw + r * kw + c], lo, hi),
          );
          for (let dy = 0; dy < scale; dy++) {
            let o = ((y + r * scale + dy) * width + x + c * scale) * 3;
            for (let dx = 0; dx < scale; dx++, o += 3) {
              px[o] = rgb[0];
              px[o + 1] = rgb[1];
              px[o + 2] = rgb[2];
            }
          }
        }
      }
    }
  }
  return { width, height, rgb: px, cells, labels };
}

// min/max over the finite values; NaN/Infinity (a diverged run) must not wreck the scale.
function range(w: Float32Array, from: number, to: number): [number, number] {
  let lo = Infinity,
    hi = -Infinity;
  for (let i = from; i < to; i++) {
    const v = w[i];
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo <= hi ? [lo, hi] : [0, 0];
}

function level(v: number, lo: number, hi: number): number {
  if (!(hi > lo)) return 128; // no contrast anywhere: mid gray
  if (Number.isNaN(v)) return 0;
  return Math.max(0, Math.min(255, Math.round(((v - lo) / (hi - lo)) * 255)));
}
