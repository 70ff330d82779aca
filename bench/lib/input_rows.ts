// The training input path, host against device, on the same loader draws: a batch of uint8 images
// becomes the network's normalised input tensor either on the main thread (crop, mirror, lighting,
// mean and std in cropPixels(), then a float32 upload) or on the device (a byte upload, then
// kernels/augment_pixels.wgsl). Validated against each other first (equal within float rounding,
// the host path computing in float64), then timed as wall time from asking the loader for a batch to
// the input being on the device (prefetch off, so the loader's work is inside the timing), with the
// host's part of it (until the upload and the dispatch are queued) beside it.
import { ArrayDataset } from '../../src/data/dataset.js';
import { BatchLoader, type Batch, type BatchLoaderOptions } from '../../src/data/loader.js';
import type { Engine } from '../../src/gpu/engine.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { batchInput } from '../../src/train/input.js';
import { Rng } from '../../src/util/rng.js';
import { checkClose, fmt, median, type Report, type Row } from './common.js';
import { cpuSample, othersShare } from './gpu_timer.js';

export interface InputCase {
  name: string;
  b: number;
  h: number;
  c: number;
  size: number;
}

/** ImageNet-sized crops with lighting (the paper's input), and Fashion-MNIST padded for `mini`. */
export const INPUT_CASES: InputCase[] = [
  { name: 'imagenet 256²→224', b: 32, h: 256, c: 3, size: 224 },
  { name: 'fashion 28²→32', b: 128, h: 28, c: 1, size: 32 },
];

const LIGHTING = {
  eigval: Float64Array.of(0.2175, 0.0188, 0.0045),
  eigvec: Float64Array.of(-0.5675, 0.7192, 0.4009, -0.5808, -0.0045, -0.814, -0.5836, -0.6948, 0.4203),
  unit: 255,
};

/** A row's name: 'input imagenet 256²→224 b32 device'. */
export const inputName = (k: InputCase, side: 'host' | 'device'): string => `input ${k.name} b${k.b} ${side}`;

export async function inputRows(
  e: Engine,
  report: Report,
  k: InputCase,
  reps: number,
  want: (test: string) => boolean,
): Promise<Row[]> {
  const name = (side: 'host' | 'device') => inputName(k, side);
  const sides = (['host', 'device'] as const).filter((s) => want(name(s)));
  if (!sides.length) return [];
  const r = new Rng(3);
  const ds = new ArrayDataset({
    name: 'synthetic',
    images: Uint8Array.from({ length: 2 * k.b * k.h * k.h * k.c }, () => r.int(256)),
    shape: [2 * k.b, k.c, k.h, k.h],
    labels: new Int32Array(2 * k.b),
  });
  const o: BatchLoaderOptions = {
    batchSize: k.b,
    inputSize: k.size,
    shuffle: true,
    augment: true,
    seed: 1,
    mean: Array(k.c).fill(110),
    std: Array(k.c).fill(60),
    lighting: k.c === 3 ? LIGHTING : null,
    dropLast: true,
    prefetch: 0,
  };
  const x = new Tensor(e, [k.b, k.c, k.size, k.size], 'f32', { name: 'input' });
  const loaders = { host: new BatchLoader(ds, o), device: new BatchLoader(ds, { ...o, onDevice: true }) };
  const first = async (l: BatchLoader, epoch: number): Promise<Batch> => (await l.epoch(epoch).next()).value as Batch;
  const rows: Row[] = [];
  try {
    // validation: the device's input equals the host's, on the same draws
    const host = (await first(loaders.host, 0)).images!;
    const dev = await batchInput(e, await first(loaders.device, 0), x.shape, x).readF32();
    checkClose(name('device'), dev, host, 1e-6);
    for (const side of sides) {
      const ms: number[] = [],
        hostMs: number[] = [];
      const c0 = cpuSample();
      for (let i = 0; i < reps + 1; i++) {
        const t0 = performance.now();
        const batch = await first(loaders[side], i + 1);
        batchInput(e, batch, x.shape, x);
        const t1 = performance.now(); // the host's part ends here
        await e.sync(); // the input is on the device
        if (i === 0) continue; // the first run warms up
        ms.push(performance.now() - t0);
        hostMs.push(t1 - t0);
      }
      const host = median(hostMs);
      rows.push(
        report.add({
          test: name(side),
          group: 'input',
          ms,
          timing: 'wall',
          unit: 'img/s',
          work: k.b,
          othersCpu: othersShare(c0, cpuSample()),
          note: `${k.b}×${k.c}×${k.h}² uint8 → ${k.size}² crop, mirror${k.c === 3 ? ', lighting' : ''}, mean/std; host ${fmt(host)} ms of it`,
          extra: { batch: k.b, side, host_ms: host },
        }),
      );
    }
  } finally {
    x.dispose();
  }
  return rows;
}
