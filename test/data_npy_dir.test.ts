// Tests for .npy dataset directories: float32 NCHW and uint8 NHWC images, any integer label dtype,
// shared class count, validation errors naming the file, and file-backed reads of large arrays.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadNpyDir } from '../src/node/data/npy_dir.js';
import { encodeNpy } from '../src/formats/npy.js';
import { writeNpy } from '../src/node/files/npy.js';
import { FormatError } from '../src/errors.js';

const tmp = mkdtempSync(join(tmpdir(), 'npydir-test-'));
let n = 0;
const fresh = () => {
  const d = join(tmp, `d${n++}`);
  mkdirSync(d);
  return d;
};
/** int64 labels as numpy writes them by default. */
function i8Labels(vals: number[]): Uint8Array {
  const enc = encodeNpy(Int32Array.from(vals), [vals.length]);
  const body = new Uint8Array(vals.length * 8);
  const v = new DataView(body.buffer);
  vals.forEach((x, i) => v.setBigInt64(8 * i, BigInt(x), true));
  const head = new TextDecoder('latin1')
    .decode(enc.subarray(10, 10 + new DataView(enc.buffer).getUint16(8, true)))
    .replace('<i4', '<i8');
  const out = new Uint8Array(10 + head.length + body.length);
  out.set(enc.subarray(0, 10));
  for (let i = 0; i < head.length; i++) out[10 + i] = head.charCodeAt(i);
  out.set(body, 10 + head.length);
  return out;
}

test('float32 N×C×H×W with int64 labels, train and val share the class count', async () => {
  const d = fresh();
  const imgs = Float32Array.from({ length: 4 * 2 * 3 * 3 }, (_, i) => i / 7);
  await writeNpy(join(d, 'train_images.npy'), imgs, [4, 2, 3, 3]);
  writeFileSync(join(d, 'train_labels.npy'), i8Labels([0, 1, 1, 2]));
  await writeNpy(join(d, 'val_images.npy'), imgs.subarray(0, 18), [1, 2, 3, 3]);
  await writeNpy(join(d, 'val_labels.npy'), Uint8Array.of(4), [1]);
  const { train, val } = await loadNpyDir(d);
  assert.equal([train.length, train.channels, train.height, train.width, train.pixels], [4, 2, 3, 3, false]);
  assert.is(train.classes, 5);
  assert.is(val!.classes, 5);
  const out = new Float32Array(18);
  await train.get(3, out);
  assert.equal(Array.from(out), Array.from(imgs.subarray(54, 72)));
});

test('uint8 N×H×W×C pixels, in memory and file-backed, give the same CHW samples', async () => {
  const d = fresh();
  const px = Uint8Array.from({ length: 5 * 4 * 6 * 3 }, (_, i) => (i * 13) & 255);
  await writeNpy(join(d, 'train_images.npy'), px, [5, 4, 6, 3]);
  await writeNpy(join(d, 'train_labels.npy'), Int32Array.of(0, 1, 0, 1, 0), [5]);
  const splits = await loadNpyDir(d);
  assert.is(splits.val, undefined);
  const mem = splits.train,
    file = (await loadNpyDir(d, { inMemoryLimit: 0 })).train;
  assert.ok(mem.pixels && file.pixels);
  const a = new Float32Array(72),
    b = new Float32Array(72);
  for (let i = 0; i < 5; i++) {
    await mem.get(i, a);
    await file.get(i, b);
    assert.equal(Array.from(a), Array.from(b));
    // channel c, row y, column x of sample i
    assert.is(a[2 * 24 + 1 * 6 + 5], px[i * 72 + (1 * 6 + 5) * 3 + 2]);
  }
  await file.close?.();
});

test('validation errors name the offending file', async () => {
  const cases: Array<[string, (d: string) => Promise<void>, RegExp]> = [
    [
      'negative label',
      (d) => writeNpy(join(d, 'train_labels.npy'), Int32Array.of(0, -1), [2]),
      /train_labels\.npy: label -1 at index 1/,
    ],
    [
      'count mismatch',
      (d) => writeNpy(join(d, 'train_labels.npy'), Int32Array.of(0, 1, 2), [3]),
      /train_labels\.npy: 3 labels for 2 images/,
    ],
    [
      'float labels',
      (d) => writeNpy(join(d, 'train_labels.npy'), Float32Array.of(0, 1), [2]),
      /train_labels\.npy: labels must be integers/,
    ],
    [
      '2-D labels',
      (d) => writeNpy(join(d, 'train_labels.npy'), Int32Array.of(0, 1), [2, 1]),
      /train_labels\.npy: labels must be 1-D/,
    ],
    ['missing labels', async () => {}, /missing .*train_labels\.npy/],
    [
      'uint8 NCHW',
      async (d) => {
        await writeNpy(join(d, 'train_images.npy'), new Uint8Array(2 * 3 * 8 * 8), [2, 3, 8, 8]);
        await writeNpy(join(d, 'train_labels.npy'), Int32Array.of(0, 1), [2]);
      },
      /train_images\.npy: .*looks like N×C×H×W/,
    ],
    [
      'val shape differs',
      async (d) => {
        await writeNpy(join(d, 'train_labels.npy'), Int32Array.of(0, 1), [2]);
        await writeNpy(join(d, 'val_images.npy'), new Float32Array(9), [1, 1, 3, 3]);
        await writeNpy(join(d, 'val_labels.npy'), Int32Array.of(0), [1]);
      },
      /do not match train images/,
    ],
  ];
  for (const [what, setup, re] of cases) {
    const d = fresh();
    await writeNpy(join(d, 'train_images.npy'), new Float32Array(2 * 4), [2, 1, 2, 2]);
    await setup(d);
    await loadNpyDir(d).then(
      () => assert.unreachable(what),
      (e) => assert.ok(e instanceof FormatError && re.test(e.message), `${what}: ${e}`),
    );
  }
});

test.after(() => rmSync(tmp, { recursive: true, force: true }));
test.run();
