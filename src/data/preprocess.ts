// How a run turns its data into network inputs: input = (x·scale − mean)/std per channel, decided
// by the arch and the training set once, and then recorded in checkpoints (ModelMeta).
import type { ModelMeta } from '../checkpoint/checkpoint.js';
import { archOf, fixedNormalization, type Arch } from '../models/spec.js';
import { channelMean } from './augment.js';
import type { Dataset } from './dataset.js';

/**
 * A run's preprocessing, input = (x·scale − mean)/std per channel; a resumed run keeps its
 * checkpoint's. Pixels are scaled by the arch's pixelScale; float data is taken as already on that
 * scale. The mean is the training set's (no std: the paper's mean subtraction) unless the arch fixes
 * both (torchvision: ImageNet mean and std on the [0, 1] scale, as torchvision's transforms, so
 * weights trained in PyTorch see what they were trained on).
 */
export async function inputPreprocessing(arch: Arch | string, train: Dataset, resumed?: ModelMeta): Promise<{ scale: number; mean: Float32Array; std?: number[] }> {
  const a = archOf(arch);
  const scale = train.pixels ? (resumed?.pixelScale ?? a.pixelScale) : 1;
  if (resumed) return { scale, mean: Float32Array.from(resumed.mean), std: resumed.std };
  const fixed = fixedNormalization(a, train.channels);
  if (fixed) return { scale, mean: Float32Array.from(fixed.mean), std: fixed.std };
  return { scale, mean: (await channelMean(train)).map((m) => m * scale) };
}

