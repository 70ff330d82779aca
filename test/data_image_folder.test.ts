// Tests for ImageFolder: a tiny tree of PNG/JPEG images of odd sizes (one corrupt, one truncated, one
// symlink leaving the root) must give 3×256×256 pixel samples, skip counts, single warnings and EXIF rotation.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { openImageFolder, type ImageFolderDataset } from '../src/node/data/image_folder.js';
import { BatchLoader } from '../src/data/loader.js';
import { FormatError } from '../src/errors.js';

const tmp = mkdtempSync(join(tmpdir(), 'imgfolder-test-'));
const root = join(tmp, 'root');

/** Solid-colour image, optionally split left/right into two colours. */
const image = (w: number, h: number, left: number[], right = left, channels: 3 | 4 = 3) => {
  const px = Buffer.alloc(w * h * channels);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const c = x < w / 2 ? left : right;
      for (let k = 0; k < channels; k++) px[(y * w + x) * channels + k] = k < 3 ? c[k] : 255;
    }
  return sharp(px, { raw: { width: w, height: h, channels } });
};

test.before(async () => {
  for (const d of ['train/cat', 'train/dog', 'val/cat', 'val/dog']) mkdirSync(join(root, d), { recursive: true });
  await image(300, 200, [200, 10, 10]).png().toFile(join(root, 'train/cat/a.png'));
  await image(257, 513, [10, 200, 10]).jpeg().toFile(join(root, 'train/cat/b.jpg'));
  await image(100, 50, [10, 10, 200], undefined, 4).png().toFile(join(root, 'train/cat/c.png')); // RGBA, upscaled
  await image(64, 48, [120, 120, 120]).greyscale().jpeg().toFile(join(root, 'train/dog/d.jpg'));
  // Stored left red / right blue with EXIF orientation 6 (rotate 90° clockwise to display): top red, bottom blue.
  await image(300, 200, [255, 0, 0], [0, 0, 255])
    .jpeg({ quality: 95 })
    .withMetadata({ orientation: 6 })
    .toFile(join(root, 'train/dog/e.jpg'));
  writeFileSync(join(root, 'train/dog/bad.jpg'), Buffer.from('this is not an image at all'));
  const full = await image(320, 240, [30, 60, 90]).jpeg().toBuffer();
  writeFileSync(join(root, 'train/dog/trunc.jpg'), full.subarray(0, full.length >> 1)); // header fine, data cut
  await image(40, 40, [1, 2, 3]).png().toFile(join(tmp, 'outside.png'));
  symlinkSync(join(tmp, 'outside.png'), join(root, 'train/cat/link.png'));
  await image(260, 260, [50, 50, 50]).png().toFile(join(root, 'val/cat/v.png'));
  await image(270, 280, [90, 90, 90]).webp().toFile(join(root, 'val/dog/w.webp'));
  writeFileSync(join(root, 'train/cat/notes.txt'), 'ignored: not an image extension');
});
test.after(() => rmSync(tmp, { recursive: true, force: true }));

test('layout, classes, skip counts and a single warning at open', async () => {
  const warnings: string[] = [];
  const { train, val } = await openImageFolder(root, { warn: (m) => warnings.push(m) });
  assert.equal(train.classNames, ['cat', 'dog']);
  assert.equal([train.channels, train.height, train.width, train.pixels, train.classes], [3, 256, 256, true, 2]);
  assert.is(train.length, 6); // a, b, c, d, e, trunc — bad.jpg and the outside link are skipped
  assert.equal(Array.from(train.labels), [0, 0, 0, 1, 1, 1]);
  assert.is(val!.length, 2);
  assert.equal(Array.from(val!.labels), [0, 1]);
  assert.is(warnings.length, 1);
  assert.match(warnings[0], /1 unreadable image\(s\) and 1 path\(s\) resolving outside the root/);
  assert.match(warnings[0], /bad\.jpg/);
  assert.match(warnings[0], /link\.png/);
});

test('samples are 3×256×256 pixels with the expected colours; EXIF orientation is applied', async () => {
  const { train } = await openImageFolder(root, { warn: () => {} });
  const img = new Float32Array(3 * 256 * 256),
    P = 256 * 256;
  const at = (ch: number, y: number, x: number) => img[ch * P + y * 256 + x];
  await train.get(0, img); // a.png: red
  assert.ok(img.every((v) => v >= 0 && v <= 255 && Number.isInteger(v)));
  assert.ok(at(0, 128, 128) > 190 && at(1, 128, 128) < 25);
  await train.get(2, img); // c.png: RGBA → RGB blue
  assert.ok(at(2, 10, 10) > 190 && at(0, 10, 10) < 25);
  await train.get(3, img); // d.jpg: greyscale → three equal channels
  assert.ok(Math.abs(at(0, 50, 50) - 120) < 4 && at(0, 50, 50) === at(1, 50, 50) && at(1, 50, 50) === at(2, 50, 50));
  await train.get(4, img); // e.jpg, orientation 6
  assert.ok(at(0, 20, 128) > 200 && at(2, 20, 128) < 60, `top should be red: ${at(0, 20, 128)},${at(2, 20, 128)}`);
  assert.ok(
    at(2, 235, 128) > 200 && at(0, 235, 128) < 60,
    `bottom should be blue: ${at(0, 235, 128)},${at(2, 235, 128)}`,
  );
});

test('a file failing to decode mid-epoch is replaced by the next same-class image, counted and warned once', async () => {
  const warnings: string[] = [];
  const { train } = await openImageFolder(root, { warn: (m) => warnings.push(m) });
  const ds = train as ImageFolderDataset;
  const P = 3 * 256 * 256,
    trunc = new Float32Array(P),
    sub = new Float32Array(P);
  await ds.get(5, trunc); // trunc.jpg → wraps to d.jpg, the first dog
  await ds.get(3, sub);
  assert.equal(trunc, sub);
  await ds.get(5, trunc);
  assert.is(ds.decodeFailures, 1);
  assert.is(warnings.length, 2); // the open summary + one decode warning
  assert.match(warnings[1], /trunc\.jpg failed to decode/);
});

test('a BatchLoader over the folder gives augmented 224 crops, reproducibly', async () => {
  const { train } = await openImageFolder(root, { warn: () => {} });
  const opts = { batchSize: 4, inputSize: 224, shuffle: true, augment: true, seed: 3, mean: [120, 120, 120] };
  const first = async () => {
    for await (const b of new BatchLoader(train, opts).epoch(0)) return b;
    throw new Error('no batch');
  };
  const a = await first(),
    b = await first();
  assert.is(a.images!.length, 4 * 3 * 224 * 224);
  assert.equal(a.images!, b.images!);
  assert.ok(a.images!.every((v) => v >= -120 && v <= 135));
});

test('cache off and full verification behave the same; bad roots are FormatErrors', async () => {
  const warnings: string[] = [];
  const { train } = await openImageFolder(root, { warn: (m) => warnings.push(m), verify: 'full', cacheBytes: 0 });
  assert.is(train.length, 5); // 'full' also catches the truncated JPEG at open
  assert.match(warnings[0], /2 unreadable/);
  await openImageFolder(join(tmp, 'nope')).then(
    () => assert.unreachable(),
    (e) => assert.ok(e instanceof FormatError),
  );
  mkdirSync(join(tmp, 'empty/train'), { recursive: true });
  await openImageFolder(join(tmp, 'empty')).then(
    () => assert.unreachable(),
    (e) => assert.ok(e instanceof FormatError && /no class folders/.test(e.message)),
  );
  mkdirSync(join(tmp, 'stray/train/a'), { recursive: true });
  mkdirSync(join(tmp, 'stray/val/zebra'), { recursive: true });
  writeFileSync(join(tmp, 'stray/train/a/x.png'), readFileSync(join(root, 'train/cat/a.png')));
  await openImageFolder(join(tmp, 'stray')).then(
    () => assert.unreachable(),
    (e) => assert.ok(e instanceof FormatError && /'zebra' is not a train class/.test(e.message)),
  );
});

test.run();
