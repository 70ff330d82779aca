// Hostile files: thousands of corrupt JPEG/PNG files through the ImageFolder loader (skipped and counted,
// never a crash or hang), hand-made absurd headers and seeded on-disk fuzz of safetensors/.npy/IDX files
// (FormatError, no allocation sized by the header), checkpoint metadata that is data and never code, and
// dataset folders whose symlinks lead out of them.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import sharp from 'sharp';
import { FormatError } from '../src/errors.js';
import { openImageFolder, type ImageFolderDataset } from '../src/node/data/image_folder.js';
import { encodeNpy } from '../src/formats/npy.js';
import { readNpy, readNpyHeader, writeNpy } from '../src/node/files/npy.js';
import { loadNpyDir } from '../src/node/data/npy_dir.js';
import { encodeIdx } from '../src/formats/idx.js';
import { readIdx } from '../src/node/files/idx.js';
import { encodeSafetensors, type NamedTensor } from '../src/formats/safetensors.js';
import { readSafetensors, writeSafetensors } from '../src/node/files/safetensors.js';
import { loadCheckpoint } from '../src/node/files/checkpoint.js';
import type { ModelMeta } from '../src/checkpoint/checkpoint.js';
import { train } from '../src/node/train/trainer.js';
import { gpu, disposeGpu } from './helpers.js';
import { makeData, options, quiet, rng } from './fixtures/faults.js';

const dir = mkdtempSync(join(tmpdir(), 'faults-hostile-'));
test.after(() => {
  disposeGpu();
  rmSync(dir, { recursive: true, force: true });
});

const random = rng(20120607);
const int = (n: number) => Math.floor(random() * n);
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
const noise = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
const crc32 = (b: Uint8Array) => {
  let c = 0xffffffff;
  for (const x of b) c = CRC_TABLE[(c ^ x) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
};

/** PNG with IHDR width/height replaced (and its CRC fixed, so only the size check can refuse it). */
function pngDims(png: Buffer, w: number, h: number): Buffer {
  const b = Buffer.from(png);
  b.writeUInt32BE(w >>> 0, 16);
  b.writeUInt32BE(h >>> 0, 20);
  b.writeUInt32BE(crc32(b.subarray(12, 29)), 29);
  return b;
}
/** JPEG with the SOF frame's height/width replaced. */
function jpegDims(jpg: Buffer, w: number, h: number): Buffer {
  const b = Buffer.from(jpg);
  for (let i = 2; i + 9 < b.length; i++) {
    if (b[i] === 0xff && b[i + 1] >= 0xc0 && b[i + 1] <= 0xc2) {
      b.writeUInt16BE(h & 0xffff, i + 5);
      b.writeUInt16BE(w & 0xffff, i + 7);
      break;
    }
  }
  return b;
}
/** A segment/chunk length field set to an absurd value. */
function badLength(b0: Buffer, png: boolean): Buffer {
  const b = Buffer.from(b0);
  const v = pick([0, 1, 0xffff, 0x7fffffff, 0xffffffff, int(2 ** 32)]);
  if (png) {
    const at = pick([8, 33]);
    if (at + 4 <= b.length) b.writeUInt32BE(v >>> 0, at);
  } // IHDR / next chunk length
  else
    for (let i = 2; i + 3 < b.length; i++)
      if (b[i] === 0xff && b[i + 1] >= 0xc0 && b[i + 1] !== 0xd8 && b[i + 1] !== 0xff) {
        b.writeUInt16BE(v & 0xffff, i + 2);
        if (random() < 0.5) break;
      }
  return b;
}

function mutateImage(seed: Buffer, png: boolean): Buffer {
  const b = Buffer.from(seed);
  switch (int(8)) {
    case 0:
      return b.subarray(0, int(b.length));
    case 1:
      for (let k = 1 + int(8); k > 0; k--) b[int(b.length)] ^= 1 << int(8);
      return b;
    case 2:
      for (let k = 1 + int(16); k > 0; k--) b[int(b.length)] = int(256);
      return b;
    case 3:
      return Buffer.concat([b.subarray(0, png ? 8 : 2), noise(int(400))]); // the right magic, then noise
    case 4: {
      const d = pick([0, 1, 16383, 65535, 100_000, 0x7fffffff, 0xffffffff, int(70_000)]),
        e = pick([1, 2, 16383, 65535, int(70_000)]);
      return png ? pngDims(b, d, e) : jpegDims(b, d, e);
    }
    case 5:
      return badLength(b, png);
    case 6: {
      const at = int(b.length);
      return Buffer.concat([b.subarray(0, at), noise(1 + int(32)), b.subarray(at + int(8))]);
    }
    default:
      return noise(int(300));
  }
}

const PER_FORMAT = 2000;

test(`${PER_FORMAT} corrupt JPEGs and ${PER_FORMAT} corrupt PNGs through ImageFolder: skipped or replaced and counted, never a crash or hang`, async () => {
  const root = join(dir, 'images');
  const seeds: Array<{ png: boolean; bytes: Buffer }> = [];
  for (const [w, h] of [
    [24, 20],
    [9, 31],
  ]) {
    const px = Buffer.from(Array.from({ length: w * h * 3 }, (_, i) => (i * 37) % 256));
    const img = sharp(px, { raw: { width: w, height: h, channels: 3 } });
    seeds.push(
      { png: false, bytes: await img.clone().jpeg().toBuffer() },
      { png: false, bytes: await img.clone().jpeg({ progressive: true }).toBuffer() },
    );
    seeds.push(
      { png: true, bytes: await img.clone().png().toBuffer() },
      { png: true, bytes: await img.clone().png({ palette: true }).toBuffer() },
    );
  }
  const classes = ['a', 'b', 'c', 'd'];
  for (const c of classes) {
    mkdirSync(join(root, 'train', c), { recursive: true });
    seeds.forEach((s, k) => writeFileSync(join(root, 'train', c, `seed${k}.${s.png ? 'png' : 'jpg'}`), s.bytes)); // every class keeps good images
  }
  for (const png of [false, true]) {
    for (let i = 0; i < PER_FORMAT; i++) {
      const seed = pick(seeds.filter((s) => s.png === png)).bytes;
      writeFileSync(join(root, 'train', classes[i % 4], `m${i}.${png ? 'png' : 'jpg'}`), mutateImage(seed, png));
    }
  }
  const total = 2 * PER_FORMAT + 4 * seeds.length;
  const warnings: string[] = [];
  const rss0 = process.memoryUsage().rss;
  const t0 = Date.now();
  const { train: ds } = await openImageFolder(root, {
    size: 32,
    maxPixels: 1 << 22,
    cacheBytes: 0,
    warn: (w) => warnings.push(w),
  });
  const openMs = Date.now() - t0;
  const skipped = total - ds.length;
  assert.is(warnings.length, 1, warnings.join('\n'));
  assert.match(
    warnings[0],
    new RegExp(`skipped ${skipped} unreadable image\\(s\\) and 0 path\\(s\\) resolving outside the root`),
  );
  const out = new Float32Array(3 * 32 * 32);
  let rssPeak = 0;
  for (let i = 0; i < ds.length; i++) {
    if (i % 50 === 0) rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const hang = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${(ds as ImageFolderDataset).files[i]}: decode hangs`)), 10_000);
    });
    out.fill(NaN);
    await Promise.race([ds.get(i, out), hang]);
    clearTimeout(timer);
    assert.ok(
      out.every((v) => v >= 0 && v <= 255),
      `sample ${i} not filled`,
    );
  }
  const failures = (ds as ImageFolderDataset).decodeFailures;
  const rssGrowth = Math.max(rssPeak, process.memoryUsage().rss) - rss0;
  console.log(
    `  ${total} files: ${skipped} skipped at open (${openMs} ms), ${failures} failed to decode later (replaced), ` +
      `${ds.length - failures} decoded; ${((Date.now() - t0) / 1000).toFixed(1)} s, RSS peak ${rssGrowth >= 0 ? '+' : ''}${(rssGrowth / 2 ** 20).toFixed(0)} MiB over the start`,
  );
  assert.ok(skipped > PER_FORMAT / 2, 'most corrupt files are caught at open');
  assert.ok(failures > 0 || skipped === 2 * PER_FORMAT, 'some corrupt files only show when decoded');
  assert.ok(rssGrowth < 512 * 2 ** 20, `RSS grew ${rssGrowth} bytes`);
  if (failures) {
    assert.is(warnings.length, 2); // one more, on the first decode failure
    assert.match(
      warnings[1],
      /failed to decode .*replaced by the next image of the same class and counted in decodeFailures/,
    );
  }
});

test('image dimensions beyond maxPixels are refused before decoding (a 16383×16383 PNG header of 100 bytes)', async () => {
  const root = join(dir, 'bomb');
  mkdirSync(join(root, 'train', 'x'), { recursive: true });
  const png = await sharp(Buffer.alloc(4 * 4 * 3, 9), { raw: { width: 4, height: 4, channels: 3 } })
    .png()
    .toBuffer();
  writeFileSync(join(root, 'train', 'x', 'ok.png'), png);
  writeFileSync(join(root, 'train', 'x', 'bomb.png'), pngDims(png, 16383, 16383));
  const warnings: string[] = [];
  const { train: ds } = await openImageFolder(root, { size: 16, warn: (w) => warnings.push(w) });
  assert.is(ds.length, 1);
  assert.match(warnings[0], /bomb\.png: declares 16383×16383 pixels, more than the 67108864 allowed/);
});

// ---- hand-made absurd headers, read from files ----

const u64 = (v: bigint) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(v);
  return b;
};
const st = (header: unknown, data = Buffer.alloc(0)) => {
  const j = Buffer.from(JSON.stringify(header));
  return Buffer.concat([u64(BigInt(j.length)), j, data]);
};
const npyV2 = (hlen: number, rest: Buffer) => {
  const b = Buffer.alloc(12);
  b.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 2, 0]);
  b.writeUInt32LE(hlen >>> 0, 8);
  return Buffer.concat([b, rest]);
};
const npyHdr = (descr: string, shape: string, data = Buffer.alloc(0)) =>
  Buffer.concat([
    Buffer.from(encodeNpy(new Uint8Array(0), [0]).subarray(0, 8)),
    (() => {
      const t = `${`{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`.padEnd(117, ' ')}\n`;
      const l = Buffer.alloc(2);
      l.writeUInt16LE(t.length);
      return Buffer.concat([l, Buffer.from(t, 'latin1')]);
    })(),
    data,
  ]);
const idx = (dtype: number, dims: number[], data = Buffer.alloc(0)) => {
  const b = Buffer.alloc(4 + 4 * dims.length);
  b[2] = dtype;
  b[3] = dims.length;
  dims.forEach((d, i) => b.writeUInt32BE(d >>> 0, 4 + 4 * i));
  return Buffer.concat([b, data]);
};

const HOSTILE: Array<[string, Buffer, (p: string) => Promise<unknown>, RegExp]> = [
  [
    'st: length 2^64-1',
    Buffer.concat([u64(2n ** 64n - 1n), Buffer.from('{}')]),
    readSafetensors,
    /absurd.*negative as i64: -1/,
  ],
  ['st: length 2^63 (negative)', Buffer.concat([u64(2n ** 63n), Buffer.from('{}')]), readSafetensors, /absurd/],
  ['st: length past the end', Buffer.concat([u64(1000n), Buffer.from('{}')]), readSafetensors, /exceeds the file size/],
  ['st: length 0', Buffer.concat([u64(0n), Buffer.from('{}')]), readSafetensors, /too small/],
  ['st: 7 bytes', Buffer.from('1234567'), readSafetensors, /too short/],
  [
    'st: 1 GiB tensor, 64 data bytes',
    st({ w: { dtype: 'F32', shape: [1 << 28], data_offsets: [0, 2 ** 30] } }, Buffer.alloc(64)),
    readSafetensors,
    /out of range/,
  ],
  [
    'st: shape overflows',
    st({ w: { dtype: 'F32', shape: [2 ** 31, 2 ** 31, 2 ** 31], data_offsets: [0, 4] } }, Buffer.alloc(4)),
    readSafetensors,
    /overflows|needs/,
  ],
  [
    'st: negative dim',
    st({ w: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, Buffer.alloc(4)),
    readSafetensors,
    /not a non-negative integer/,
  ],
  [
    'st: wrong dtype F64',
    st({ w: { dtype: 'F64', shape: [1], data_offsets: [0, 8] } }, Buffer.alloc(8)),
    readSafetensors,
    /bad dtype "F64"/,
  ],
  [
    'st: I32 weights in a checkpoint',
    Buffer.from(
      encodeSafetensors(
        { w: { dtype: 'I32', shape: [1], data: Int32Array.of(1) } },
        { meta: '{"arch":"mini","classes":4,"channels":1,"inputSize":28,"mean":[0],"pixelScale":1}' },
      ),
    ),
    loadCheckpoint,
    /"w" is I32, expected F32/,
  ],
  [
    'st: __proto__ tensor',
    Buffer.concat([u64(15n), Buffer.from('{"__proto__":1}')]),
    readSafetensors,
    /"__proto__" is not allowed/,
  ],
  [
    'npy: v1 header past the end',
    Buffer.concat([Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 0xff, 0xff]), Buffer.from('{')]),
    readNpy,
    /runs past the end/,
  ],
  ['npy: v2 header length 2^32-1', npyV2(0xffffffff, Buffer.from('{}')), readNpy, /exceeds/],
  ['npy: v2 header length 2^32-1 (header reader)', npyV2(0xffffffff, Buffer.from('{}')), readNpyHeader, /exceeds/],
  [
    'npy: 2^53 elements, 16 bytes',
    npyHdr('<f4', '(9007199254740991, 9007199254740991)', Buffer.alloc(16)),
    readNpyHeader,
    /truncated/,
  ],
  ['npy: 1 GiB declared, 16 bytes', npyHdr('|u1', '(1073741824,)', Buffer.alloc(16)), readNpy, /truncated/],
  ['npy: negative dim', npyHdr('<f4', '(-1,)'), readNpy, /non-negative integer/],
  ['npy: float64', npyHdr('<f8', '(1,)', Buffer.alloc(8)), readNpy, /convert to float32/],
  ['npy: object dtype', npyHdr('|O', '(1,)', Buffer.alloc(8)), readNpy, /unsupported dtype/],
  [
    'npy: code in the header',
    npyHdr("__import__('os').system('true')", '(1,)'),
    readNpy,
    /unexpected characters|malformed/,
  ],
  [
    'idx: 4×(2^32-1) dims',
    idx(8, [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff], Buffer.alloc(8)),
    readIdx,
    /truncated/,
  ],
  ['idx: 1 GiB declared, 8 bytes', idx(8, [1 << 30], Buffer.alloc(8)), readIdx, /truncated/],
  ['idx: float32 dtype', idx(0x0d, [2], Buffer.alloc(8)), readIdx, /not supported/],
  ['idx: rank 0', idx(8, []), readIdx, /rank 0/],
  [
    'idx: gzip bomb',
    gzipSync(encodeIdx([4096, 4096, 80], new Uint8Array(4096 * 4096 * 80))),
    (p) => readIdx(p, { maxBytes: 1 << 24 }),
    /exceeds the 16777216-byte limit/,
  ],
];

test(`${HOSTILE.length} hand-made hostile headers: FormatError naming the file, nothing allocated from the header`, async () => {
  const ab0 = process.memoryUsage().arrayBuffers;
  for (const [what, bytes, read, re] of HOSTILE) {
    const path = join(dir, `hostile-${what.replace(/\W+/g, '_')}`);
    writeFileSync(path, bytes);
    const err = await read(path).then(
      () => undefined,
      (e) => e,
    );
    assert.ok(err instanceof FormatError, `${what}: ${err?.stack ?? err}`);
    assert.ok(err.message.includes(path), `${what}: ${err.message}`);
    assert.match(err.message, re, what);
    assert.ok(
      process.memoryUsage().arrayBuffers - ab0 < 96 * 2 ** 20,
      `${what}: ${process.memoryUsage().arrayBuffers - ab0} bytes of buffers`,
    );
  }
});

// ---- seeded fuzz through the file readers (the in-memory decoders have their own, larger loops) ----

test('500 mutated files per format through readSafetensors/loadCheckpoint, readNpy/readNpyHeader/loadNpyDir and readIdx', async () => {
  const t: Record<string, NamedTensor> = {
    'conv1.weight': { dtype: 'F32', shape: [2, 3], data: Float32Array.from({ length: 6 }, (_, i) => i) },
    'momentum.conv1.weight': { dtype: 'F32', shape: [2, 3], data: new Float32Array(6) },
  };
  const stPath = join(dir, 'seed.safetensors');
  await writeSafetensors(stPath, t, {
    meta: JSON.stringify({ arch: 'mini', classes: 4, channels: 1, inputSize: 28, mean: [0.5], pixelScale: 1 / 255 }),
  });
  const seeds = {
    st: readFileSync(stPath),
    npy: Buffer.from(encodeNpy(Float32Array.of(1, 2, 3, 4, 5, 6), [1, 1, 2, 3])),
    lab: Buffer.from(encodeNpy(Int32Array.of(3), [1])),
    idx: Buffer.from(encodeIdx([2, 3, 4], new Uint8Array(24).fill(7))),
  };
  const mutate = (b0: Buffer): Buffer => {
    const b = Buffer.from(b0);
    switch (int(5)) {
      case 0:
        return b.subarray(0, int(b.length));
      case 1:
        for (let k = 1 + int(6); k > 0; k--) b[int(b.length)] ^= 1 << int(8);
        return b;
      case 2: {
        const at = int(Math.min(b.length, 140));
        for (let k = 0; k < 4 && at + k < b.length; k++) b[at + k] = pick([0, 0xff, 0x7f, 0x80, int(256)]);
        return b;
      }
      case 3:
        return Buffer.concat([b, noise(1 + int(16))]);
      default:
        return noise(int(200));
    }
  };
  const counts: Record<string, { ok: number; bad: number }> = {};
  const dsDir = join(dir, 'fuzz-npy-dir');
  mkdirSync(dsDir, { recursive: true });
  const cases: Array<[string, () => Promise<unknown>]> = [];
  for (let i = 0; i < 500; i++) {
    cases.push([
      'safetensors',
      async () => {
        writeFileSync(join(dir, 'f.safetensors'), mutate(seeds.st));
        return loadCheckpoint(join(dir, 'f.safetensors'));
      },
    ]);
    cases.push([
      'npy',
      async () => {
        writeFileSync(join(dsDir, 'train_images.npy'), mutate(seeds.npy));
        writeFileSync(join(dsDir, 'train_labels.npy'), random() < 0.5 ? seeds.lab : mutate(seeds.lab));
        const formatOnly = (e: unknown) => {
          if (!(e instanceof FormatError)) throw e;
        };
        await readNpyHeader(join(dsDir, 'train_images.npy'))
          .catch(formatOnly)
          .then(() =>
            readNpy(join(dsDir, 'train_images.npy')).catch((e) => {
              if (!(e instanceof FormatError)) throw e;
            }),
          );
        return loadNpyDir(dsDir);
      },
    ]);
    cases.push([
      'idx',
      async () => {
        writeFileSync(join(dir, 'f.idx'), random() < 0.3 ? gzipSync(mutate(seeds.idx)) : mutate(seeds.idx));
        return readIdx(join(dir, 'f.idx'), { maxBytes: 1 << 16 });
      },
    ]);
  }
  const t0 = Date.now();
  for (const [k, run] of cases) {
    counts[k] ??= { ok: 0, bad: 0 };
    try {
      await run();
      counts[k].ok++;
    } catch (e) {
      if (!(e instanceof FormatError))
        throw new Error(`${k} case ${counts[k].ok + counts[k].bad}: ${(e as Error)?.stack ?? e}`);
      counts[k].bad++;
    }
  }
  console.log(
    `  ${Object.entries(counts)
      .map(([k, c]) => `${k} ${c.bad} rejected/${c.ok} accepted`)
      .join(', ')} in ${Date.now() - t0} ms`,
  );
  for (const c of Object.values(counts)) assert.ok(c.bad > 250);
});

// ---- checkpoint metadata is data ----

test('checkpoint metadata is JSON data: code is not run, __proto__ pollutes nothing, absurd fields are refused', async () => {
  const meta = (extra: Record<string, unknown> = {}) =>
    JSON.stringify({
      arch: 'mini',
      classes: 4,
      channels: 1,
      inputSize: 28,
      mean: [0.5],
      pixelScale: 1 / 255,
      ...extra,
    });
  const w = { 'fc8.bias': { dtype: 'F32' as const, shape: [4], data: new Float32Array(4) } };
  const state = JSON.stringify({
    epoch: 0,
    batch: 1,
    step: 1,
    lr: 0.01,
    bestValError: 1,
    sinceImprove: 0,
    reductions: 0,
    elapsedMs: 1,
  });
  const path = join(dir, 'meta.safetensors');
  const g = globalThis as Record<string, unknown>;

  // would run if eval'd or handed to Function
  await writeSafetensors(path, w, { meta: meta(), state: '(() => { globalThis.pwned = true; return {} })()' });
  await loadCheckpoint(path).then(
    () => assert.unreachable(),
    (e) => assert.ok(e instanceof FormatError && /metadata "state" is not valid JSON/.test(e.message), String(e)),
  );
  assert.is(g.pwned, undefined);

  // __proto__ keys in the JSON (raw text: JSON.stringify would not write them)
  const protoMeta = `${meta().slice(0, -1)},"__proto__":{"polluted":true},"config":{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}}`;
  await writeSafetensors(path, w, { meta: protoMeta, state });
  const ck = await loadCheckpoint(path);
  assert.is(Object.hasOwn(ck.meta, '__proto__'), false);
  assert.is(Object.hasOwn(ck.meta.config!, '__proto__'), false);
  const copy = Object.assign({}, ck.meta, ck.meta.config);
  assert.is(({} as Record<string, unknown>).polluted, undefined);
  assert.is((copy as Record<string, unknown>).polluted, undefined);
  assert.is(Object.getPrototypeOf(copy), Object.prototype);

  // fields that would size allocations or drive loops
  const bad: Array<[Record<string, string>, RegExp]> = [
    [{ meta: meta({ inputSize: 1e9 }) }, /inputSize is 1000000000, expected an integer in \[1, 4096\]/],
    [{ meta: meta({ classes: 2 ** 31 }) }, /classes/],
    [{ meta: meta({ arch: 'constructor' }) }, /arch is "constructor"/],
    [{ meta: meta({ mean: [0.5, 0.5] }) }, /mean/],
    [{ meta: meta({ std: [0] }) }, /std is \[0\], expected 1 positive finite numbers/],
    [{ meta: meta({ std: [0.2, 0.2] }) }, /std/],
    [{ meta: meta(), state: state.replace('"step":1', '"step":-1') }, /step is -1/],
    [{ meta: meta(), state: state.replace('"batch":1', '"batch":"1e9"') }, /batch is "1e9"/],
    [{ meta: meta(), state: '[]' }, /"state" is not an object/],
    [{ meta: '"mini"' }, /not an alexnet-wgsl checkpoint/],
  ];
  for (const [md, re] of bad) {
    await writeSafetensors(path, w, md);
    await loadCheckpoint(path).then(
      () => assert.unreachable(JSON.stringify(md)),
      (e) => assert.ok(e instanceof FormatError && re.test(e.message), `${JSON.stringify(md)}: ${e}`),
    );
  }
});

test('--resume of a checkpoint naming a huge input is refused before anything is allocated', async () => {
  const data = join(dir, 'resume-data'),
    out = join(dir, 'resume-out');
  await makeData(data, 16);
  mkdirSync(out, { recursive: true });
  await writeSafetensors(
    join(out, 'checkpoint.safetensors'),
    { 'fc8.bias': { dtype: 'F32', shape: [4], data: new Float32Array(4) } },
    {
      meta: JSON.stringify({
        arch: 'mini',
        classes: 4,
        channels: 1,
        inputSize: 40000,
        mean: [0],
        pixelScale: 1,
      } satisfies ModelMeta),
      state: JSON.stringify({
        epoch: 0,
        batch: 0,
        step: 0,
        lr: 0.01,
        bestValError: 1,
        sinceImprove: 0,
        reductions: 0,
        elapsedMs: 0,
      }),
    },
  );
  const e = await gpu();
  const before = e.counters.bytesAllocated;
  const err = await train(options(data, out, { resume: out }), { ...quiet, engine: e }).then(
    () => undefined,
    (x) => x,
  );
  assert.ok(err instanceof FormatError && /inputSize is 40000/.test(err.message), String(err));
  assert.is(e.counters.bytesAllocated, before);
});

// ---- links out of a dataset folder ----

test('symlinks out of a dataset folder are refused: ImageFolder skips and counts them, an .npy folder names them', async () => {
  const outside = join(dir, 'outside');
  mkdirSync(join(outside, 'cls'), { recursive: true });
  const png = await sharp(Buffer.alloc(8 * 8 * 3, 50), { raw: { width: 8, height: 8, channels: 3 } })
    .png()
    .toBuffer();
  writeFileSync(join(outside, 'secret.png'), png);
  writeFileSync(join(outside, 'cls', 'x.png'), png);
  const root = join(dir, 'linked');
  mkdirSync(join(root, 'train', 'a', 'sub'), { recursive: true });
  writeFileSync(join(root, 'train', 'a', 'ok.png'), png);
  symlinkSync(join(outside, 'secret.png'), join(root, 'train', 'a', 'file-link.png')); // a file out
  symlinkSync(join(outside, 'cls'), join(root, 'train', 'dir-link')); // a class folder out
  symlinkSync('../../../../outside/secret.png', join(root, 'train', 'a', 'sub', 'rel.png')); // relative, out
  symlinkSync(join(root, 'train'), join(root, 'train', 'a', 'sub', 'loop')); // a loop, inside
  const warnings: string[] = [];
  const { train: ds } = await openImageFolder(root, { size: 8, warn: (w) => warnings.push(w) });
  assert.equal(ds.classNames, ['a']);
  assert.is(ds.length, 1);
  // file-link.png, dir-link, sub/rel.png, and dir-link once more as sub/loop/dir-link (the loop itself is walked once)
  assert.match(warnings[0], /0 unreadable image\(s\) and 4 path\(s\) resolving outside the root/);
  assert.match(
    warnings[0],
    /dir-link -> \S+outside\/cls; \S+file-link\.png -> \S+outside\/secret\.png; \S+rel\.png -> /,
  );

  const npyDir = join(dir, 'npy-linked');
  await makeData(npyDir, 8);
  await writeNpy(join(outside, 'labels.npy'), new Int32Array(8), [8]);
  rmSync(join(npyDir, 'train_labels.npy'));
  symlinkSync(join(outside, 'labels.npy'), join(npyDir, 'train_labels.npy'));
  await loadNpyDir(npyDir).then(
    () => assert.unreachable(),
    (e) =>
      assert.ok(
        e instanceof FormatError &&
          /train_labels\.npy: resolves to \S+outside\/labels\.npy, outside the dataset folder/.test(e.message),
        String(e),
      ),
  );
  // a link that stays inside is fine
  rmSync(join(npyDir, 'train_labels.npy'));
  await writeNpy(
    join(npyDir, 'labels-real.npy'),
    Int32Array.from({ length: 8 }, (_, i) => i % 4),
    [8],
  );
  symlinkSync('labels-real.npy', join(npyDir, 'train_labels.npy'));
  assert.is((await loadNpyDir(npyDir)).train.length, 8);
});

test.run();
