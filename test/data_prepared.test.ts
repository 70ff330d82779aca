// Tests for `prepare` and the prepared format: a small ImageFolder (odd sizes, a PNG, a val split, a
// garbage and a truncated JPEG) prepared raw must read back byte for byte as ImageFolderDataset's
// pixels, JPEG closely and smaller; reruns keep intact shards and rebuild the rest; damaged folders are
// FormatErrors; a BatchLoader sees the same batches; the CLI runs end to end.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { openImageFolder } from '../src/node/data/image_folder.js';
import { prepareDataset, type PrepareOptions } from '../src/node/data/prepare.js';
import { openPrepared, PreparedDataset, type PreparedIndex } from '../src/node/data/prepared.js';
import { openData } from '../src/node/data/source.js';
import { nodeFs, CheckpointWriteError, type AtomicFs } from '../src/node/files/atomic.js';
import { BatchLoader } from '../src/data/loader.js';
import type { DataSplits, Dataset } from '../src/data/dataset.js';
import { FormatError } from '../src/errors.js';
import { cli } from '../src/cli/main.js';
import { fails } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'prepared-test-'));
const root = join(tmp, 'root');
const outRaw = join(tmp, 'raw'),
  outJpeg = join(tmp, 'jpeg');
const PX = 256 * 256 * 3;

/** A textured w×h image (smooth waves plus a checker), different for every seed, so crops and codecs show. */
const image = (w: number, h: number, seed: number) => {
  const px = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let k = 0; k < 3; k++) {
        const v = 128 + 90 * Math.sin((x * (k + 1) + seed * 7) / (9 + seed)) * Math.cos((y + 13 * k) / (7 + k + seed));
        px[(y * w + x) * 3 + k] = v + (((x >> 4) + (y >> 4)) % 2 ? 20 : 0);
      }
  return sharp(px, { raw: { width: w, height: h, channels: 3 } });
};

const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && Buffer.compare(a, b) === 0;
const readIndex = (dir: string): PreparedIndex => JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
const quiet: Pick<PrepareOptions, 'warn'> = { warn: () => {} };
const shut = (d: DataSplits) => Promise.all([d.train.close?.(), d.val?.close?.()]);

test.before(async () => {
  for (const d of ['train/cat', 'train/dog', 'train/fox', 'val/cat', 'val/dog', 'val/fox'])
    mkdirSync(join(root, d), { recursive: true });
  const files: Array<[string, number, number, 'png' | 'jpeg']> = [
    ['train/cat/a.png', 300, 211, 'png'],
    ['train/cat/b.jpg', 190, 260, 'jpeg'],
    ['train/cat/c.jpg', 257, 300, 'jpeg'],
    ['train/dog/d.jpg', 300, 211, 'jpeg'],
    ['train/dog/e.png', 190, 260, 'png'],
    ['train/fox/f.jpg', 220, 220, 'jpeg'],
    ['train/fox/g.jpg', 400, 301, 'jpeg'],
    ['val/cat/v1.jpg', 280, 256, 'jpeg'],
    ['val/dog/v2.png', 256, 290, 'png'],
    ['val/fox/v3.jpg', 311, 260, 'jpeg'],
  ];
  for (const [i, [f, w, h, fmt]] of files.entries())
    await image(w, h, i + 1)
      [fmt]()
      .toFile(join(root, f));
  writeFileSync(join(root, 'train/dog/bad.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0xe0, ...Buffer.from('not a JPEG')]));
  const full = await image(320, 240, 99).jpeg().toBuffer();
  writeFileSync(join(root, 'train/dog/trunc.jpg'), full.subarray(0, full.length >> 1)); // header fine, data cut
  await prepareDataset(root, outRaw, quiet);
  await prepareDataset(root, outJpeg, { ...quiet, encoding: 'jpeg', quality: 90 });
});
test.after(() => rmSync(tmp, { recursive: true, force: true }));

test('raw: pixels, labels and class names equal the ImageFolder; index.json well formed; corrupt files skipped', async () => {
  const warnings: string[] = [];
  await prepareDataset(root, join(tmp, 'raw2'), { warn: (m) => warnings.push(m) });
  // 'full' verification decodes at open, so the reference skips the same two files the preparation does
  const ref = await openImageFolder(root, { verify: 'full', warn: () => {} });
  const got = await openPrepared(outRaw);
  for (const split of ['train', 'val'] as const) {
    const r = ref[split]!,
      p = got[split]!;
    assert.is(p.length, r.length, split);
    assert.equal(p.classNames, r.classNames);
    assert.equal(Array.from(p.labels), Array.from(r.labels), `${split} labels`);
    assert.equal([p.channels, p.height, p.width, p.pixels, p.classes], [3, 256, 256, true, 3]);
    for (let i = 0; i < r.length; i++)
      assert.ok(same(await p.getPixels!(i), await r.getPixels!(i)), `${split} image ${i} differs`);
  }
  assert.is(got.train.length, 7);
  const [px0, px1] = [await got.train.getPixels!(0), await got.train.getPixels!(1)];
  assert.ok(!same(px0, px1) && fails(() => assert.ok(same(px0, px1)))); // the comparison can fail
  const chw = new Float32Array(PX);
  await got.train.get(1, chw);
  assert.ok([0, 1, 2].every((c) => chw[c * 65536 + 300] === px1[300 * 3 + c]));
  const index = readIndex(outRaw);
  assert.equal(
    [index.format, index.version, index.encoding, index.quality, index.size, index.channels],
    ['alexnet-wgsl-prepared', 1, 'raw', undefined, 256, 3],
  );
  assert.equal(index.classNames, ['cat', 'dog', 'fox']);
  const sh = index.splits.train.shards;
  assert.equal([sh.length, sh[0].file, sh[0].images, sh[0].bytes], [1, 'train-00000.shard', 7, 7 * PX]);
  const bytes = readFileSync(join(outRaw, sh[0].file));
  assert.is(createHash('sha256').update(bytes).digest('hex'), sh[0].sha256);
  assert.is(statSync(join(outRaw, 'train.records')).size, 16 * 7);
  assert.equal(index.splits.val?.images, 3);
  assert.equal(
    index.skipped.map((s) => s.file),
    ['train/dog/bad.jpg', 'train/dog/trunc.jpg'],
  );
  assert.ok(index.skipped.every((s) => s.reason.length > 0));
  assert.is(warnings.length, 1);
  assert.match(warnings[0], /skipped 2 image\(s\) that failed to decode.*bad\.jpg/);
  await shut(got);
});

test('decode failures from an injected decoder are skipped, listed, and nothing crashes', async () => {
  const warnings: string[] = [];
  const out = join(tmp, 'injected');
  const { decodeImage } = await import('../src/node/data/decode.js');
  const stats = await prepareDataset(root, out, {
    warn: (m) => warnings.push(m),
    concurrency: 3,
    decode: async (f) => {
      if (f.endsWith('a.png')) throw new Error('injected failure');
      if (f.endsWith('g.jpg')) return new Uint8Array(10);
      return decodeImage(f);
    },
  });
  const idx = readIndex(out);
  const sk = Object.fromEntries(idx.skipped.map((s) => [s.file, s.reason]));
  assert.is(sk['train/cat/a.png'], 'injected failure');
  assert.match(sk['train/fox/g.jpg'], /decoded to 10 bytes/);
  assert.is(idx.splits.train.images, 5);
  assert.is(stats.skipped.length, 4);
  assert.is(warnings.length, 1);
  const { train } = await openPrepared(out);
  assert.equal(Array.from(train.labels), [0, 0, 1, 1, 2]); // b c | d e | f
  await train.close?.();
});

test('jpeg q90: close to the raw pixels and much smaller', async () => {
  const raw = await openPrepared(outRaw),
    jpg = await openPrepared(outJpeg);
  assert.is(readIndex(outJpeg).quality, 90);
  let sum = 0,
    n = 0;
  for (const split of ['train', 'val'] as const)
    for (let i = 0; i < raw[split]!.length; i++) {
      const a = await raw[split]!.getPixels!(i),
        b = await jpg[split]!.getPixels!(i);
      assert.is(b.length, PX);
      for (let k = 0; k < PX; k++) sum += Math.abs(a[k] - b[k]);
      n += PX;
    }
  const mad = sum / n;
  const size = (d: string) => readIndex(d).splits.train.shards.reduce((s, sh) => s + sh.bytes, 0);
  console.log(`  jpeg q90: mean |Δ| ${mad.toFixed(3)}; train shards ${size(outRaw)} B raw, ${size(outJpeg)} B jpeg`);
  assert.ok(mad > 0 && mad < 3 * 1.55, `mean absolute difference ${mad}`); // measured 1.55
  assert.ok(size(outJpeg) < size(outRaw) / 4);
  const chw = new Float32Array(PX);
  await jpg.train.get(0, chw); // get() goes through the decode too
  assert.ok(chw.some((v) => v > 0));
  await Promise.all([shut(raw), shut(jpg)]);
});

/** Every file of two folders, byte for byte. */
/**
 * The two folders hold the same files with the same bytes; in the JSON files the reasons a file was
 * skipped are left out, because libvips words a failure from a process-wide error buffer that
 * concurrent decodes share, so the wording (not which files fail) can vary from run to run.
 */
function sameFolders(a: string, b: string): void {
  const names = readdirSync(a).sort();
  assert.equal(names, readdirSync(b).sort());
  const read = (dir: string, n: string) => {
    const bytes = readFileSync(join(dir, n));
    if (!n.endsWith('.json')) return bytes;
    const j = JSON.parse(bytes.toString('utf8'));
    j.skipped = j.skipped?.map((x: { file: string }) => x.file);
    return Buffer.from(JSON.stringify(j));
  };
  for (const n of names) assert.ok(same(read(a, n), read(b, n)), `${n} differs`);
}

test('resume: only the missing and damaged shards are rebuilt; the result equals a fresh preparation', async () => {
  const out = join(tmp, 'resume'),
    fresh = join(tmp, 'fresh');
  const opts = { ...quiet, shardImages: 2 };
  const first = await prepareDataset(root, out, opts);
  assert.equal(
    first.written,
    [...['train-00000', 'train-00001', 'train-00002', 'train-00003', 'train-00004'], ...['val-00000', 'val-00001']].map(
      (s) => `${s}.shard`,
    ),
  );
  assert.is(first.reused.length, 0);
  unlinkSync(join(out, 'index.json'));
  unlinkSync(join(out, 'train-00001.shard'));
  const damaged = join(out, 'val-00000.shard');
  const b = readFileSync(damaged);
  b[100] ^= 1;
  writeFileSync(damaged, b);
  const again = await prepareDataset(root, out, opts);
  assert.equal(again.written, ['train-00001.shard', 'val-00000.shard']);
  assert.is(again.reused.length, 5);
  await prepareDataset(root, fresh, opts);
  sameFolders(out, fresh);
  assert.ok(fails(() => sameFolders(out, outRaw))); // a different preparation does differ
  const t = new Date(Date.now() + 5000);
  utimesSync(join(root, 'train/fox/g.jpg'), t, t); // g.jpg is alone in train-00004
  const touched = await prepareDataset(root, out, opts);
  assert.equal(touched.written, ['train-00004.shard']);
  const jpeg = await prepareDataset(root, out, { ...opts, encoding: 'jpeg' });
  assert.is(jpeg.reused.length, 0); // a different encoding fingerprints differently
  await prepareDataset(root, out, quiet); // one shard per split now: the smaller shards' files are removed
  assert.equal(
    readdirSync(out)
      .filter((f) => f.includes('.shard'))
      .sort(),
    [...['train-00000.shard', 'train-00000.shard.json', 'val-00000.shard', 'val-00000.shard.json']],
  );
});

test('resume after a failed write: no index.json, and the rerun keeps the shards already written', async () => {
  const out = join(tmp, 'crash');
  let renames = 0;
  const failing: AtomicFs = {
    ...nodeFs,
    rename: async (from, to) => {
      if (++renames === 5) throw Object.assign(new Error('ENOSPC: simulated'), { code: 'ENOSPC' });
      return nodeFs.rename(from, to);
    },
  };
  await prepareDataset(root, out, { ...quiet, shardImages: 2, fs: failing }).then(
    () => assert.unreachable('resolved'),
    (e) => assert.ok(e instanceof CheckpointWriteError && e.code === 'ENOSPC', String(e)),
  );
  assert.ok(!existsSync(join(out, 'index.json')));
  assert.ok(!readdirSync(out).some((n) => n.includes('.tmp-')));
  const rerun = await prepareDataset(root, out, { ...quiet, shardImages: 2 });
  assert.equal(rerun.reused, ['train-00000.shard', 'train-00001.shard']); // renames 1-4: two shards, two sidecars
  assert.ok(existsSync(join(out, 'index.json')));
});

test('a BatchLoader over the prepared train set gives the ImageFolder batches bit for bit', async () => {
  const ref = await openImageFolder(root, { verify: 'full', warn: () => {} });
  const { train } = await openPrepared(outRaw);
  const batches = async (ds: Dataset) => {
    const out: Array<{ images: Float32Array; labels: number[] }> = [];
    const loader = new BatchLoader(ds, { batchSize: 3, inputSize: 224, shuffle: true, augment: true, seed: 1 });
    for await (const b of loader.epoch(0)) out.push({ images: b.images!.slice(), labels: Array.from(b.labels) });
    return out;
  };
  const a = await batches(ref.train),
    p = await batches(train);
  assert.is(p.length, 3);
  assert.equal(
    p.map((b) => b.labels),
    a.map((b) => b.labels),
  );
  const bits = (x: Float32Array) => new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
  for (let k = 0; k < a.length; k++) assert.ok(same(bits(p[k].images), bits(a[k].images)), `batch ${k}`);
  assert.ok(fails(() => assert.ok(same(bits(p[0].images), bits(a[1].images)))));
  await train.close?.();
});

/** `fn` rejects with a FormatError whose message matches `re`. */
const rejects = (p: Promise<unknown>, re: RegExp) =>
  p.then(
    () => assert.unreachable(`resolved; expected ${re}`),
    (e) => {
      assert.ok(e instanceof FormatError, String(e));
      assert.match(e.message, re);
    },
  );

test('openData opens a prepared folder; damage is a FormatError; verify full catches a flipped byte', async () => {
  const data = await openData(outRaw);
  assert.ok(data.train instanceof PreparedDataset && data.val instanceof PreparedDataset);
  await shut(data);
  await (data as { close?: () => Promise<void> }).close?.(); // the decoding threads, where openData starts them
  let n = 0;
  const copy = (edit: (dir: string) => void) => {
    const d = join(tmp, `damaged-${n++}`);
    cpSync(outRaw, d, { recursive: true });
    edit(d);
    return d;
  };
  const shard = (d: string) => join(d, 'train-00000.shard');
  const editIndex = (f: (j: Record<string, unknown>) => void) => (d: string) => {
    const j = JSON.parse(readFileSync(join(d, 'index.json'), 'utf8'));
    f(j);
    writeFileSync(join(d, 'index.json'), JSON.stringify(j));
  };
  const editRecord = (at: number, v: number) => (d: string) => {
    const b = readFileSync(join(d, 'train.records'));
    b.writeInt32LE(v, at);
    writeFileSync(join(d, 'train.records'), b);
  };
  await rejects(
    openPrepared(copy((d) => truncateSync(shard(d), 7 * PX - 1))),
    /train-00000\.shard: .* index\.json says/,
  );
  await rejects(
    openPrepared(copy((d) => writeFileSync(join(d, 'train.records'), Buffer.alloc(16 * 7 + 3)))),
    /train\.records: 115 bytes, expected 16 × 7/,
  );
  await rejects(openPrepared(copy(editIndex((j) => (j.version = 2)))), /index\.json: version 2 is not supported/);
  await rejects(openPrepared(copy(editIndex((j) => (j.format = 'other')))), /index\.json: format/);
  await rejects(openPrepared(copy(editIndex((j) => delete j.classNames))), /classNames/);
  await rejects(
    openPrepared(copy(editIndex((j) => ((j.splits as PreparedIndex['splits']).train.records = '../x')))),
    /splits\.train needs/,
  );
  await rejects(openPrepared(copy(editRecord(4, 6 * PX + 1))), /record 0 .* lies outside train-00000\.shard/);
  await rejects(openPrepared(copy(editRecord(12, 3))), /record 0: label 3 outside 0\.\.2/);
  const flipped = copy((d) => {
    const b = readFileSync(shard(d));
    b[12345] ^= 0x40;
    writeFileSync(shard(d), b);
  });
  const ok = await openPrepared(flipped); // 'size' sees nothing wrong
  assert.is(ok.train.length, 7);
  await shut(ok);
  await rejects(openPrepared(flipped, { verify: 'full' }), /train-00000\.shard: SHA-256 [0-9a-f]{64} does not match/);
  await shut(await openPrepared(outRaw, { verify: 'full' })); // and passes an intact folder
});

test('cli prepare: end to end, and bad flags exit 2', async () => {
  const out = join(tmp, 'cli');
  const code = await cli(['prepare', root, out, '--format', 'jpeg', '--quality', '75', '--shard-images', '4']);
  assert.is(code, 0);
  const idx = readIndex(out);
  assert.equal(
    [idx.encoding, idx.quality, idx.splits.train.shards.length, idx.splits.train.images],
    ['jpeg', 75, 3, 7],
  );
  const never = join(tmp, 'never');
  for (const bad of [
    ['--quality', '0'],
    ['--quality', '101'],
    ['--format', 'png'],
    ['--shard-images', '0'],
    ['--resample', 'cubic'],
    ['--bogus'],
  ])
    assert.is(await cli(['prepare', root, never, ...bad]), 2, bad.join(' '));
  assert.is(await cli(['prepare', root]), 2);
  assert.is(await cli(['prepare', join(tmp, 'nope'), never]), 2);
  assert.ok(!existsSync(never));
  assert.is(await cli(['prepare', '--help']), 0);
});

test.run();
