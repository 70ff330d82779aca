// Tests for the .npy reader/writer: round trips for every dtype and header version, integer label
// conversion with range checks, strict header parsing, numpy interop, and a seeded hostile-input fuzz loop.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeNpy, encodeNpy } from '../src/formats/npy.js';
import { readNpy, readNpyHeader, writeNpy } from '../src/node/files/npy.js';
import { Rng } from '../src/util/rng.js';
import { FormatError } from '../src/errors.js';
import { mutateBytes } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'npy-test-'));

/** A .npy file with an arbitrary header text (for dtypes the writer does not produce and hostile headers). */
function rawNpy(header: string, data: Uint8Array, version = 1): Uint8Array {
  const pre = version === 1 ? 10 : 12;
  const text = `${header.padEnd(Math.ceil((pre + header.length + 1) / 64) * 64 - pre - 1, ' ')}\n`;
  const out = new Uint8Array(pre + text.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const v = new DataView(out.buffer);
  if (version === 1) v.setUint16(8, text.length, true);
  else v.setUint32(8, text.length, true);
  for (let i = 0; i < text.length; i++) out[pre + i] = text.charCodeAt(i);
  out.set(data, pre + text.length);
  return out;
}
const hdr = (descr: string, shape: string, fortran = 'False') =>
  `{'descr': '${descr}', 'fortran_order': ${fortran}, 'shape': ${shape}, }`;
const expectFormat = (b: Uint8Array, re: RegExp) => {
  try {
    decodeNpy(b, 'x.npy');
    assert.unreachable();
  } catch (e) {
    assert.ok(e instanceof FormatError, String(e));
    assert.match((e as Error).message, /^x\.npy: /);
    assert.match((e as Error).message, re);
  }
};

test('write/read round trip for f4, u1, i4 with v1, v2 and v3 headers', async () => {
  const arrays = [
    Float32Array.of(1.5, -2, 3e-8, 0, Infinity, 6),
    Uint8Array.of(0, 1, 2, 253, 254, 255),
    Int32Array.of(-2147483648, -1, 0, 1, 7, 2147483647),
  ];
  for (const version of [1, 2, 3] as const) {
    for (const a of arrays) {
      const path = join(dir, `r${version}.npy`);
      await writeNpy(path, a, [2, 3], { version });
      const got = await readNpy(path);
      assert.equal(got.shape, [2, 3]);
      assert.is(got.data.constructor, a.constructor);
      assert.equal(Array.from(got.data), Array.from(a));
      assert.is((await readNpyHeader(path)).version, version);
      assert.is(readFileSync(path).length % 64, a.byteLength % 64, 'data starts 64-byte aligned');
    }
  }
  assert.equal(decodeNpy(encodeNpy(Float32Array.of(4), [])).shape, []);
  assert.equal(decodeNpy(encodeNpy(new Uint8Array(0), [0, 5])).shape, [0, 5]);
  assert.equal(decodeNpy(encodeNpy(Uint8Array.of(1, 2, 3), [3])).shape, [3]);
});

test('every integer label dtype converts to Int32, with range checks', () => {
  const le = (n: number, size: number, signed: boolean) => {
    const b = new Uint8Array(size);
    const v = new DataView(b.buffer);
    if (size === 8) v.setBigInt64(0, BigInt(n), true);
    else if (size === 4) signed ? v.setInt32(0, n, true) : v.setUint32(0, n, true);
    else if (size === 2) signed ? v.setInt16(0, n, true) : v.setUint16(0, n, true);
    else signed ? v.setInt8(0, n) : v.setUint8(0, n);
    return Array.from(b);
  };
  const cases: Array<[string, number, boolean, number[]]> = [
    ['|i1', 1, true, [-128, 0, 127]],
    ['<i1', 1, true, [-5, 3, 9]],
    ['<i2', 2, true, [-32768, 1, 32767]],
    ['<i4', 4, true, [-2147483648, 2, 2147483647]],
    ['<i8', 8, true, [-2147483648, 3, 2147483647]],
    ['<u2', 2, false, [0, 4, 65535]],
    ['<u4', 4, false, [0, 5, 2147483647]],
    ['<u8', 8, false, [0, 6, 2147483647]],
  ];
  for (const [descr, size, signed, vals] of cases) {
    const got = decodeNpy(rawNpy(hdr(descr, '(3,)'), Uint8Array.from(vals.flatMap((v) => le(v, size, signed)))), descr);
    assert.ok(got.data instanceof Int32Array, descr);
    assert.equal(Array.from(got.data), vals, descr);
  }
  const u1 = decodeNpy(rawNpy(hdr('|u1', '(2,)'), Uint8Array.of(9, 250)));
  assert.ok(u1.data instanceof Uint8Array);
  expectFormat(rawNpy(hdr('<i8', '(1,)'), Uint8Array.from(le(2 ** 31, 8, true))), /does not fit in int32/);
  expectFormat(rawNpy(hdr('<i8', '(1,)'), Uint8Array.from(le(-(2 ** 31) - 1, 8, true))), /does not fit in int32/);
  expectFormat(rawNpy(hdr('<u4', '(1,)'), Uint8Array.from(le(2 ** 31, 4, false))), /does not fit in int32/);
  expectFormat(rawNpy(hdr('<u8', '(1,)'), Uint8Array.of(0, 0, 0, 0, 1, 0, 0, 0)), /does not fit in int32/);
});

test('strict header parsing rejects everything else', () => {
  const d4 = new Uint8Array(4);
  expectFormat(rawNpy(hdr('<f4', '(1,)', 'True'), d4), /fortran_order/);
  expectFormat(rawNpy(hdr('>f4', '(1,)'), d4), /big-endian/);
  expectFormat(rawNpy(hdr('<f8', '(1,)'), new Uint8Array(8)), /not supported/);
  expectFormat(rawNpy(hdr('<c8', '(1,)'), new Uint8Array(8)), /unsupported dtype/);
  expectFormat(rawNpy(hdr('=i4', '(1,)'), d4), /byte order/);
  expectFormat(rawNpy(`{'descr': '<f4', 'shape': (1,), }`, d4), /missing key 'fortran_order'/);
  expectFormat(rawNpy(`{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}`, d4), /unexpected key/);
  expectFormat(rawNpy(`{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}`, d4), /duplicate key/);
  expectFormat(
    rawNpy(`{'descr': __import__('os').system('rm -rf /'), 'fortran_order': False, 'shape': (1,)}`, d4),
    /expected a string/,
  );
  expectFormat(rawNpy(hdr('<f4', '(1)'), d4), /trailing comma/);
  expectFormat(rawNpy(hdr('<f4', '(-1,)'), d4), /non-negative integer/);
  expectFormat(rawNpy(hdr('<f4', '(1L,)'), d4), /non-negative integer/);
  expectFormat(rawNpy(hdr('<f4', '(99999999999999999999,)'), d4), /integer/);
  expectFormat(rawNpy(hdr('<f4', '(2,)'), d4), /truncated/);
  expectFormat(rawNpy(hdr('<f4', '(4294967295, 4294967295, 4294967295)'), d4), /truncated/);
  expectFormat(rawNpy(hdr('<f4', '(1,)'), new Uint8Array(8)), /4 trailing bytes/);
  expectFormat(rawNpy(`${hdr('<f4', '(1,)')} junk`, d4), /after the header dict/);
  // Header lengths that point past the end of the file or are absurd.
  const v1 = rawNpy(hdr('<f4', '(1,)'), d4);
  new DataView(v1.buffer).setUint16(8, 0xffff, true);
  expectFormat(v1, /runs past the end/);
  const v2 = rawNpy(hdr('<f4', '(1,)'), d4, 2);
  new DataView(v2.buffer).setUint32(8, 0xffffffff, true);
  expectFormat(v2, /header length/);
  expectFormat(Uint8Array.of(0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 4, 0, 0, 0), /version 4/);
  expectFormat(Uint8Array.of(1, 2, 3), /bad magic/);
  // Python dict spellings numpy accepts are fine: double quotes, no trailing comma, extra whitespace.
  assert.equal(
    decodeNpy(rawNpy(`{"descr":"<f4","fortran_order":False,"shape":( 2 , 1 )}`, new Uint8Array(8))).shape,
    [2, 1],
  );
});

test('numpy interop (when python3 with numpy is available)', async () => {
  const out = join(dir, 'py_i8.npy'),
    ours = join(dir, 'ours.npy');
  await writeNpy(ours, Float32Array.of(1, 2, 3, 4, 5, 6), [3, 2]);
  const r = spawnSync(
    'python3',
    [
      '-c',
      `
import numpy as np, sys
a = np.load(sys.argv[2]); assert a.dtype == np.float32 and a.shape == (3, 2) and a[2, 1] == 6, a
np.save(sys.argv[1], np.array([[-3, 1], [2, 9]], dtype=np.int64))
np.save(sys.argv[1] + '.f.npy', np.asfortranarray(np.ones((2, 3), np.float32)))
`,
      out,
      ours,
    ],
    { encoding: 'utf8' },
  );
  if (r.error || (r.status !== 0 && /No module named/.test(r.stderr))) {
    console.log('  (numpy not available; skipped)');
    return;
  }
  assert.is(r.status, 0, r.stderr);
  const got = await readNpy(out);
  assert.equal(got.shape, [2, 2]);
  assert.equal(Array.from(got.data), [-3, 1, 2, 9]);
  await readNpy(`${out}.f.npy`).then(
    () => assert.unreachable(),
    (e) => assert.ok(e instanceof FormatError && /fortran/.test(e.message)),
  );
});

test('fuzz: 2000 hostile inputs parse or throw FormatError, bounded by the input size', () => {
  const rng = new Rng(99);
  const seeds = [
    encodeNpy(Float32Array.of(1, 2, 3, 4), [2, 2]),
    encodeNpy(Int32Array.of(5, 6), [2], { version: 2 }),
    rawNpy(hdr('<i8', '(2,)'), new Uint8Array(16)),
    rawNpy(hdr('|u1', '(3, 1)'), Uint8Array.of(1, 2, 3), 3),
  ];
  let parsed = 0;
  for (let i = 0; i < 2000; i++) {
    const b = mutateBytes(seeds[rng.int(seeds.length)].slice(), rng, 80, [
      (b) => {
        // splice a random character into the header text
        b[10 + rng.int(60)] = "(){}':,0123456789 TrueFalse<|>fiu"[rng.int(33)].charCodeAt(0);
        return b;
      },
      (b) => {
        new DataView(b.buffer).setUint32(8, rng.u32(), true);
        return b;
      },
    ]);
    try {
      const { data } = decodeNpy(b, 'fuzz');
      assert.ok(data.byteLength <= 4 * b.length, 'output larger than 4× the input');
      parsed++;
    } catch (e) {
      if (!(e instanceof FormatError)) throw new Error(`iteration ${i}: ${String(e)}`);
    }
  }
  assert.ok(parsed > 0);
});

test('readNpyHeader reads only the header and checks it against the file size', async () => {
  const path = join(dir, 'big.npy');
  writeFileSync(path, encodeNpy(new Float32Array(1000), [10, 100]));
  const h = await readNpyHeader(path);
  assert.equal(h.shape, [10, 100]);
  assert.is(h.fileSize, h.dataOffset + 4000);
  writeFileSync(path, encodeNpy(new Float32Array(1000), [10, 100]).subarray(0, 200));
  await readNpyHeader(path).then(
    () => assert.unreachable(),
    (e) => assert.ok(e instanceof FormatError && /truncated/.test(e.message), String(e)),
  );
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
