// The Dataset interface the trainer and BatchLoader consume, and an in-memory implementation
// over uint8 N×H×W×C pixels or float32 N×C×H×W arrays.
import { FormatError, ShapeError } from '../errors.js';

export interface Dataset {
  readonly name: string;
  readonly length: number;
  /** stored sample layout: channels, height, width */
  readonly channels: number;
  readonly height: number;
  readonly width: number;
  /** 1 + max label, or the number of class folders */
  readonly classes: number;
  readonly classNames?: string[];
  readonly labels: Int32Array;
  /** true when samples are pixels 0..255 (uint8 sources); false for float32 given as is */
  readonly pixels: boolean;
  /** Write sample i as float32 C×H×W into out (pixel sources give 0..255 values). */
  get(i: number, out: Float32Array): Promise<void> | void;
  /**
   * Optional fast path for pixel sources: sample i as uint8 H×W×C (read-only; may be a view or a cached
   * buffer). Loaders use it to crop and normalise in one pass; get() must give the same values.
   */
  getPixels?(i: number): Promise<Uint8Array> | Uint8Array;
  /** Release files or caches, if the dataset holds any. */
  close?(): Promise<void>;
}

export interface DataSplits {
  train: Dataset;
  val?: Dataset;
}

/** Number of floats one sample occupies. */
export const sampleSize = (d: Dataset): number => d.channels * d.height * d.width;

/** Check an index and an output buffer before a get(); shared by every implementation. */
export function checkGet(d: Dataset, i: number, out: Float32Array): void {
  checkIndex(d, i);
  if (out.length < sampleSize(d))
    throw new ShapeError(`${d.name}: output buffer holds ${out.length} floats, a sample needs ${sampleSize(d)}`);
}

export function checkIndex(d: Dataset, i: number): void {
  if (!Number.isInteger(i) || i < 0 || i >= d.length)
    throw new ShapeError(`${d.name}: sample index ${i} out of range 0..${d.length - 1}`);
}

/** Validate labels (non-negative int32) and return the class count: `classes` if given, else 1 + max label. */
export function checkLabels(labels: Int32Array, name: string, classes?: number): number {
  let max = -1;
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i];
    if (l < 0) throw new FormatError(`${name}: label ${l} at index ${i} is negative`);
    if (l > max) max = l;
  }
  if (classes === undefined) return max + 1;
  if (max >= classes) throw new FormatError(`${name}: label ${max} is out of range for ${classes} classes`);
  return classes;
}

export interface ArrayDatasetInit {
  name: string;
  /** uint8 pixels N×H×W×C (HWC per sample, as image files store them) or float32 N×C×H×W */
  images: Uint8Array | Float32Array;
  /** [N, C, H, W] whatever the storage layout */
  shape: readonly [number, number, number, number];
  labels: Int32Array;
  classes?: number;
  classNames?: string[];
}

/** In-memory dataset. uint8 sources are pixels (0..255, stored HWC); float32 sources are used as given (CHW). */
export class ArrayDataset implements Dataset {
  readonly name: string;
  readonly length: number;
  readonly channels: number;
  readonly height: number;
  readonly width: number;
  readonly classes: number;
  readonly classNames?: string[];
  readonly labels: Int32Array;
  readonly pixels: boolean;
  private readonly images: Uint8Array | Float32Array;
  /** Present for uint8 sources: a view of sample i's H×W×C pixels. */
  readonly getPixels?: (i: number) => Uint8Array;

  constructor(init: ArrayDatasetInit) {
    const [n, c, h, w] = init.shape;
    if (![n, c, h, w].every((d) => Number.isSafeInteger(d) && d > 0))
      throw new ShapeError(`${init.name}: invalid shape [${init.shape.join(',')}]`);
    if (init.images.length !== n * c * h * w)
      throw new ShapeError(`${init.name}: ${init.images.length} values do not fill shape [${n},${c},${h},${w}]`);
    if (init.labels.length !== n) throw new FormatError(`${init.name}: ${init.labels.length} labels for ${n} images`);
    if (init.classNames && init.classes !== undefined && init.classNames.length !== init.classes) {
      throw new ShapeError(`${init.name}: ${init.classNames.length} class names for ${init.classes} classes`);
    }
    this.name = init.name;
    this.length = n;
    this.channels = c;
    this.height = h;
    this.width = w;
    this.images = init.images;
    this.labels = init.labels;
    this.pixels = init.images instanceof Uint8Array;
    this.classes = checkLabels(init.labels, init.name, init.classes ?? init.classNames?.length);
    this.classNames = init.classNames;
    const px = init.images;
    if (px instanceof Uint8Array) {
      const size = c * h * w;
      this.getPixels = (i) => {
        checkIndex(this, i);
        return px.subarray(i * size, (i + 1) * size);
      };
    }
  }

  get(i: number, out: Float32Array): void {
    checkGet(this, i, out);
    const { channels: c, height: h, width: w } = this;
    const size = c * h * w;
    if (this.images instanceof Float32Array) {
      out.set(this.images.subarray(i * size, (i + 1) * size));
      return;
    }
    hwcToChw(this.images, i * size, c, h * w, out);
  }
}

/** uint8 HWC (starting at `offset`) → float32 CHW; `plane` = H·W. */
export function hwcToChw(src: Uint8Array, offset: number, c: number, plane: number, out: Float32Array): void {
  if (c === 1) {
    for (let p = 0; p < plane; p++) out[p] = src[offset + p];
    return;
  }
  for (let ch = 0; ch < c; ch++) {
    const o = ch * plane;
    for (let p = 0, s = offset + ch; p < plane; p++, s += c) out[o + p] = src[s];
  }
}

/** A view of some samples of a dataset (e.g. a quick subset for smoke runs), in the given order. */
export class SubsetDataset implements Dataset {
  readonly length: number;
  readonly labels: Int32Array;
  readonly name: string;
  constructor(
    readonly base: Dataset,
    readonly indices: Int32Array | number[],
    name?: string,
  ) {
    for (const i of indices)
      if (!Number.isInteger(i) || i < 0 || i >= base.length)
        throw new ShapeError(`${base.name}: subset index ${i} out of range`);
    this.length = indices.length;
    this.labels = Int32Array.from(indices, (i) => base.labels[i]);
    this.name = name ?? `${base.name}[subset ${indices.length}]`;
  }
  get channels(): number {
    return this.base.channels;
  }
  get height(): number {
    return this.base.height;
  }
  get width(): number {
    return this.base.width;
  }
  get classes(): number {
    return this.base.classes;
  }
  get classNames(): string[] | undefined {
    return this.base.classNames;
  }
  get pixels(): boolean {
    return this.base.pixels;
  }
  get(i: number, out: Float32Array): Promise<void> | void {
    checkGet(this, i, out);
    return this.base.get(this.indices[i], out);
  }
  get getPixels(): ((i: number) => Promise<Uint8Array> | Uint8Array) | undefined {
    const base = this.base;
    return (
      base.getPixels &&
      ((i) => {
        checkIndex(this, i);
        return base.getPixels!(this.indices[i]);
      })
    );
  }
}

/** The first n samples of a dataset (all of it when n >= length). */
export const takeDataset = (d: Dataset, n: number): Dataset =>
  n >= d.length
    ? d
    : new SubsetDataset(
        d,
        Int32Array.from({ length: Math.max(0, n) }, (_, i) => i),
        `${d.name}[:${n}]`,
      );
