// The device's input path (kernels/augment_pixels.wgsl) against the CPU's, cropPixels(), which
// computes in float64: odd sizes (image bytes not a multiple of 4), windows reaching past every edge,
// mirrors, lighting shifts, mean and std, crops larger than the image, runs of images split across
// bindings, and bad arguments as ShapeErrors.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ShapeError, ValueError } from '../src/errors.js';
import { augmentPixels, pixelStride, type PixelBatch, type PixelWindows } from '../src/ops/augment_pixels.js';
import { cropPixels, inputAffine } from '../src/data/augment.js';
import { Rng } from '../src/util/rng.js';
import { ArrayDataset } from '../src/data/dataset.js';
import { BatchLoader, type Batch } from '../src/data/loader.js';
import { batchInput } from '../src/train/input.js';
import { chunking, close, disposeGpu, fails, gpu } from './helpers.js';
import type { Engine } from '../src/gpu/engine.js';

test.after(disposeGpu);

interface Case {
  n: number;
  h: number;
  w: number;
  c: number;
  size: number;
  scale: number;
  mean: number[];
  std?: number[];
  /** how far past the edges a window may start */
  reach: number;
  lighting: boolean;
}

function make(k: Case, seed: number): { px: PixelBatch; win: PixelWindows } {
  const r = new Rng(seed);
  const stride = pixelStride(k.h, k.w, k.c);
  const data = new Uint8Array(k.n * stride);
  for (let i = 0; i < k.n; i++) for (let j = 0; j < k.h * k.w * k.c; j++) data[i * stride + j] = r.int(256);
  const windows = new Int32Array(4 * k.n),
    shifts = new Float32Array(k.c * k.n);
  for (let i = 0; i < k.n; i++) {
    // offsets between the in-image ones (or the padded ones, for short axes), `reach` further either way
    const offset = (len: number) =>
      Math.min(0, len - k.size) - k.reach + r.int(Math.abs(len - k.size) + 2 * k.reach + 1);
    windows[4 * i] = offset(k.h);
    windows[4 * i + 1] = offset(k.w);
    windows[4 * i + 2] = r.int(2);
    windows[4 * i + 3] = i;
    for (let ch = 0; ch < k.c; ch++) shifts[i * k.c + ch] = k.lighting ? 40 * (r.next() - 0.5) : 0;
  }
  return { px: { data, images: k.n, h: k.h, w: k.w, c: k.c, stride }, win: { n: k.n, windows, shifts } };
}

/** cropPixels image by image: the reference. */
function reference(k: Case, px: PixelBatch, win: PixelWindows): Float32Array {
  const { k: f, b } = inputAffine(k.c, k.scale, k.mean, k.std);
  const n = k.c * k.size * k.size,
    out = new Float32Array(k.n * n);
  for (let i = 0; i < k.n; i++) {
    const [y, x, m, j] = win.windows.subarray(4 * i, 4 * i + 4);
    const img = px.data.subarray(j * px.stride, j * px.stride + k.h * k.w * k.c);
    cropPixels(
      img,
      k.c,
      k.h,
      k.w,
      y,
      x,
      k.size,
      out,
      i * n,
      m === 1,
      win.shifts.subarray(i * k.c, (i + 1) * k.c),
      b,
      f,
    );
  }
  return out;
}

async function compare(e: Engine, k: Case, seed: number, label: string): Promise<number> {
  const { px, win } = make(k, seed);
  const want = reference(k, px, win);
  const got = await augmentPixels(e, px, win, k.size, inputAffine(k.c, k.scale, k.mean, k.std)).readF32();
  // float32 arithmetic against float64: a few ulps of the largest value (measured 1.2e-7 of it; 1e-6 allowed)
  const mag = want.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
  const d = close(got, want, 1e-6 * mag, 0, label);
  // negative control: the same images without their mirror flags differ
  const flipped = { ...win, windows: win.windows.map((v, i) => (i % 4 === 2 ? 1 - v : v)) };
  const other = await augmentPixels(e, px, flipped, k.size, inputAffine(k.c, k.scale, k.mean, k.std)).readF32();
  assert.ok(
    fails(() => close(other, want, 1e-6 * mag, 0, 'control')),
    `${label}: the mirror flags change nothing`,
  );
  return d / mag;
}

const CASES: Array<[string, Case]> = [
  [
    'Fashion-MNIST-like 28² → 32 (padded), 1 channel, scale and std',
    { n: 5, h: 28, w: 28, c: 1, size: 32, scale: 1 / 255, mean: [0.29], std: [0.35], reach: 3, lighting: false },
  ],
  [
    'RGB 37×41 → 29 (4551 bytes an image), windows past the edges, lighting, mean',
    { n: 7, h: 37, w: 41, c: 3, size: 29, scale: 1, mean: [124, 117, 104], reach: 6, lighting: true },
  ],
  [
    'a 5×3 image into a 7² crop (larger on both axes), 3 channels, ImageNet mean and std',
    {
      n: 3,
      h: 5,
      w: 3,
      c: 3,
      size: 7,
      scale: 1 / 255,
      mean: [0.485, 0.456, 0.406],
      std: [0.229, 0.224, 0.225],
      reach: 1,
      lighting: true,
    },
  ],
  ['2 channels, 9×13 → 8', { n: 4, h: 9, w: 13, c: 2, size: 8, scale: 2, mean: [10, -3], reach: 0, lighting: true }],
];

test('matches cropPixels (float64) on odd shapes, pads and mirrors', async () => {
  const e = await gpu();
  let worst = 0;
  for (const [i, [label, k]] of CASES.entries()) worst = Math.max(worst, await compare(e, k, 100 + i, label));
  console.log(`  largest difference ${worst.toExponential(1)} of the largest value`);
});

test("runs of outputs split across bindings (at the device's offset alignment) give the same values", async () => {
  const e = await gpu();
  const saved = e.maxBindingElems;
  const k0: Case = { n: 0, h: 37, w: 41, c: 3, size: 29, scale: 1, mean: [124, 117, 104], reach: 4, lighting: true };
  // outputs of 3·29·29 = 2523 floats: runs are multiples of 4 (lavapipe) or 64 (256-byte alignment)
  const { items, bindingElems } = chunking(e, [k0.c * k0.size * k0.size]);
  (e as { maxBindingElems: number }).maxBindingElems = bindingElems;
  try {
    const before = e.dispatchCount;
    await compare(e, { ...k0, n: items }, 7, `${items} images in runs`);
    assert.ok(e.dispatchCount - before >= 6, 'both passes ran in at least three runs');
  } finally {
    (e as { maxBindingElems: number }).maxBindingElems = saved;
  }
});

test("several windows of one image (the paper's ten crops): each output reads its own image", async () => {
  const e = await gpu();
  const k: Case = { ...CASES[1][1], n: 3 };
  const { px } = make(k, 9);
  const rng = new Rng(5);
  const m = 10 * k.n;
  const windows = new Int32Array(4 * m),
    shifts = new Float32Array(3 * m);
  for (let j = 0; j < m; j++) windows.set([rng.int(9), rng.int(13), j >= m / 2 ? 1 : 0, j % k.n], 4 * j);
  const win = { n: m, windows, shifts };
  close(
    await augmentPixels(e, px, win, 29, inputAffine(3, 1, k.mean)).readF32(),
    reference({ ...k, n: m }, px, win),
    1e-6 * 255,
    0,
    'ten crops',
  );
});

test('into a given tensor, and an empty batch', async () => {
  const e = await gpu();
  const k: Case = CASES[0][1];
  const { px, win } = make(k, 3);
  const out = augmentPixels(e, px, win, k.size, inputAffine(k.c, k.scale, k.mean, k.std));
  const again = augmentPixels(e, px, win, k.size, inputAffine(k.c, k.scale, k.mean, k.std), out);
  assert.is(again, out);
  close(await out.readF32(), reference(k, px, win), 1e-6, 0, 'into out');
  out.dispose();
  const empty = augmentPixels(e, px, { ...win, n: 0 }, k.size, inputAffine(k.c, k.scale, k.mean, k.std));
  assert.equal(empty.shape, [0, 1, 32, 32]);
});

test('bad arguments are ShapeErrors naming what is wrong', async () => {
  const e = await gpu();
  const k: Case = CASES[1][1];
  const { px, win } = make(k, 4);
  const aff = inputAffine(k.c, k.scale, k.mean);
  const bad: Array<[() => unknown, RegExp]> = [
    [
      () => augmentPixels(e, { ...px, stride: px.stride - 1 }, win, 29, aff),
      /stride 4551 bytes is not a multiple of 4/,
    ],
    [() => augmentPixels(e, { ...px, data: px.data.subarray(1) }, win, 29, aff), /hold fewer than 7 images/],
    [() => augmentPixels(e, px, { ...win, windows: win.windows.subarray(4) }, 29, aff), /6 windows .* for 7 outputs/],
    [() => augmentPixels(e, px, win, 0, aff), /size = 0 is not an integer >= 1/],
    [() => augmentPixels(e, px, win, 29, inputAffine(1, 1)), /affine of 1\/1 channels/],
  ];
  for (const [f, msg] of bad)
    assert.throws(f, (err: unknown) => err instanceof ShapeError && msg.test((err as Error).message));
  // window 1 reads image 7 of 7
  const stray = { ...win, windows: win.windows.map((v, i) => (i === 7 ? 7 : v)) };
  assert.throws(
    () => augmentPixels(e, px, stray, 29, aff),
    (err: unknown) => err instanceof ValueError && /window 1 reads image 7 of 7/.test((err as Error).message),
  );
});

test('BatchLoader onDevice + batchInput equals the host path: same draws (crops, mirrors, lighting), ten crops, std', async () => {
  const e = await gpu();
  const r = new Rng(11);
  const px = new ArrayDataset({
    name: 'px',
    images: Uint8Array.from({ length: 9 * 10 * 7 * 3 }, () => r.int(256)),
    shape: [9, 3, 10, 7],
    labels: new Int32Array(9),
  });
  const lighting = {
    eigval: Float64Array.of(0.2, 0.02, 0.004),
    eigvec: Float64Array.of(0.58, 0.7, 0.4, 0.58, 0, -0.81, 0.58, -0.7, 0.42),
    unit: 255,
  };
  for (const o of [
    // 10×7 → 8: crop one axis, pad the other
    { batchSize: 4, inputSize: 8, shuffle: true, augment: true, seed: 4, mean: [100, 90, 80], scale: 0.01, lighting },
    {
      batchSize: 4,
      inputSize: 6,
      shuffle: false,
      augment: false,
      seed: 0,
      mean: [1, 2, 3],
      std: [0.5, 2, 3],
      tenCrop: true,
    },
  ]) {
    const host = new BatchLoader(px, o).epoch(1),
      device = new BatchLoader(px, { ...o, onDevice: true }).epoch(1);
    for await (const h of host) {
      const d = (await device.next()).value as Batch;
      assert.ok(d.pixels && !d.images, 'the device batch carries pixels');
      assert.equal(d.labels, h.labels);
      const shape = [h.images!.length / (3 * o.inputSize ** 2), 3, o.inputSize, o.inputSize];
      const x = batchInput(e, d, shape);
      const mag = h.images!.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
      close(await x.readF32(), h.images!, 1e-6 * mag, 0, `batch ${h.index}${o.tenCrop ? ' (ten crops)' : ''}`);
      x.dispose();
    }
  }
});

test.run();
