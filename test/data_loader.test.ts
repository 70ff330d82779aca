// Tests for BatchLoader: file-order batches, shuffling as a seeded permutation, exact resume at
// (epoch, batch) with augmentation on, independence from prefetch depth and get() timing, padding,
// mean/scale, and ten-crop evaluation batches.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { tenCrops } from '../src/data/augment.js';
import { ArrayDataset, type Dataset } from '../src/data/dataset.js';
import { BatchLoader, evalBatches, type Batch, type BatchLoaderOptions } from '../src/data/loader.js';
import { AlexnetError } from '../src/errors.js';

/** N float samples C×H×W whose every value is sample index + position/1e4, labels i % 10. */
function indexDataset(n: number, c: number, h: number, w: number): ArrayDataset {
  const size = c * h * w;
  const images = Float32Array.from({ length: n * size }, (_, k) => Math.floor(k / size) + (k % size) / 1e4);
  return new ArrayDataset({
    name: 'idx',
    images,
    shape: [n, c, h, w],
    labels: Int32Array.from({ length: n }, (_, i) => i % 10),
  });
}
const collect = async (it: AsyncIterable<Batch>) => {
  const out: Batch[] = [];
  for await (const b of it) out.push(b);
  return out;
};
const base: BatchLoaderOptions = { batchSize: 10, inputSize: 4, shuffle: false, augment: false, seed: 1 };

test('no shuffle: batch k holds samples [kB, (k+1)B); the last batch is short unless dropLast', async () => {
  const ds = indexDataset(103, 1, 4, 4);
  const loader = new BatchLoader(ds, base);
  assert.is(loader.batchesPerEpoch, 11);
  const batches = await collect(loader.epoch(0));
  batches.forEach((b, k) => {
    const n = k < 10 ? 10 : 3;
    assert.is(b.index, k);
    assert.is(b.labels.length, n);
    assert.is(b.images!.length, n * 16);
    for (let j = 0; j < n; j++) {
      assert.is(Math.floor(b.images![j * 16]), 10 * k + j);
      assert.is(b.labels[j], (10 * k + j) % 10);
    }
    assert.ok(b.dataMs >= 0);
  });
  assert.is(new BatchLoader(ds, { ...base, dropLast: true }).batchesPerEpoch, 10);
});

test('shuffle: each epoch is a permutation, seeded, different per epoch and per seed', async () => {
  const ds = indexDataset(57, 1, 4, 4);
  const run = async (seed: number, epoch: number) =>
    (await collect(new BatchLoader(ds, { ...base, shuffle: true, seed }).epoch(epoch))).flatMap((b) =>
      Array.from(b.indices),
    );
  const e0 = await run(7, 0);
  assert.equal(
    [...e0].sort((a, b) => a - b),
    Array.from({ length: 57 }, (_, i) => i),
  );
  assert.equal(await run(7, 0), e0);
  assert.not.equal(await run(7, 1), e0);
  assert.not.equal(await run(8, 0), e0);
});

test('resume at (epoch 1, batch 3) reproduces the uninterrupted run, augmentation included', async () => {
  const ds = new ArrayDataset({
    // RGB pixels, stored 12×12, cropped to 8 with flips and lighting
    name: 'rgb',
    images: Uint8Array.from({ length: 40 * 12 * 12 * 3 }, (_, i) => (i * 7919) % 256),
    shape: [40, 3, 12, 12],
    labels: Int32Array.from({ length: 40 }, (_, i) => i % 4),
  });
  const lighting = {
    eigval: Float64Array.of(0.2, 0.02, 0.004),
    eigvec: Float64Array.of(0.58, 0.7, 0.4, 0.58, 0, -0.81, 0.58, -0.7, 0.42),
    unit: 255,
  };
  const opts: BatchLoaderOptions = {
    batchSize: 6,
    inputSize: 8,
    shuffle: true,
    augment: true,
    seed: 123,
    mean: [120, 110, 100],
    scale: 1 / 64,
    lighting,
  };
  const full = new BatchLoader(ds, opts);
  await collect(full.epoch(0));
  const e1 = await collect(full.epoch(1));
  const resumed = await collect(new BatchLoader(ds, { ...opts, prefetch: 0 }).epoch(1, 3));
  assert.is(resumed.length, e1.length - 3);
  resumed.forEach((b, i) => {
    assert.is(b.index, i + 3);
    assert.equal(b.labels, e1[i + 3].labels);
    assert.equal(b.images!, e1[i + 3].images);
  });
  // Augmentation really happened: the same samples differ between epochs 0 and 1.
  const again = new BatchLoader(ds, { ...opts, shuffle: false });
  assert.not.equal((await collect(again.epoch(0)))[0].images, (await collect(again.epoch(1)))[0].images);
});

test('results do not depend on prefetch depth or on when an async get() resolves', async () => {
  const ds = indexDataset(30, 3, 6, 6);
  let calls = 0;
  const slow: Dataset = Object.assign(Object.create(ds), {
    get: (i: number, out: Float32Array) =>
      new Promise<void>((r) =>
        setTimeout(
          () => {
            ds.get(i, out);
            r();
          },
          (calls++ * 7) % 5,
        ),
      ),
  });
  const opts: BatchLoaderOptions = { batchSize: 4, inputSize: 4, shuffle: true, augment: true, seed: 9 };
  const a = await collect(new BatchLoader(ds, { ...opts, prefetch: 0 }).epoch(2));
  const b = await collect(new BatchLoader(slow, { ...opts, prefetch: 5, concurrency: 3 }).epoch(2));
  assert.equal(
    b.map((x) => x.images),
    a.map((x) => x.images),
  );
});

test('smaller stored images are zero-padded centred, then scaled and the mean subtracted', async () => {
  const ds = new ArrayDataset({
    name: 'px',
    images: new Uint8Array(2 * 28 * 28).fill(200),
    shape: [2, 1, 28, 28],
    labels: Int32Array.of(0, 1),
  });
  for (const augment of [false, true]) {
    const [b] = await collect(
      new BatchLoader(ds, {
        batchSize: 2,
        inputSize: 32,
        shuffle: false,
        augment,
        seed: 0,
        mean: [50],
        scale: 0.5,
      }).epoch(0),
    );
    for (let j = 0; j < 2; j++)
      for (let y = 0; y < 32; y++)
        for (let x = 0; x < 32; x++) {
          const inside = y >= 2 && y < 30 && x >= 2 && x < 30;
          assert.is(b.images![j * 1024 + y * 32 + x], inside ? 50 : -50);
        }
  }
});

test('evalBatches: centre crops, or ten crops in sample-major order', async () => {
  const ds = indexDataset(5, 2, 7, 7);
  const centre = await collect(evalBatches(ds, { batchSize: 2, inputSize: 5, tenCrop: false }));
  assert.equal(
    centre.map((b) => b.images!.length),
    [100, 100, 50],
  );
  assert.is(centre[0].images![50], Math.fround(1 + (1 * 7 + 1) / 1e4), 'sample 1 centre crop starts at (1,1)');
  const ten = await collect(evalBatches(ds, { batchSize: 2, inputSize: 5, tenCrop: true, mean: [1, 2], scale: 2 }));
  assert.equal(
    ten.map((b) => b.images!.length),
    [1000, 1000, 500],
  );
  assert.equal(Array.from(ten[2].labels), [4]);
  const src = new Float32Array(98);
  ds.get(3, src);
  const want = tenCrops(src, 2, 7, 7, 5);
  for (let t = 0; t < 10; t++)
    for (let c = 0; c < 2; c++)
      for (let p = 0; p < 25; p++) {
        const k = (t * 2 + c) * 25 + p;
        assert.ok(Math.abs(ten[1].images![500 + k] - (want[k] * 2 - [1, 2][c])) < 1e-5);
      }
});

test("the uint8 fast path (getPixels) gives exactly the float path's values", async () => {
  const px = new ArrayDataset({
    name: 'px',
    images: Uint8Array.from({ length: 9 * 10 * 7 * 3 }, (_, i) => (i * 31) % 256),
    shape: [9, 3, 10, 7],
    labels: new Int32Array(9),
  });
  assert.ok(px.getPixels);
  const noFast: Dataset = Object.assign(Object.create(px), { getPixels: undefined });
  const lighting = {
    eigval: Float64Array.of(0.2, 0.02, 0.004),
    eigvec: Float64Array.of(0.58, 0.7, 0.4, 0.58, 0, -0.81, 0.58, -0.7, 0.42),
    unit: 255,
  };
  for (const o of [
    { batchSize: 4, inputSize: 8, shuffle: true, augment: true, seed: 4, mean: [100, 90, 80], scale: 0.01, lighting }, // 10×7 → 8: crop one axis, pad the other
    { batchSize: 4, inputSize: 6, shuffle: false, augment: false, seed: 0, mean: [1, 2, 3], tenCrop: true },
  ]) {
    const a = await collect(new BatchLoader(px, o).epoch(1)),
      b = await collect(new BatchLoader(noFast, o).epoch(1));
    assert.equal(
      a.map((x) => x.images),
      b.map((x) => x.images),
    );
  }
});

test('options are validated', () => {
  const ds = indexDataset(3, 1, 4, 4);
  assert.throws(
    () => new BatchLoader(ds, { ...base, batchSize: 0 }),
    (e: unknown) => e instanceof AlexnetError,
  );
  assert.throws(
    () => new BatchLoader(ds, { ...base, mean: [1, 2] }),
    (e: unknown) => e instanceof AlexnetError,
  );
  assert.throws(
    () => new BatchLoader(ds, { ...base, dropLast: true }),
    (e: unknown) => e instanceof AlexnetError,
  );
  assert.throws(
    () => new BatchLoader(ds, base).batchIndices(0, 1),
    (e: unknown) => e instanceof AlexnetError,
  );
});

test.run();
