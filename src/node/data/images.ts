// Image files → network inputs for predict: decoded with sharp, the paper's shorter-side-256 +
// centre crop for ImageNet-sized nets (a direct resize to the input side for small nets), then
// the checkpoint's preprocessing: (pixel·pixelScale − mean) / std per channel (the training set's
// mean for paper/mini, torchvision's ImageNet mean and std for torchvision).
import { FormatError } from '../../errors.js';
import { cropOffset } from '../../data/augment.js';
import { pixelsToInput } from '../../data/preprocess.js';
import { resizeAndCrop } from './decode.js';
import type { Arch } from '../../models/spec.js';
import { loadSharp } from '../sharp.js';
import type { Img } from '../pictures/index.js';
import type { ModelMeta } from '../../checkpoint/checkpoint.js';

export interface PreparedImage {
  display: Img;
  input: Float32Array;
}

/**
 * Nets of 200 pixels and more: shorter side to 256 and the centre 256×256 (as ImageFolder stores
 * images, with the arch's resampling), then the centre input-size crop as evaluation takes it — for
 * torchvision exactly Resize(256) + CenterCrop(224). Smaller nets: a direct resize to the input side.
 */
export async function prepareImage(path: string, meta: ModelMeta, arch: Arch): Promise<PreparedImage> {
  const sharp = await loadSharp();
  const s = meta.inputSize,
    c = meta.channels;
  const base = s >= 200 ? 256 : s; // the paper: shorter side 256, then centre crops
  let data: Buffer, ch: number;
  try {
    let img =
      base === s
        ? sharp(path, { failOn: 'error' }).rotate().resize(s, s, { fit: 'cover', position: 'centre' })
        : await resizeAndCrop(path, base, base, { failOn: 'error', resample: arch.resample });
    img = c === 1 ? img.grayscale() : img.removeAlpha().toColourspace('srgb');
    const r = await img.raw().toBuffer({ resolveWithObject: true });
    data = r.data;
    ch = r.info.channels;
  } catch (e) {
    throw new FormatError(`${path}: not a readable image (${(e as Error).message})`);
  }
  if (ch !== c) throw new FormatError(`${path}: decoded to ${ch} channels, the model takes ${c}`);
  // the centre s×s of the base×base image, at the loader's offset (cropOffset) in HWC
  const o = cropOffset(base, s),
    pixels = new Uint8Array(s * s * c);
  for (let y = 0; y < s; y++)
    pixels.set(data.subarray(((y + o) * base + o) * c, ((y + o) * base + o + s) * c), y * s * c);
  return { display: { image: pixels, width: s, height: s, channels: c }, input: pixelsToInput(pixels, c, meta) };
}
