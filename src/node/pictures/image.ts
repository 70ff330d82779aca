// Raw pixel images (HWC, 8-bit gray / RGB / RGBA) as figure thumbnails: validated, then scaled to fit
// a box — nearest when enlarging so small crops stay crisp, lanczos when shrinking.
import { loadSharp } from '../sharp.js';
import { ShapeError } from '../../errors.js';

export interface Img {
  image: Uint8Array;
  width: number;
  height: number;
  channels: number;
}

export interface Thumb {
  input: Buffer;
  width: number;
  height: number;
}

/** Check an image's fields before its bytes are handed to sharp. */
export function checkImg(img: Img, what: string): void {
  const { width, height, channels } = img ?? ({} as Img);
  if (![width, height].every((d) => Number.isSafeInteger(d) && d > 0))
    throw new ShapeError(`${what}: invalid size ${width}x${height}`);
  if (![1, 3, 4].includes(channels)) throw new ShapeError(`${what}: ${channels} channels (expected 1, 3 or 4)`);
  if (!(img.image instanceof Uint8Array) || img.image.length !== width * height * channels) {
    throw new ShapeError(
      `${what}: ${width}x${height}x${channels} needs ${width * height * channels} bytes, image has ${img.image?.length}`,
    );
  }
}

/** PNG of `img` scaled to fit within box×box, keeping its aspect ratio. */
export async function thumbnail(img: Img, box: number, what: string): Promise<Thumb> {
  checkImg(img, what);
  const s = box / Math.max(img.width, img.height);
  const width = Math.max(1, Math.round(img.width * s)),
    height = Math.max(1, Math.round(img.height * s));
  const raw = Buffer.from(img.image.buffer, img.image.byteOffset, img.image.byteLength);
  const sharp = await loadSharp();
  const input = await sharp(raw, { raw: { width: img.width, height: img.height, channels: img.channels as 1 | 3 | 4 } })
    .resize(width, height, { fit: 'fill', kernel: s >= 1 ? 'nearest' : 'lanczos3' })
    .toColourspace('srgb')
    .png()
    .toBuffer();
  return { input, width, height };
}
