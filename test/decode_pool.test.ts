// Tests for DecodePool: worker threads must give exactly this thread's decodeImage() pixels (files and
// encoded bytes), name a corrupt file, survive a worker that dies, count their work, leave the
// loader's batches bit for bit unchanged, and never hold the process open at exit.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { decodeImage } from '../src/node/data/decode.js';
import { DecodePool } from '../src/node/data/decode_pool.js';
import { openImageFolder } from '../src/node/data/image_folder.js';
import { BatchLoader } from '../src/data/loader.js';
import { FormatError } from '../src/errors.js';
import { train } from '../src/node/train/trainer.js';
import { options } from './fixtures/faults.js';
import { disposeGpu, fails, gpu } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'decode-pool-test-'));
const root = join(tmp, 'root');
const files: string[] = [];

/** A smooth colour ramp with a little noise: decodes like a photo, not like a flat fill. */
const picture = (w: number, h: number, seed: number) => {
  const px = Buffer.alloc(w * h * 3);
  for (let i = 0, s = seed; i < w * h; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    const x = i % w,
      y = Math.floor(i / w);
    px[3 * i] = (x * 255) / w;
    px[3 * i + 1] = (y * 255) / h;
    px[3 * i + 2] = (s >>> 24) & 0x7f;
  }
  return sharp(px, { raw: { width: w, height: h, channels: 3 } });
};

test.before(async () => {
  const sizes: Array<[number, number]> = [
    [300, 211],
    [190, 260],
    [513, 257],
    [256, 256],
    [97, 131],
  ];
  for (const cls of ['a', 'b']) mkdirSync(join(root, 'train', cls), { recursive: true });
  for (const [k, [w, h]] of sizes.entries()) {
    const f = join(root, 'train', k % 2 ? 'b' : 'a', `${k}.${k === 2 ? 'png' : 'jpg'}`);
    await (k === 2 ? picture(w, h, k).png() : picture(w, h, k).jpeg({ quality: 90 })).toFile(f);
    files.push(f);
  }
});
test.after(() => {
  disposeGpu();
  rmSync(tmp, { recursive: true, force: true });
});

test('workers give this thread’s pixels exactly, from files and from encoded bytes', async () => {
  const pool = new DecodePool(2);
  try {
    for (const f of files) {
      const [here, there] = await Promise.all([decodeImage(f, 256), pool.decode(f, 256)]);
      assert.is(there.length, 256 * 256 * 3);
      assert.ok(Buffer.compare(Buffer.from(here), Buffer.from(there)) === 0, f);
      const bytes = await pool.decode(new Uint8Array(readFileSync(f)), 64, undefined, 'bilinear');
      assert.ok(Buffer.compare(Buffer.from(await decodeImage(f, 64, undefined, 'bilinear')), Buffer.from(bytes)) === 0);
    }
    // the control: another file's pixels differ, so the comparison above can fail
    const a = await pool.decode(files[0], 32),
      b = await pool.decode(files[1], 32);
    assert.ok(fails(() => assert.equal(a, b)));
    const s = pool.stats();
    assert.is(s.workers, 2);
    assert.is(s.images, 2 * files.length + 2);
    assert.ok(s.busyMs > 0 && s.busyMs <= 2 * s.wallMs, `busy ${s.busyMs} ms over ${s.wallMs} ms`);
  } finally {
    await pool.close();
  }
});

test('a corrupt file is a FormatError naming it; the pool goes on', async () => {
  const bad = join(tmp, 'bad.jpg');
  writeFileSync(bad, Buffer.from('not a jpeg'));
  const pool = new DecodePool(1);
  try {
    const e = await pool.decode(bad, 256).catch((x) => x);
    assert.instance(e, FormatError);
    assert.match(e.message, /bad\.jpg/);
    assert.is((await pool.decode(files[0], 256)).length, 256 * 256 * 3);
  } finally {
    await pool.close();
  }
  assert.match(String(await pool.decode(files[0], 256).catch((x) => x)), /closed/);
});

test('a worker that dies fails its own job, naming the file, and is replaced', async () => {
  const big = join(tmp, 'big.jpg'); // a decode long enough to be in flight when its worker is killed
  await picture(3000, 2400, 9).jpeg().toFile(big);
  const pool = new DecodePool(1);
  try {
    await pool.decode(files[0], 256); // the thread starts at the first decode
    const pending = pool.decode(big, 256);
    // the worker holding the job, killed from outside (as a native crash would end it)
    const slots = (pool as unknown as { slots: Array<{ worker: { terminate(): Promise<number> } }> }).slots;
    await slots[0].worker.terminate();
    const e = await pending.then(
      () => new Error('the job survived its worker'),
      (x) => x,
    );
    assert.instance(e, FormatError);
    assert.match(e.message, /big\.jpg: the decoding worker stopped/);
    assert.is((await pool.decode(files[0], 256)).length, 256 * 256 * 3);
  } finally {
    await pool.close();
  }
});

test('batches through the pool equal batches decoded on this thread, bit for bit', async () => {
  const pool = new DecodePool(2);
  try {
    const here = (await openImageFolder(root)).train;
    const there = (await openImageFolder(root, { decode: pool.decode })).train;
    const opts = { batchSize: 3, inputSize: 224, shuffle: true, augment: true, seed: 7 };
    const a = [],
      b = [];
    for await (const x of new BatchLoader(here, opts).epoch(1)) a.push(x.images!);
    for await (const x of new BatchLoader(there, opts).epoch(1)) b.push(x.images!);
    assert.is(a.length, 2);
    for (let k = 0; k < a.length; k++)
      assert.ok(Buffer.compare(Buffer.from(a[k].buffer), Buffer.from(b[k].buffer)) === 0);
  } finally {
    await pool.close();
  }
});

test('training on an ImageFolder: workers and the main thread give the same run; --verbose reports the loader', async () => {
  const e = await gpu();
  const run = async (workers: number, verbose: boolean) => {
    const lines: string[] = [];
    const out = join(tmp, `run-w${workers}`);
    await train(
      options(root, out, { batchSize: 2, steps: 4, epochs: 2, inputSize: 64, logEvery: 2, workers, verbose }),
      { log: (l) => lines.push(l), warn: () => {}, engine: e },
    );
    const metrics = readFileSync(join(out, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    return { lines, losses: metrics.filter((m) => m.kind === 'step').map((m) => m.loss) };
  };
  const [a, b] = [await run(0, false), await run(1, true)];
  assert.is(a.losses.length, 2);
  assert.equal(a.losses, b.losses); // bit for bit: a decode's result does not depend on where it ran
  const progress = b.lines.filter((l) => l.startsWith('epoch '));
  assert.ok(progress.length === 2 && progress.every((l) => /loader \d+ img\/s/.test(l)), progress.join('\n'));
  assert.match(progress.join('\n'), /decoding \d+% of 1 thread\(s\)/);
  assert.not.match(a.lines.join('\n'), /loader/);
});

test('a pool left open does not hold the process at exit', () => {
  const r = spawnSync(process.execPath, ['build/test/fixtures/decode_pool_exit.js', files[0]], {
    timeout: 20000,
    encoding: 'utf8',
  });
  assert.is(r.signal, null, 'the process had to be killed: the pool held it open');
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /decoded 196608 bytes/);
});

test.run();
