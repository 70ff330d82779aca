// How a run turns its data into network inputs: input = (x·scale − mean)/std per channel, decided
// by the arch and the training set once, and then recorded in checkpoints (ModelMeta).
import type { ModelMeta } from '../checkpoint/checkpoint.js';
import { archOf, fixedNormalization, type Arch } from '../models/spec.js';
import { channelMean, inputAffine } from './augment.js';
import type { Dataset } from './dataset.js';

/**
 * A run's preprocessing, input = (x·scale − mean)/std per channel; a resumed run keeps its
 * checkpoint's. Pixels are scaled by the arch's pixelScale; float data is taken as already on that
 * scale. The mean is the training set's (no std: the paper's mean subtraction) unless the arch fixes
 * both (torchvision: ImageNet mean and std on the [0, 1] scale, as torchvision's transforms, so
 * weights trained in PyTorch see what they were trained on).
 */
export async function inputPreprocessing(
  arch: Arch | string,
  train: Dataset,
  resumed?: ModelMeta,
): Promise<{ scale: number; mean: Float32Array; std?: number[] }> {
  const a = archOf(arch);
  const scale = train.pixels ? (resumed?.pixelScale ?? a.pixelScale) : 1;
  if (resumed) return { scale, mean: Float32Array.from(resumed.mean), std: resumed.std };
  const fixed = fixedNormalization(a, train.channels);
  if (fixed) return { scale, mean: Float32Array.from(fixed.mean), std: fixed.std };
  return { scale, mean: (await channelMean(train)).map((m) => m * scale) };
}

/**
 * One image's uint8 H×W×C pixels as the network's float32 C×H×W input under a checkpoint's
 * preprocessing: (pixel·pixelScale − mean)/std per channel, the loaders' arithmetic (inputAffine).
 */
export function pixelsToInput(
  pixels: Uint8Array,
  channels: number,
  p: Pick<ModelMeta, 'pixelScale' | 'mean' | 'std'>,
): Float32Array {
  const plane = pixels.length / channels;
  const { k, b } = inputAffine(channels, p.pixelScale, p.mean, p.std);
  const input = new Float32Array(pixels.length);
  for (let j = 0; j < channels; j++)
    for (let i = 0; i < plane; i++) input[j * plane + i] = pixels[i * channels + j] * k[j] - b[j];
  return input;
}
