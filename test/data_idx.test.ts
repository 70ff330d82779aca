// Tests for the IDX reader: round trips (raw and gzip), the real Fashion-MNIST files, header validation,
// a gzip-bomb bound and a seeded fuzz loop in which every input must parse or throw FormatError.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { decodeIdx, readIdx, writeIdx } from '../src/node/files/idx.js';
import { encodeIdx } from '../src/formats/idx.js';
import { Rng } from '../src/util/rng.js';
import { FormatError } from '../src/errors.js';
import { mutateBytes } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'idx-test-'));
const isFormat = (e: unknown) => e instanceof FormatError;
const sample = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 37) & 255);

test('round trip raw and gzipped files', async () => {
  for (const gzip of [false, true]) {
    const path = join(dir, `a${gzip ? '.gz' : ''}`);
    await writeIdx(path, [3, 4, 5], sample(60), { gzip });
    const { dims, data } = await readIdx(path);
    assert.equal(dims, [3, 4, 5]);
    assert.equal(Array.from(data), Array.from(sample(60)));
  }
  assert.equal(decodeIdx(encodeIdx([7], sample(7))).dims, [7]);
});

test('real Fashion-MNIST files have the documented shapes', async () => {
  const root = '/usr/share/datasets/fashion-mnist';
  const shapes: Record<string, number[]> = {
    'train-images-idx3-ubyte.gz': [60000, 28, 28],
    'train-labels-idx1-ubyte.gz': [60000],
    't10k-images-idx3-ubyte.gz': [10000, 28, 28],
    't10k-labels-idx1-ubyte.gz': [10000],
  };
  for (const [f, dims] of Object.entries(shapes)) assert.equal((await readIdx(join(root, f))).dims, dims, f);
});

test('header validation names the problem', () => {
  const ok = encodeIdx([2, 3], sample(6));
  const mut = (f: (b: Uint8Array) => void) => {
    const b = ok.slice();
    f(b);
    return b;
  };
  const expect = (b: Uint8Array, re: RegExp) => {
    try {
      decodeIdx(b, 'f.idx');
      assert.unreachable();
    } catch (e) {
      assert.ok(e instanceof FormatError, String(e));
      assert.match((e as Error).message, /^f\.idx: /);
      assert.match((e as Error).message, re);
    }
  };
  expect(
    mut((b) => {
      b[0] = 1;
    }),
    /magic/,
  );
  expect(
    mut((b) => {
      b[2] = 0x0d;
    }),
    /float32.*not supported/,
  );
  expect(
    mut((b) => {
      b[2] = 0x42;
    }),
    /invalid IDX dtype/,
  );
  expect(
    mut((b) => {
      b[3] = 0;
    }),
    /rank 0/,
  );
  expect(
    mut((b) => {
      b[3] = 5;
    }),
    /rank 5/,
  );
  expect(
    mut((b) => {
      b[7] = 0;
    }),
    /dimension 0 is 0/,
  );
  expect(ok.subarray(0, ok.length - 1), /truncated/);
  expect(ok.subarray(0, 6), /truncated IDX header/);
  expect(new Uint8Array([...ok, 1, 2]), /2 trailing bytes/);
  // Hostile dims: 0xFFFFFFFF^4 must be rejected from the header alone, without allocating.
  expect(new Uint8Array([0, 0, 8, 4, ...new Array(16).fill(255), 1, 2, 3]), /truncated/);
});

test('gzip: corrupt stream and decompression bomb are FormatErrors', () => {
  const gz = gzipSync(encodeIdx([2, 3], sample(6)));
  const bad = gz.slice();
  bad[bad.length - 6] ^= 0xff;
  assert.throws(() => decodeIdx(bad), isFormat);
  const bomb = gzipSync(encodeIdx([4096, 1024], new Uint8Array(4096 * 1024)));
  assert.throws(
    () => decodeIdx(bomb, 'bomb', { maxBytes: 1 << 20 }),
    (e: unknown) => isFormat(e) && /exceeds/.test((e as Error).message),
  );
  assert.is(decodeIdx(bomb, 'bomb', { maxBytes: 8 << 20 }).data.length, 4096 * 1024);
});

test('fuzz: 2000 mutated, truncated and random inputs parse or throw FormatError', () => {
  const rng = new Rng(2024);
  const seeds = [
    encodeIdx([5, 4, 3], sample(60)),
    encodeIdx([9], sample(9)),
    gzipSync(encodeIdx([2, 2, 2, 2], sample(16))),
  ];
  let parsed = 0;
  for (let i = 0; i < 2000; i++) {
    const b = mutateBytes(seeds[rng.int(seeds.length)].slice(), rng, 64, [
      (b) => {
        // a large dimension, and trailing bytes
        const d = 4 + rng.int(16);
        if (d < b.length) b[d] = 255;
        return new Uint8Array([...b, ...Array.from({ length: rng.int(8) }, () => rng.int(256))]);
      },
    ]);
    try {
      const { dims, data } = decodeIdx(b, 'fuzz', { maxBytes: 1 << 16 });
      assert.is(
        data.length,
        dims.reduce((x, y) => x * y, 1),
      );
      assert.ok(data.length <= 1 << 16);
      parsed++;
    } catch (e) {
      if (!(e instanceof FormatError)) throw new Error(`iteration ${i}: ${String(e)}`);
    }
  }
  assert.ok(parsed > 0);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
