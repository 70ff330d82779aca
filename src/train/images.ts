// Image files → network inputs for predict: decoded with sharp, the paper's shorter-side-256 +
// centre crop for ImageNet-sized nets (a direct resize to the input side for small nets), then
// pixel scale and mean subtraction as the checkpoint recorded them.
import sharp, { type OutputInfo, type Region } from 'sharp';
import { FormatError } from '../errors.js';
import type { Img } from '../pictures/index.js';
import type { ModelMeta } from './checkpoint.js';

export interface PreparedImage { display: Img; input: Float32Array }

export async function prepareImage(path: string, meta: ModelMeta): Promise<PreparedImage> {
  const s = meta.inputSize, c = meta.channels;
  let img = sharp(path, { failOn: 'error' }).rotate();
  img = c === 1 ? img.grayscale() : img.removeAlpha().toColourspace('srgb');
  const base = s >= 200 ? 256 : s; // the paper: shorter side 256, then centre crops
  let data: Buffer, info: OutputInfo;
  try {
    ({ data, info } = await img.resize(base, base, { fit: 'cover', position: 'centre' }).extract(centre(base, s)).raw().toBuffer({ resolveWithObject: true }));
  } catch (e) {
    throw new FormatError(`${path}: not a readable image (${(e as Error).message})`);
  }
  const ch = info.channels;
  if (ch !== c) throw new FormatError(`${path}: decoded to ${ch} channels, the model takes ${c}`);
  const input = new Float32Array(c * s * s);
  for (let k = 0; k < c; k++) for (let i = 0; i < s * s; i++) input[k * s * s + i] = data[i * ch + k] * meta.pixelScale - (meta.mean[k] ?? 0);
  return { display: { image: new Uint8Array(data), width: s, height: s, channels: c }, input };
}

function centre(base: number, s: number): Region {
  const o = Math.floor((base - s) / 2);
  return { left: o, top: o, width: s, height: s };
}
