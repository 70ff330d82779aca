// BatchLoader: turns a Dataset into B×C×S×S float32 batches with shuffling, augmentation, mean subtraction
// and prefetch. Every random choice is a pure function of (seed, epoch, position), so a run resumed at
// (epoch, batch) sees exactly the batches an uninterrupted run would, whatever the timing.
//
// Per sample: crop to S×S (training with augment: random offset + 50% mirror + PCA lighting on 3-channel
// data; otherwise centred), then x ← ((x + lighting) · scale − mean) / std (std 1 unless given). Axes shorter than S are zero-padded
// centred (pixel value 0, before scaling and mean subtraction, like Pad-then-Normalize), e.g. Fashion-MNIST 28 → 32.
// With `onDevice` (pixel sources), a batch carries the uint8 images and each sample's window, mirror
// and shift instead, and the device does the arithmetic (kernels/augment_pixels.wgsl, through
// batchInput() in src/train/input.ts); otherwise it runs here, on the main thread, in macrotasks
// between the consumer's awaits (GPU waits). Image decoding (sharp) runs on libuv threads, so
// prefetching overlaps both with the GPU. Both paths draw the same random numbers.
import { AlexnetError, ShapeError } from '../errors.js';
import {
  crop,
  cropOffset,
  cropPixels,
  fiveCropOffsets,
  inputAffine,
  lightingShift,
  normalize,
  type Pca,
} from './augment.js';
import { sampleSize, type Dataset } from './dataset.js';
import { pixelStride, type PixelBatch, type PixelWindows } from '../ops/augment_pixels.js';
import { Rng, shuffle } from '../util/rng.js';

/** A promise settled in a later macrotask: setImmediate where there is one (Node), else a timeout (browsers). */
const laterTask = (): Promise<void> =>
  new Promise((r) => (typeof setImmediate === 'function' ? setImmediate(r) : setTimeout(r, 0)));

export interface BatchLoaderOptions {
  batchSize: number;
  /** crop height = width the network takes */
  inputSize: number;
  shuffle: boolean;
  augment: boolean;
  seed: number;
  /** per-channel mean subtracted after scaling, so in output units: channelMean(train) × scale */
  mean?: ArrayLike<number>;
  /** multiply stored values by this before the mean is subtracted (default 1: the paper's 0..255 scale) */
  scale?: number;
  /** per-channel divisor applied after the mean is subtracted (torchvision's Normalize; default 1) */
  std?: ArrayLike<number>;
  /** PCA lighting (augment only, 3-channel only) */
  lighting?: Pca | null;
  /** σ of the lighting coefficients α (default 0.1, the paper's) */
  lightingSigma?: number;
  /** drop the last incomplete batch (default false: the last batch may be smaller) */
  dropLast?: boolean;
  /** batches prepared ahead of the one being consumed (default 2) */
  prefetch?: number;
  /** the paper's ten test patches per sample: images are (B·10)×C×S×S, sample-major */
  tenCrop?: boolean;
  /** dataset.get() calls in flight per batch (default 16) */
  concurrency?: number;
  /**
   * Pixel sources: leave crop, mirror, lighting and normalisation to the device (Batch.pixels instead
   * of Batch.images; default false). Float sources ignore it.
   */
  onDevice?: boolean;
}

/** A batch's uint8 images with what the device does to them (augmentPixels()'s arguments). */
export interface DevicePixels {
  batch: PixelBatch;
  windows: PixelWindows;
  size: number;
  affine: { k: Float64Array; b: Float64Array };
}

export interface Batch {
  /** B×C×S×S (or (B·10)×C×S×S for ten-crop); absent when the device prepares them (`pixels`) */
  images?: Float32Array;
  /** With onDevice on a pixel source: the images as bytes and their windows (batchInput() uploads them) */
  pixels?: DevicePixels;
  labels: Int32Array;
  /** batch index within the epoch */
  index: number;
  /** dataset indices of the samples */
  indices: Int32Array;
  /** ms the consumer waited for this batch (≈0 when data keeps up) */
  dataMs: number;
}

const TAG_PERM = 0x7065726d,
  TAG_AUG = 0x61756760;

export class BatchLoader {
  readonly batchesPerEpoch: number;
  readonly batchSize: number;
  readonly inputSize: number;
  readonly channels: number;
  private readonly o: Required<Omit<BatchLoaderOptions, 'mean' | 'scale' | 'std' | 'lighting'>> & {
    k: Float64Array;
    b: Float64Array;
    lighting: Pca | null;
  };
  private perm?: { epoch: number; order: Int32Array };
  /** Batches being prepared now, and since when one has been (for busyMs). */
  private preparing = 0;
  private busySince = 0;
  /**
   * What the loader has done: images prepared, and ms during which at least one batch was being
   * prepared. images / busyMs is the rate it could deliver (its own images/s), whatever the consumer's.
   */
  readonly stats = { images: 0, busyMs: 0 };

  constructor(
    readonly dataset: Dataset,
    opts: BatchLoaderOptions,
  ) {
    const posInt = (v: number, what: string, min = 1) => {
      if (!Number.isSafeInteger(v) || v < min)
        throw new AlexnetError(`BatchLoader: ${what} must be an integer >= ${min}, got ${v}`);
    };
    posInt(opts.batchSize, 'batchSize');
    posInt(opts.inputSize, 'inputSize');
    if (!Number.isSafeInteger(opts.seed))
      throw new AlexnetError(`BatchLoader: seed must be a safe integer, got ${opts.seed}`);
    if (opts.mean && opts.mean.length !== dataset.channels)
      throw new ShapeError(`BatchLoader: ${opts.mean.length} mean values for ${dataset.channels} channels`);
    const scale = opts.scale ?? 1;
    if (!Number.isFinite(scale)) throw new AlexnetError(`BatchLoader: scale must be finite, got ${scale}`);
    const { k, b } = inputAffine(dataset.channels, scale, opts.mean, opts.std); // checks std's length and sign
    const prefetch = opts.prefetch ?? 2,
      concurrency = opts.concurrency ?? 16;
    posInt(prefetch, 'prefetch', 0);
    posInt(concurrency, 'concurrency');
    if (dataset.length === 0) throw new AlexnetError(`BatchLoader: ${dataset.name} is empty`);
    this.o = {
      ...opts,
      prefetch,
      concurrency,
      k,
      b,
      lighting: opts.lighting ?? null,
      lightingSigma: opts.lightingSigma ?? 0.1,
      dropLast: opts.dropLast ?? false,
      tenCrop: opts.tenCrop ?? false,
      onDevice: opts.onDevice ?? false,
    };
    this.batchSize = opts.batchSize;
    this.inputSize = opts.inputSize;
    this.channels = dataset.channels;
    const n = dataset.length;
    this.batchesPerEpoch = this.o.dropLast ? Math.floor(n / opts.batchSize) : Math.ceil(n / opts.batchSize);
    if (this.batchesPerEpoch === 0)
      throw new AlexnetError(`BatchLoader: ${n} samples make no full batch of ${opts.batchSize} with dropLast`);
  }

  /** Dataset indices in the order epoch `epoch` visits them (identity when not shuffling). */
  order(epoch: number): Int32Array {
    if (this.perm?.epoch === epoch) return this.perm.order;
    const order = Int32Array.from({ length: this.dataset.length }, (_, i) => i);
    if (this.o.shuffle) shuffle(order, Rng.from(this.o.seed, epoch, TAG_PERM));
    this.perm = { epoch, order };
    return order;
  }

  /** Dataset indices of batch k of an epoch. */
  batchIndices(epoch: number, k: number): Int32Array {
    if (!Number.isInteger(k) || k < 0 || k >= this.batchesPerEpoch)
      throw new AlexnetError(`BatchLoader: batch ${k} out of range 0..${this.batchesPerEpoch - 1}`);
    const B = this.batchSize;
    return this.order(epoch).slice(k * B, Math.min((k + 1) * B, this.dataset.length));
  }

  /** Batches startBatch.. of an epoch, `prefetch` of them prepared ahead of the one being consumed. */
  async *epoch(epochIndex: number, startBatch = 0): AsyncGenerator<Batch> {
    if (!Number.isSafeInteger(epochIndex) || epochIndex < 0)
      throw new AlexnetError(`BatchLoader: epoch must be a non-negative integer, got ${epochIndex}`);
    if (!Number.isInteger(startBatch) || startBatch < 0 || startBatch > this.batchesPerEpoch)
      throw new AlexnetError(`BatchLoader: startBatch ${startBatch} out of range 0..${this.batchesPerEpoch}`);
    const queue: Array<Promise<Omit<Batch, 'dataMs'>>> = [];
    let next = startBatch;
    for (let k = startBatch; k < this.batchesPerEpoch; k++) {
      while (next < this.batchesPerEpoch && queue.length <= this.o.prefetch) {
        const p = this.makeBatch(epochIndex, next++);
        p.catch(() => {}); // a prefetched batch the consumer abandons must not surface as unhandled
        queue.push(p);
      }
      const t0 = performance.now();
      const batch = await queue.shift()!;
      yield { ...batch, dataMs: performance.now() - t0 };
    }
  }

  private async makeBatch(epoch: number, k: number): Promise<Omit<Batch, 'dataMs'>> {
    // Start in a later macrotask so preparing batch k+1 happens while the consumer awaits, not before it gets k.
    await laterTask();
    if (this.preparing++ === 0) this.busySince = performance.now();
    try {
      const batch = await this.prepare(epoch, k);
      this.stats.images += batch.labels.length;
      return batch;
    } finally {
      if (--this.preparing === 0) this.stats.busyMs += performance.now() - this.busySince;
    }
  }

  private async prepare(epoch: number, k: number): Promise<Omit<Batch, 'dataMs'>> {
    const ds = this.dataset,
      S = this.inputSize,
      C = ds.channels;
    const indices = this.batchIndices(epoch, k);
    const per = this.o.tenCrop ? 10 : 1,
      n = C * S * S;
    const labels = Int32Array.from(indices, (i) => ds.labels[i]);
    // Pixel sources go straight from uint8 HWC to the normalised crop in one pass (see cropPixels).
    const getPixels = ds.pixels ? ds.getPixels?.bind(ds) : undefined;
    const device = getPixels && this.o.onDevice ? this.devicePixels(indices.length * per, indices.length) : undefined;
    const images = device ? undefined : new Float32Array(indices.length * per * n);
    let next = 0;
    const worker = async () => {
      const buf = getPixels ? undefined : new Float32Array(sampleSize(ds));
      for (let j = next++; j < indices.length; j = next++) {
        let src: Uint8Array | Float32Array;
        if (getPixels) {
          const r = getPixels(indices[j]);
          src = r instanceof Uint8Array ? r : await r;
        } else {
          const r = ds.get(indices[j], buf!);
          if (r) await r;
          src = buf!;
        }
        const pos = k * this.batchSize + j;
        if (device) this.placeWindows(src as Uint8Array, device, j, epoch, pos);
        else this.place(src, images!, j * per * n, epoch, pos);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.o.concurrency, indices.length) }, worker));
    return { images, pixels: device, labels, index: k, indices };
  }

  private devicePixels(outputs: number, images: number): DevicePixels {
    const { height: h, width: w, channels: c } = this.dataset;
    const stride = pixelStride(h, w, c);
    return {
      batch: { data: new Uint8Array(images * stride), images, h, w, c, stride },
      windows: { n: outputs, windows: new Int32Array(4 * outputs), shifts: new Float32Array(c * outputs) },
      size: this.inputSize,
      affine: { k: this.o.k, b: this.o.b },
    };
  }

  /**
   * The windows of the sample at `pos` of the epoch: the ten test crops, or one random (augment) or
   * centred window, with the lighting shift of augmented RGB samples. Both paths place these.
   */
  private windowsOf(epoch: number, pos: number): { windows: Array<[number, number, boolean]>; shift: Float64Array } {
    const { height: H, width: W, channels: C } = this.dataset;
    const S = this.inputSize,
      o = this.o;
    const windows: Array<[number, number, boolean]> = [];
    let shift: Float64Array | undefined;
    if (o.tenCrop) {
      for (const mirror of [false, true]) for (const [y, x] of fiveCropOffsets(H, W, S)) windows.push([y, x, mirror]);
    } else if (o.augment) {
      const rng = Rng.from(o.seed, epoch, pos, TAG_AUG);
      const y = cropOffset(H, S, rng),
        x = cropOffset(W, S, rng);
      windows.push([y, x, rng.next() < 0.5]);
      if (o.lighting && C === 3) shift = lightingShift(o.lighting, rng, o.lightingSigma);
    } else {
      windows.push([cropOffset(H, S), cropOffset(W, S), false]);
    }
    return { windows, shift: shift ?? new Float64Array(C) };
  }

  /** Crop/augment/normalise one stored sample (uint8 HWC or float CHW) into the batch at `off`. */
  private place(src: Uint8Array | Float32Array, out: Float32Array, off: number, epoch: number, pos: number): void {
    const { height: H, width: W, channels: C } = this.dataset;
    const S = this.inputSize,
      o = this.o;
    const { windows, shift } = this.windowsOf(epoch, pos);
    windows.forEach(([y, x, mirror], t) => {
      const at = off + t * C * S * S;
      if (src instanceof Uint8Array) cropPixels(src, C, H, W, y, x, S, out, at, mirror, shift, o.b, o.k);
      else {
        crop(src, C, H, W, y, x, S, out, mirror, at);
        normalize(out, C, S * S, o.b, o.k, shift, at);
      }
    });
  }

  /** Sample j of the batch for the device: its bytes, and its windows and shifts (outputs j·per..). */
  private placeWindows(src: Uint8Array, d: DevicePixels, j: number, epoch: number, pos: number): void {
    const { stride, c } = d.batch;
    d.batch.data.set(src.subarray(0, d.batch.h * d.batch.w * c), j * stride);
    const { windows, shift } = this.windowsOf(epoch, pos);
    windows.forEach(([y, x, mirror], t) => {
      const out = j * windows.length + t;
      d.windows.windows.set([y, x, mirror ? 1 : 0, j], 4 * out);
      d.windows.shifts.set(shift, c * out);
    });
  }
}

export interface EvalOptions {
  batchSize: number;
  inputSize: number;
  mean?: ArrayLike<number>;
  scale?: number;
  std?: ArrayLike<number>;
  /** ten patches per sample, (B·10)×C×S×S in sample-major order; average the 10 predictions */
  tenCrop: boolean;
  prefetch?: number;
  /** crop and normalise on the device (pixel sources; see BatchLoaderOptions.onDevice) */
  onDevice?: boolean;
}

/** Evaluation batches in file order: centre crops, or the paper's ten crops. */
export function evalBatches(dataset: Dataset, opts: EvalOptions): AsyncGenerator<Batch> {
  return new BatchLoader(dataset, { ...opts, shuffle: false, augment: false, seed: 0, dropLast: false }).epoch(0);
}
