// The training input path on the device (kernels/augment_pixels.wgsl): a batch of uint8 H×W×C images
// is uploaded as bytes, a quarter of the float32 batch, and cropped, mirrored, shifted (PCA lighting)
// and normalised into the network's N×C×S×S input in one dispatch per binding-sized run of images.
// Every random choice (window, mirror, shift) is made on the host, from the loader's deterministic
// stream, and comes in as numbers: the kernel only does cropPixels()'s arithmetic. Not recorded on
// a tape: it is input, not a function of parameters.
import augmentWgsl from '../../kernels/augment_pixels.wgsl';
import { LimitError, ShapeError, ValueError } from '../errors.js';
import { itemChunks } from '../gpu/chunks.js';
import type { Engine } from '../gpu/engine.js';
import { ceilDiv, grid1d } from '../gpu/grid.js';
import { defineKernel } from '../gpu/kernel.js';
import { tensor } from '../tensor/create.js';
import { Tensor, expectDType, expectShape } from '../tensor/tensor.js';

const augmentKernel = defineKernel('augment_pixels', augmentWgsl);

/** `images` uint8 H×W×C images, image i at bytes [i·stride, i·stride + H·W·C); stride a multiple of 4. */
export interface PixelBatch {
  data: Uint8Array;
  images: number;
  h: number;
  w: number;
  c: number;
  stride: number;
}

/**
 * The n outputs: per output its window's top-left (y0, x0), mirror flag and image as
 * {y0, x0, mirror, image} in `windows`, and C shifts (lighting) in `shifts`.
 */
export interface PixelWindows {
  n: number;
  windows: Int32Array;
  shifts: Float32Array;
}

/** Bytes per image in a PixelBatch of H×W×C images: whole words, so every image starts on one. */
export const pixelStride = (h: number, w: number, c: number): number => Math.ceil((h * w * c) / 4) * 4;

/**
 * out[i] = the S×S window i of its image, mirrored if asked, (pixel + shift)·k − b per channel; pixels
 * outside the image are 0. k and b are inputAffine()'s per-channel factors. Writes into `out`
 * ([n, C, S, S] f32) when given, else into a new tensor.
 */
export function augmentPixels(
  e: Engine,
  px: PixelBatch,
  w: PixelWindows,
  size: number,
  affine: { k: ArrayLike<number>; b: ArrayLike<number> },
  out?: Tensor,
): Tensor {
  const op = 'augmentPixels';
  check(op, px, w, size, affine);
  const { n } = w,
    { c, stride } = px,
    plane = size * size;
  const y = out ?? new Tensor(e, [n, c, size, size], 'f32', { name: 'input' });
  if (out) {
    expectShape(op, 'out', out, [n, c, size, size]);
    expectDType(op, 'out', out, 'f32');
    out.markWritten();
  }
  if (n === 0) return y;
  const words = stride / 4;
  const pixels = new Tensor(e, [px.images * words], 'u32', { name: 'pixels' });
  e.writeBuffer(pixels.buffer, 0, px.data.subarray(0, px.images * stride));
  const windows = tensor(e, w.windows.subarray(0, 4 * n), [4 * n], 'i32', 'windows');
  const shifts = tensor(e, w.shifts.subarray(0, c * n), [c * n], 'f32', 'shifts');
  const kb = tensor(
    e,
    Float32Array.from({ length: 2 * c }, (_, i) => (i % 2 ? affine.b[i >> 1] : affine.k[i >> 1])),
    [2 * c],
    'f32',
    'affine',
  );
  const align = Math.max(1, e.limits.minStorageBufferOffsetAlignment / 4);
  for (const { start, count } of itemChunks(e, op, n, [c * plane])) {
    // the images this run of windows reads, bound from an aligned word
    let lo = Infinity,
      hi = -1;
    for (let j = start; j < start + count; j++) {
      lo = Math.min(lo, w.windows[4 * j + 3]);
      hi = Math.max(hi, w.windows[4 * j + 3]);
    }
    const base = Math.floor((lo * words) / align) * align,
      span = (hi + 1) * words - base;
    if (span > e.maxBindingElems)
      throw new LimitError(
        `${op}: windows ${start}..${start + count - 1} read ${span} words of pixels, more than one binding holds`,
      );
    e.dispatch({
      kernel: augmentKernel,
      overrides: { C: c, H: px.h, W: px.w, S: size },
      params: { n: count, stride: words, base, first: start },
      buffers: [
        pixels.binding(base, span),
        windows.binding(),
        shifts.binding(),
        kb.binding(),
        y.binding(start * c * plane, count * c * plane),
      ],
      workgroups: grid1d(ceilDiv(count * c * size * ceilDiv(size, 4), 256)),
    });
  }
  // released once the dispatches above are submitted
  for (const t of [pixels, windows, shifts, kb]) t.dispose();
  return y;
}

function check(
  op: string,
  px: PixelBatch,
  w: PixelWindows,
  size: number,
  affine: { k: ArrayLike<number>; b: ArrayLike<number> },
): void {
  const { images, h, w: width, c, stride } = px;
  for (const [what, v, min] of [
    ['images', images, 0],
    ['n', w.n, 0],
    ['h', h, 1],
    ['w', width, 1],
    ['c', c, 1],
    ['size', size, 1],
  ] as const)
    if (!Number.isSafeInteger(v) || v < min) throw new ShapeError(`${op}: ${what} = ${v} is not an integer >= ${min}`);
  if (stride % 4 !== 0 || stride < h * width * c)
    throw new ShapeError(`${op}: stride ${stride} bytes is not a multiple of 4 of at least ${h}×${width}×${c}`);
  if (px.data.length < images * stride)
    throw new ShapeError(`${op}: ${px.data.length} bytes hold fewer than ${images} images of ${stride} bytes`);
  if (w.windows.length < 4 * w.n || w.shifts.length < c * w.n)
    throw new ShapeError(
      `${op}: ${Math.floor(w.windows.length / 4)} windows and ${Math.floor(w.shifts.length / c)} shift sets for ${w.n} outputs`,
    );
  if (affine.k.length !== c || affine.b.length !== c)
    throw new ShapeError(`${op}: affine of ${affine.k.length}/${affine.b.length} channels for ${c}-channel images`);
  for (let j = 0; j < w.n; j++) {
    const img = w.windows[4 * j + 3];
    if (!(img >= 0 && img < images)) throw new ValueError(`${op}: window ${j} reads image ${img} of ${images}`);
  }
}
