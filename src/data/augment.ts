// Augmentation and normalisation on float32 C×H×W images: crops (random, centre, the paper's ten
// test patches), horizontal flips, PCA lighting and mean subtraction. Pure functions; randomness only via an Rng.
//
// Values stay on the dataset's stored scale (0..255 for pixel sources, as in the paper) unless a
// `scale` is applied at the very end (normalize): a number, or one per channel (inputAffine folds a
// per-channel std into it: (x·s − m)/σ = x·(s/σ) − m/σ).
import { ShapeError } from '../errors.js';
import { sampleSize, type Dataset } from './dataset.js';
import { Rng, shuffle } from '../util/rng.js';

/**
 * Top-left offset of a `size` window along a `stored`-long axis. Larger axes: random (rng given) or
 * centred (floor). Smaller axes: centred and negative, i.e. the window is zero-padded, the odd pixel at the end.
 */
export function cropOffset(stored: number, size: number, rng?: Rng): number {
  if (stored >= size && rng) return rng.int(stored - size + 1);
  return Math.floor((stored - size) / 2);
}

/**
 * Copy the size×size window at (y0, x0) of src (C×H×W) into out at outOffset, mirrored left-right when
 * `mirror`. Pixels outside the source are 0 (so offsets may be negative or run past the edge: padding).
 */
export function crop(
  src: Float32Array,
  c: number,
  h: number,
  w: number,
  y0: number,
  x0: number,
  size: number,
  out: Float32Array,
  mirror = false,
  outOffset = 0,
): void {
  if (src.length < c * h * w)
    throw new ShapeError(`crop: source holds ${src.length} floats, ${c}×${h}×${w} needs ${c * h * w}`);
  if (out.length < outOffset + c * size * size)
    throw new ShapeError(`crop: output too small for ${c}×${size}×${size} at ${outOffset}`);
  // Columns of the window that fall inside the source: [xa, xb) in window coordinates.
  const xa = Math.max(0, -x0),
    xb = Math.min(size, w - x0);
  for (let ch = 0; ch < c; ch++) {
    for (let y = 0; y < size; y++) {
      const o = outOffset + (ch * size + y) * size;
      const sy = y0 + y;
      if (sy < 0 || sy >= h || xb <= xa) {
        out.fill(0, o, o + size);
        continue;
      }
      const row = (ch * h + sy) * w + x0;
      if (!mirror) {
        if (xa > 0) out.fill(0, o, o + xa);
        out.set(src.subarray(row + xa, row + xb), o + xa);
        if (xb < size) out.fill(0, o + xb, o + size);
      } else {
        // out[x] = window[size-1-x]
        for (let x = 0; x < size; x++) {
          const wx = size - 1 - x;
          out[o + x] = wx >= xa && wx < xb ? src[row + wx] : 0;
        }
      }
    }
  }
}

/** A scale for every channel: the number repeated, or the per-channel values as given. */
const scaleOf = (scale: number | ArrayLike<number>, ch: number): number =>
  typeof scale === 'number' ? scale : scale[ch];

/**
 * The per-channel affine map of preprocessing, input = x·k[c] − b[c], for x·scale − mean[c] followed
 * by division by std[c] (torchvision's Normalize): k = scale/std, b = mean/std. Without std it is
 * x·scale − mean. The mean is in scaled units (stored-scale mean × scale, or [0, 1]-scale constants).
 */
export function inputAffine(
  c: number,
  scale: number,
  mean?: ArrayLike<number>,
  std?: ArrayLike<number>,
): { k: Float64Array; b: Float64Array } {
  if (mean && mean.length !== c) throw new ShapeError(`inputAffine: ${mean.length} means for ${c} channels`);
  if (std && std.length !== c) throw new ShapeError(`inputAffine: ${std.length} standard deviations for ${c} channels`);
  if (std && !Array.from(std).every((s) => s > 0 && Number.isFinite(s)))
    throw new ShapeError(`inputAffine: standard deviations must be positive, got ${Array.from(std).join(', ')}`);
  const k = new Float64Array(c),
    b = new Float64Array(c);
  for (let ch = 0; ch < c; ch++) {
    const sd = std ? std[ch] : 1;
    k[ch] = scale / sd;
    b[ch] = (mean ? mean[ch] : 0) / sd;
  }
  return { k, b };
}

/**
 * crop + normalize fused, straight from uint8 H×W×C pixels (one pass instead of three; the hot path for
 * pixel datasets): out = (pixel + shift[ch]) · scale[ch] − mean[ch], pixel = 0 outside the image.
 * Gives exactly the values of crop() of the CHW floats followed by normalize().
 */
export function cropPixels(
  src: Uint8Array,
  c: number,
  h: number,
  w: number,
  y0: number,
  x0: number,
  size: number,
  out: Float32Array,
  off: number,
  mirror: boolean,
  shift: ArrayLike<number>,
  mean: ArrayLike<number>,
  scale: number | ArrayLike<number>,
): void {
  if (src.length < c * h * w)
    throw new ShapeError(`cropPixels: source holds ${src.length} bytes, ${h}×${w}×${c} needs ${c * h * w}`);
  if (out.length < off + c * size * size)
    throw new ShapeError(`cropPixels: output too small for ${c}×${size}×${size} at ${off}`);
  const xa = Math.max(0, -x0),
    xb = Math.min(size, w - x0);
  for (let ch = 0; ch < c; ch++) {
    const a = shift[ch],
      m = mean[ch],
      k = scaleOf(scale, ch),
      pad = (0 + a) * k - m;
    for (let y = 0; y < size; y++) {
      const o = off + (ch * size + y) * size;
      const sy = y0 + y;
      if (sy < 0 || sy >= h || xb <= xa) {
        out.fill(pad, o, o + size);
        continue;
      }
      const row = (sy * w + x0) * c + ch;
      // Window column wx lands at x = wx, or at size-1-wx when mirrored.
      if (!mirror) {
        if (xa > 0) out.fill(pad, o, o + xa);
        for (let wx = xa, s = row + xa * c; wx < xb; wx++, s += c) out[o + wx] = (src[s] + a) * k - m;
        if (xb < size) out.fill(pad, o + xb, o + size);
      } else {
        const e = o + size - 1;
        if (xa > 0) out.fill(pad, e - xa + 1, e + 1);
        for (let wx = xa, s = row + xa * c; wx < xb; wx++, s += c) out[e - wx] = (src[s] + a) * k - m;
        if (xb < size) out.fill(pad, o, e - xb + 1);
      }
    }
  }
}

/** Random size×size crop (zero-padded along axes shorter than size); returns the window's offset. */
export function randomCrop(
  src: Float32Array,
  c: number,
  h: number,
  w: number,
  size: number,
  rng: Rng,
  out: Float32Array,
): { y: number; x: number } {
  const y = cropOffset(h, size, rng),
    x = cropOffset(w, size, rng);
  crop(src, c, h, w, y, x, size, out);
  return { y, x };
}

/** Centre size×size crop (or centred zero-padding when the image is smaller). */
export function centerCrop(src: Float32Array, c: number, h: number, w: number, size: number, out: Float32Array): void {
  crop(src, c, h, w, cropOffset(h, size), cropOffset(w, size), size, out);
}

/** Mirror an image left-right in place. */
export function flipHorizontal(img: Float32Array, c: number, h: number, w: number): void {
  for (let r = 0; r < c * h; r++) {
    for (let a = r * w, b = a + w - 1; a < b; a++, b--) {
      const t = img[a];
      img[a] = img[b];
      img[b] = t;
    }
  }
}

/** Mirror in place with probability 1/2; returns whether it did. */
export function randomFlip(img: Float32Array, c: number, h: number, w: number, rng: Rng): boolean {
  const flip = rng.next() < 0.5;
  if (flip) flipHorizontal(img, c, h, w);
  return flip;
}

/** Offsets of the paper's five test patches: top-left, top-right, bottom-left, bottom-right, centre. */
export function fiveCropOffsets(h: number, w: number, size: number): Array<[number, number]> {
  // An axis shorter than the crop has only one (centred, padded) position.
  const ys = h >= size ? [0, h - size] : [cropOffset(h, size), cropOffset(h, size)];
  const xs = w >= size ? [0, w - size] : [cropOffset(w, size), cropOffset(w, size)];
  return [
    [ys[0], xs[0]],
    [ys[0], xs[1]],
    [ys[1], xs[0]],
    [ys[1], xs[1]],
    [cropOffset(h, size), cropOffset(w, size)],
  ];
}

/**
 * The paper's ten test-time patches as 10×C×size×size: the five crops of fiveCropOffsets, then the
 * mirror image of each of those five in the same order (out[5+k] = flip(out[k])).
 */
export function tenCrops(
  src: Float32Array,
  c: number,
  h: number,
  w: number,
  size: number,
  out: Float32Array = new Float32Array(10 * c * size * size),
  outOffset = 0,
): Float32Array {
  const n = c * size * size;
  fiveCropOffsets(h, w, size).forEach(([y, x], k) => {
    crop(src, c, h, w, y, x, size, out, false, outOffset + k * n);
    crop(src, c, h, w, y, x, size, out, true, outOffset + (k + 5) * n);
  });
  return out;
}

/**
 * PCA of the RGB pixel covariance, for the paper's lighting augmentation. eigval are descending; eigvec is
 * row-major 3×3 with eigenvector i in column i (eigvec[r*3+i] = component r of p_i). Both are in units
 * of value/unit, where unit is 255 for pixel sources (so the numbers are comparable to the widely quoted
 * ImageNet ones on the [0,1] scale) and 1 for float sources.
 */
export interface Pca {
  eigval: Float64Array;
  eigvec: Float64Array;
  unit: number;
}

/** Accumulates RGB first and second moments in float64 over any number of C×H×W images. */
export class RgbMoments {
  private s = new Float64Array(3);
  private ss = new Float64Array(9);
  count = 0;
  add(img: Float32Array, plane: number, unit = 1): void {
    const inv = 1 / unit;
    for (let p = 0; p < plane; p++) {
      const r = img[p] * inv,
        g = img[plane + p] * inv,
        b = img[2 * plane + p] * inv;
      this.s[0] += r;
      this.s[1] += g;
      this.s[2] += b;
      this.ss[0] += r * r;
      this.ss[1] += r * g;
      this.ss[2] += r * b;
      this.ss[4] += g * g;
      this.ss[5] += g * b;
      this.ss[8] += b * b;
    }
    this.count += plane;
  }
  /** Population covariance, row-major 3×3. */
  covariance(): Float64Array {
    const n = this.count,
      m = this.s.map((v) => v / n),
      cov = new Float64Array(9);
    for (let i = 0; i < 3; i++)
      for (let j = i; j < 3; j++) cov[i * 3 + j] = cov[j * 3 + i] = this.ss[i * 3 + j] / n - m[i] * m[j];
    return cov;
  }
}

/** Eigen-decomposition of a symmetric 3×3 matrix by cyclic Jacobi rotations; values descending, vectors as columns. */
export function symmetricEigen3(a: ArrayLike<number>): { values: Float64Array; vectors: Float64Array } {
  const m = Float64Array.from(a);
  const v = Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1);
  for (let sweep = 0; sweep < 50; sweep++) {
    const off = m[1] * m[1] + m[2] * m[2] + m[5] * m[5];
    const scale = m[0] * m[0] + m[4] * m[4] + m[8] * m[8] + 2 * off;
    if (off <= 1e-30 * scale || off === 0) break;
    for (const [p, q] of [
      [0, 1],
      [0, 2],
      [1, 2],
    ]) {
      const apq = m[p * 3 + q];
      if (apq === 0) continue;
      const theta = (m[q * 3 + q] - m[p * 3 + p]) / (2 * apq);
      const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
      const cs = 1 / Math.sqrt(t * t + 1),
        sn = t * cs;
      // m ← Jᵀ m J, v ← v J for the rotation J in the (p, q) plane.
      for (let k = 0; k < 3; k++) {
        const mkp = m[k * 3 + p],
          mkq = m[k * 3 + q];
        m[k * 3 + p] = cs * mkp - sn * mkq;
        m[k * 3 + q] = sn * mkp + cs * mkq;
      }
      for (let k = 0; k < 3; k++) {
        const mpk = m[p * 3 + k],
          mqk = m[q * 3 + k];
        m[p * 3 + k] = cs * mpk - sn * mqk;
        m[q * 3 + k] = sn * mpk + cs * mqk;
      }
      for (let k = 0; k < 3; k++) {
        const vkp = v[k * 3 + p],
          vkq = v[k * 3 + q];
        v[k * 3 + p] = cs * vkp - sn * vkq;
        v[k * 3 + q] = sn * vkp + cs * vkq;
      }
    }
  }
  const order = [0, 1, 2].sort((i, j) => m[j * 4] - m[i * 4]);
  const values = Float64Array.from(order, (i) => m[i * 4]);
  const vectors = new Float64Array(9);
  order.forEach((src, dst) => {
    // Fix each vector's sign (largest component positive) so results do not depend on rotation order.
    let big = 0;
    for (let r = 0; r < 3; r++) if (Math.abs(v[r * 3 + src]) > Math.abs(v[big * 3 + src])) big = r;
    const sgn = v[big * 3 + src] < 0 ? -1 : 1;
    for (let r = 0; r < 3; r++) vectors[r * 3 + dst] = sgn * v[r * 3 + src];
  });
  return { values, vectors };
}

/** Up to max distinct sample indices of a dataset, chosen by seed and returned in ascending order. */
export function sampleIndices(length: number, max: number, seed = 0): Int32Array {
  const all = Int32Array.from({ length }, (_, i) => i);
  if (max >= length) return all;
  return shuffle(all, new Rng(seed)).subarray(0, max).sort();
}

/**
 * PCA lighting parameters from the training set's RGB pixels. The paper uses all ImageNet pixels; a
 * seeded sample of maxImages images (default 1000) estimates the 3×3 covariance closely at a fraction of the cost.
 */
export async function computePcaLighting(ds: Dataset, opts: { maxImages?: number; seed?: number } = {}): Promise<Pca> {
  if (ds.channels !== 3) throw new ShapeError(`${ds.name}: PCA lighting needs 3-channel images, got ${ds.channels}`);
  const unit = ds.pixels ? 255 : 1;
  const mom = new RgbMoments();
  const img = new Float32Array(sampleSize(ds));
  for (const i of sampleIndices(ds.length, opts.maxImages ?? 1000, opts.seed)) {
    await ds.get(i, img);
    mom.add(img, ds.height * ds.width, unit);
  }
  return pcaFromCovariance(mom.covariance(), unit);
}

export function pcaFromCovariance(cov: ArrayLike<number>, unit = 1): Pca {
  const { values, vectors } = symmetricEigen3(cov);
  return { eigval: values.map((x) => Math.max(0, x)), eigvec: vectors, unit };
}

/**
 * The per-image RGB shift of the paper: [p1 p2 p3][α1λ1 α2λ2 α3λ3]ᵀ with αi ~ N(0, sigma) drawn once per
 * image, times pca.unit to return to the stored scale.
 */
export function lightingShift(pca: Pca, rng: Rng, sigma = 0.1): Float64Array {
  const a = [0, 1, 2].map((i) => rng.normal() * sigma * pca.eigval[i]);
  const shift = new Float64Array(3);
  for (let r = 0; r < 3; r++)
    shift[r] = pca.unit * (pca.eigvec[r * 3] * a[0] + pca.eigvec[r * 3 + 1] * a[1] + pca.eigvec[r * 3 + 2] * a[2]);
  return shift;
}

/** Add the lighting shift to every pixel (in place); 1-channel images are left alone. Returns the shift. */
export function applyLighting(
  img: Float32Array,
  c: number,
  h: number,
  w: number,
  pca: Pca,
  rng: Rng,
  sigma = 0.1,
): Float64Array | undefined {
  if (c !== 3) return undefined;
  const shift = lightingShift(pca, rng, sigma);
  const plane = h * w;
  for (let ch = 0; ch < 3; ch++) for (let p = ch * plane, e = p + plane; p < e; p++) img[p] += shift[ch];
  return shift;
}

/** Per-channel mean over a dataset (all images by default; maxImages for a seeded sample), stored scale. */
export async function channelMean(
  ds: Dataset,
  opts: { maxImages?: number; seed?: number } = {},
): Promise<Float32Array> {
  const plane = ds.height * ds.width;
  const sums = new Float64Array(ds.channels);
  const img = new Float32Array(sampleSize(ds));
  const idx = sampleIndices(ds.length, opts.maxImages ?? Infinity, opts.seed);
  for (const i of idx) {
    await ds.get(i, img);
    for (let ch = 0; ch < ds.channels; ch++) {
      let s = 0;
      for (let p = ch * plane, e = p + plane; p < e; p++) s += img[p];
      sums[ch] += s;
    }
  }
  return Float32Array.from(sums, (s) => s / (idx.length * plane));
}

/**
 * In place: x ← (x + shift[c]) · scale[c] − mean[c], per channel; the last step of preprocessing. The mean is
 * in output units (stored-scale mean × scale), so with the default scale 1 it is channelMean() as is.
 * `scale` is one number or one per channel (see inputAffine for a std).
 */
export function normalize(
  img: Float32Array,
  c: number,
  plane: number,
  mean?: ArrayLike<number>,
  scale: number | ArrayLike<number> = 1,
  shift?: ArrayLike<number>,
  offset = 0,
): void {
  if (mean && mean.length !== c) throw new ShapeError(`normalize: ${mean.length} means for ${c} channels`);
  if (typeof scale !== 'number' && scale.length !== c)
    throw new ShapeError(`normalize: ${scale.length} scales for ${c} channels`);
  for (let ch = 0; ch < c; ch++) {
    const a = shift ? shift[ch] : 0,
      m = mean ? mean[ch] : 0,
      k = scaleOf(scale, ch);
    if (a === 0 && m === 0 && k === 1) continue;
    for (let p = offset + ch * plane, e = p + plane; p < e; p++) img[p] = (img[p] + a) * k - m;
  }
}
