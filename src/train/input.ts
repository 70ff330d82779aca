// A loader batch into the network's input tensor, whichever side prepared it: floats from the host are
// uploaded; pixels with their windows are cropped, mirrored, shifted and normalised on the device.
import type { Batch } from '../data/loader.js';
import type { Engine } from '../gpu/engine.js';
import { augmentPixels } from '../ops/augment_pixels.js';
import { Tensor } from '../tensor/tensor.js';

/**
 * The input of `batch` as an N×C×S×S tensor (N = its samples × crops per sample): written into `x`
 * when given (it must have that shape), else into a new tensor the caller disposes.
 */
export function batchInput(e: Engine, batch: Batch, shape: readonly number[], x?: Tensor): Tensor {
  if (batch.pixels) {
    const p = batch.pixels;
    return augmentPixels(e, p.batch, p.windows, p.size, p.affine, x);
  }
  const t = x ?? new Tensor(e, shape, 'f32', { name: 'input' });
  return t.write(batch.images!);
}
