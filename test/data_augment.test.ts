// Tests for augmentation: crop bounds and padding, mirrors, the ten test patches, the PCA of RGB pixels
// (orthonormal eigenvectors that reconstruct the covariance), the lighting shift, means and normalisation.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  applyLighting,
  centerCrop,
  channelMean,
  computePcaLighting,
  crop,
  flipHorizontal,
  lightingShift,
  normalize,
  randomCrop,
  RgbMoments,
  symmetricEigen3,
  tenCrops,
} from '../src/data/augment.js';
import { ArrayDataset } from '../src/data/dataset.js';
import { Rng } from '../src/util/rng.js';

/** C×H×W image whose value encodes its coordinates: c·1e6 + y·1000 + x. */
const coords = (c: number, h: number, w: number) =>
  Float32Array.from({ length: c * h * w }, (_, i) => {
    const x = i % w,
      y = Math.floor(i / w) % h,
      ch = Math.floor(i / (w * h));
    return ch * 1e6 + y * 1000 + x;
  });

test('random crops are windows inside the image and reach every offset', () => {
  const src = coords(2, 10, 12),
    out = new Float32Array(2 * 8 * 8),
    rng = new Rng(5);
  const ys = new Set<number>(),
    xs = new Set<number>();
  for (let t = 0; t < 300; t++) {
    const { y, x } = randomCrop(src, 2, 10, 12, 8, rng, out);
    assert.ok(y >= 0 && y <= 2 && x >= 0 && x <= 4);
    ys.add(y);
    xs.add(x);
    for (const [ch, r, c] of [
      [0, 0, 0],
      [1, 7, 7],
      [1, 3, 5],
    ])
      assert.is(out[(ch * 8 + r) * 8 + c], ch * 1e6 + (y + r) * 1000 + (x + c));
  }
  assert.is(ys.size, 3);
  assert.is(xs.size, 5);
});

test('centre crop, and zero padding when the image is smaller (28 → 32)', () => {
  const out = new Float32Array(36);
  centerCrop(coords(1, 10, 10), 1, 10, 10, 6, out);
  assert.is(out[0], 2 * 1000 + 2);
  const src = Float32Array.from({ length: 28 * 28 }, () => 1),
    pad = new Float32Array(32 * 32);
  centerCrop(src, 1, 28, 28, 32, pad);
  let sum = 0;
  for (let y = 0; y < 32; y++)
    for (let x = 0; x < 32; x++) {
      const inside = y >= 2 && y < 30 && x >= 2 && x < 30;
      assert.is(pad[y * 32 + x], inside ? 1 : 0, `${y},${x}`);
      sum += pad[y * 32 + x];
    }
  assert.is(sum, 784);
});

test('flip is a mirror, and a mirrored crop is the flip of the crop', () => {
  const src = coords(3, 5, 7),
    f = src.slice();
  flipHorizontal(f, 3, 5, 7);
  for (let ch = 0; ch < 3; ch++)
    for (let y = 0; y < 5; y++)
      for (let x = 0; x < 7; x++) assert.is(f[(ch * 5 + y) * 7 + x], src[(ch * 5 + y) * 7 + 6 - x]);
  flipHorizontal(f, 3, 5, 7);
  assert.equal(f, src);
  const a = new Float32Array(3 * 16),
    b = new Float32Array(3 * 16);
  for (const [y0, x0] of [
    [0, 0],
    [1, 3],
    [-1, -2],
    [3, 5],
  ]) {
    // includes windows hanging off the edges
    crop(src, 3, 5, 7, y0, x0, 4, a);
    crop(src, 3, 5, 7, y0, x0, 4, b, true);
    flipHorizontal(a, 3, 4, 4);
    assert.equal(a, b);
  }
});

test('ten crops: four corners, centre, then the mirror of each', () => {
  const h = 9,
    w = 11,
    s = 5,
    n = 2 * s * s;
  const out = tenCrops(coords(2, h, w), 2, h, w, s);
  assert.is(out.length, 10 * n);
  const starts = [
    [0, 0],
    [0, w - s],
    [h - s, 0],
    [h - s, w - s],
    [2, 3],
  ];
  starts.forEach(([y, x], k) => {
    assert.is(out[k * n], y * 1000 + x, `crop ${k} top-left`);
    assert.is(out[k * n + n - 1], 1e6 + (y + s - 1) * 1000 + x + s - 1, `crop ${k} bottom-right`);
    const m = out.slice(k * n, (k + 1) * n);
    flipHorizontal(m, 2, s, s);
    assert.equal(Array.from(out.subarray((k + 5) * n, (k + 6) * n)), Array.from(m), `mirror ${k}`);
  });
});

/** A pixel dataset with correlated RGB channels. */
function rgbDataset(n: number, seed: number): ArrayDataset {
  const rng = new Rng(seed),
    hw = 16 * 16;
  const px = new Uint8Array(n * hw * 3);
  for (let p = 0; p < n * hw; p++) {
    const a = rng.next() * 150,
      b = rng.normal() * 20,
      c = rng.normal() * 8;
    px[3 * p] = Math.max(0, Math.min(255, 40 + a + b));
    px[3 * p + 1] = Math.max(0, Math.min(255, 50 + 0.8 * a - b + c));
    px[3 * p + 2] = Math.max(0, Math.min(255, 30 + 0.5 * a + c));
  }
  return new ArrayDataset({ name: 'rgb', images: px, shape: [n, 3, 16, 16], labels: new Int32Array(n) });
}

test('PCA: orthonormal eigenvectors, descending eigenvalues, V·diag(λ)·Vᵀ = covariance', async () => {
  const ds = rgbDataset(40, 1);
  const pca = await computePcaLighting(ds);
  assert.is(pca.unit, 255);
  // Independent covariance of the whole set on the [0,1] scale.
  const mom = new RgbMoments(),
    img = new Float32Array(3 * 256);
  for (let i = 0; i < ds.length; i++) {
    ds.get(i, img);
    mom.add(img, 256, 255);
  }
  const cov = mom.covariance(),
    V = pca.eigvec,
    L = pca.eigval;
  assert.ok(L[0] >= L[1] && L[1] >= L[2] && L[2] >= 0);
  for (let i = 0; i < 3; i++)
    for (let j = 0; j < 3; j++) {
      let dot = 0,
        rec = 0;
      for (let r = 0; r < 3; r++) dot += V[r * 3 + i] * V[r * 3 + j];
      for (let k = 0; k < 3; k++) rec += V[i * 3 + k] * L[k] * V[j * 3 + k];
      assert.ok(Math.abs(dot - (i === j ? 1 : 0)) < 1e-12, `VᵀV[${i}][${j}] = ${dot}`);
      assert.ok(Math.abs(rec - cov[i * 3 + j]) < 1e-12, `cov[${i}][${j}]: ${rec} vs ${cov[i * 3 + j]}`);
    }
  // Already-diagonal and degenerate matrices.
  assert.equal(Array.from(symmetricEigen3([1, 0, 0, 0, 3, 0, 0, 0, 2]).values), [3, 2, 1]);
  assert.equal(Array.from(symmetricEigen3([2, 0, 0, 0, 2, 0, 0, 0, 2]).values), [2, 2, 2]);
});

test('lighting adds [p1 p2 p3][α1λ1 α2λ2 α3λ3]ᵀ·unit to every pixel; 1-channel images are untouched', () => {
  const pca = {
    eigval: Float64Array.of(0.2, 0.02, 0.004),
    eigvec: symmetricEigen3([2, 1, 0, 1, 3, 1, 0, 1, 4]).vectors,
    unit: 255,
  };
  const img = Float32Array.from({ length: 3 * 64 }, (_, i) => i % 200),
    before = img.slice();
  const shift = applyLighting(img, 3, 8, 8, pca, new Rng(11))!;
  // Same draws by hand: αi = N(0, 0.1) in the order i = 0, 1, 2.
  const r = new Rng(11),
    a = [0, 1, 2].map((i) => r.normal() * 0.1 * pca.eigval[i]);
  for (let ch = 0; ch < 3; ch++) {
    const want = 255 * (pca.eigvec[ch * 3] * a[0] + pca.eigvec[ch * 3 + 1] * a[1] + pca.eigvec[ch * 3 + 2] * a[2]);
    assert.ok(Math.abs(shift[ch] - want) < 1e-9);
    let d = 0;
    for (let p = 0; p < 64; p++) d += img[ch * 64 + p] - before[ch * 64 + p];
    assert.ok(Math.abs(d / 64 - want) < 1e-3, `channel ${ch} mean moved ${d / 64}, want ${want}`);
  }
  // Over many images the shift averages to 0 with the variance Σ (p_ri σ λ_i unit)².
  const rr = new Rng(3);
  let s = 0,
    s2 = 0;
  for (let t = 0; t < 4000; t++) {
    const v = lightingShift(pca, rr)[0];
    s += v;
    s2 += v * v;
  }
  const varWant = [0, 1, 2].reduce((acc, i) => acc + (pca.eigvec[i] * 0.1 * pca.eigval[i] * 255) ** 2, 0);
  assert.ok(Math.abs(s / 4000) < 0.1 * Math.sqrt(varWant) + 1e-9);
  assert.ok(Math.abs(s2 / 4000 / varWant - 1) < 0.1, `variance ratio ${s2 / 4000 / varWant}`);
  const grey = Float32Array.of(1, 2, 3, 4),
    g0 = grey.slice();
  assert.is(applyLighting(grey, 1, 2, 2, pca, new Rng(1)), undefined);
  assert.equal(grey, g0);
});

test('channel mean and normalisation', async () => {
  const ds = rgbDataset(6, 2);
  const mean = await channelMean(ds);
  const img = new Float32Array(768),
    sums = [0, 0, 0];
  for (let i = 0; i < 6; i++) {
    ds.get(i, img);
    for (let p = 0; p < 768; p++) sums[Math.floor(p / 256)] += img[p];
  }
  for (let c = 0; c < 3; c++) assert.ok(Math.abs(mean[c] - sums[c] / (6 * 256)) < 1e-3);
  const x = Float32Array.of(10, 20, 30, 40);
  normalize(x, 2, 2, [10, 20], 0.5, [1, 2]); // (x + shift) · scale − mean
  assert.equal(Array.from(x), [-4.5, 0.5, -4, 1]);
});

test.run();
