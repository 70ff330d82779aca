// safetensors: round trips of every dtype, deterministic bytes, unaligned data, checksums, PyTorch-side
// interop (numpy reads and writes the format by hand), and one test per kind of hostile header.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { FormatError, ShapeError } from '../src/errors.js';
import {
  encodeSafetensors,
  decodeSafetensors,
  toNumbers,
  requireTensor,
  type NamedTensor,
} from '../src/formats/safetensors.js';
import { writeSafetensors, readSafetensors } from '../src/node/files/safetensors.js';

const dir = mkdtempSync(join(tmpdir(), 'st-'));

function sample(): Record<string, NamedTensor> {
  return {
    'conv1.weight': { dtype: 'F32', shape: [2, 3], data: new Float32Array([1.5, -2, NaN, Infinity, -0, 3.25e-30]) },
    labels: { dtype: 'I32', shape: [3], data: new Int32Array([-2147483648, 0, 2147483647]) },
    counts: { dtype: 'U32', shape: [2], data: new Uint32Array([0, 4294967295]) },
    pixels: { dtype: 'U8', shape: [1, 5], data: new Uint8Array([0, 1, 127, 128, 255]) },
    step: { dtype: 'I64', shape: [], data: new BigInt64Array([123456789012345n]) },
    big: { dtype: 'I64', shape: [2], data: new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n]) },
    empty: { dtype: 'F32', shape: [0, 4], data: new Float32Array(0) },
  };
}

function same(a: NamedTensor, b: NamedTensor, name: string): void {
  assert.is(a.dtype, b.dtype, name);
  assert.equal(a.shape, b.shape, name);
  assert.is(a.data.constructor, b.data.constructor, name);
  assert.equal(
    Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength),
    Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength),
    name,
  );
}

/** Build a file from a header (object or raw text) and data, with an optional forged length field. */
function craft(header: unknown, data: Uint8Array = new Uint8Array(0), length?: bigint): Buffer {
  const json = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(length ?? BigInt(json.length));
  return Buffer.concat([len, json, data]);
}

function throwsFormat(bytes: Uint8Array, re: RegExp): void {
  try {
    decodeSafetensors(bytes, 'evil.safetensors');
  } catch (err) {
    assert.instance(err, FormatError, String(err));
    assert.match((err as Error).message, /^evil\.safetensors: /);
    assert.match((err as Error).message, re);
    return;
  }
  assert.unreachable(`expected FormatError matching ${re}`);
}

test('round trip of every dtype, edge values included', () => {
  const t = sample();
  const out = decodeSafetensors(encodeSafetensors(t, { epoch: '3', note: 'a<b&"c"' }));
  assert.equal(Object.keys(out.tensors).sort(), Object.keys(t).sort());
  for (const k of Object.keys(t)) same(out.tensors[k], t[k], k);
  assert.is(out.metadata.epoch, '3');
  assert.is(out.metadata.note, 'a<b&"c"');
  assert.is(Object.getPrototypeOf(out.tensors), null);
  assert.is(Object.getPrototypeOf(out.metadata), null);
});

test('encoding is deterministic: sorted keys, space padding to 8 bytes, offsets in name order', () => {
  const t = sample();
  const reversed = Object.fromEntries(Object.entries(t).reverse());
  const a = Buffer.from(encodeSafetensors(t, { b: '2', a: '1' })),
    b = Buffer.from(encodeSafetensors(reversed, { a: '1', b: '2' }));
  assert.ok(a.equals(b));
  const n = Number(a.readBigUInt64LE(0));
  assert.is(n % 8, 0);
  const head = a.subarray(8, 8 + n).toString();
  assert.is(head[0], '{');
  assert.match(head, /^\{"__metadata__":\{"a":"1","b":"2"\},"big":/);
  assert.ok(/^ *$/.test(head.slice(head.lastIndexOf('}') + 1)));
  const h = JSON.parse(head);
  assert.equal(h.big.data_offsets, [0, 16]);
  assert.equal(h['conv1.weight'].data_offsets, [16, 40]);
});

test('views and unaligned buffers: input views are honoured, output arrays are aligned copies', () => {
  const backing = new Float32Array([9, 9, 1, 2, 3, 9]);
  const enc = encodeSafetensors({ x: { dtype: 'F32', shape: [3], data: backing.subarray(2, 5) } });
  const shifted = new Uint8Array(enc.length + 1);
  shifted.set(enc, 1);
  const out = decodeSafetensors(shifted.subarray(1));
  assert.equal(Array.from(out.tensors.x.data as Float32Array), [1, 2, 3]);
  // A foreign header whose length is not a multiple of 8 puts the data at an odd offset.
  const data = new Uint8Array(new Int32Array([7, -8]).buffer);
  const odd = craft({ v: { dtype: 'I32', shape: [2], data_offsets: [0, 8] } }, data);
  assert.ok((8 + Number(odd.readBigUInt64LE(0))) % 4 !== 0);
  assert.equal(Array.from(decodeSafetensors(odd).tensors.v.data as Int32Array), [7, -8]);
});

test('encode refuses tensors that do not match their shape or dtype', () => {
  assert.throws(
    () => encodeSafetensors({ a: { dtype: 'F32', shape: [3], data: new Float32Array(2) } }),
    (e: unknown) => e instanceof ShapeError && /holds 3 values/.test((e as Error).message),
  );
  const isA = (cls: abstract new (...args: never[]) => unknown) => (e: unknown) => e instanceof cls;
  assert.throws(
    () => encodeSafetensors({ a: { dtype: 'I32', shape: [2], data: new Float32Array(2) } }),
    isA(ShapeError),
  );
  assert.throws(
    () => encodeSafetensors({ a: { dtype: 'F16' as never, shape: [2], data: new Float32Array(2) } }),
    isA(ShapeError),
  );
  assert.throws(
    () => encodeSafetensors({ a: { dtype: 'F32', shape: [-2], data: new Float32Array(2) } }),
    isA(ShapeError),
  );
  assert.throws(
    () => encodeSafetensors({ __metadata__: { dtype: 'F32', shape: [0], data: new Float32Array(0) } }),
    isA(ShapeError),
  );
  assert.throws(() => encodeSafetensors({}, { a: 3 as never }), isA(FormatError));
});

test('write/read: atomic file with a sha256 checksum of the data section, verified on read', async () => {
  const path = join(dir, 'ck.safetensors');
  await writeSafetensors(path, sample(), { epoch: '7', checksum: 'ignored' });
  const bytes = readFileSync(path);
  const n = Number(bytes.readBigUInt64LE(0));
  const out = await readSafetensors(path);
  assert.is(
    out.metadata.checksum,
    createHash('sha256')
      .update(bytes.subarray(8 + n))
      .digest('hex'),
  );
  assert.is(out.metadata.epoch, '7');
  for (const [k, v] of Object.entries(sample())) same(out.tensors[k], v, k);
  // The buffer decoder checks it as well, and re-encoding drops the checksum it cannot vouch for.
  assert.is(decodeSafetensors(bytes).metadata.checksum, out.metadata.checksum);
  assert.is(decodeSafetensors(encodeSafetensors(out.tensors, out.metadata)).metadata.checksum, undefined);
});

test('checksum mismatch is detected by readSafetensors and decodeSafetensors', async () => {
  const path = join(dir, 'corrupt.safetensors');
  await writeSafetensors(path, sample());
  const bytes = readFileSync(path);
  bytes[bytes.length - 3] ^= 0x10; // one flipped bit in the data
  writeFileSync(path, bytes);
  try {
    await readSafetensors(path);
    assert.unreachable('corruption not detected');
  } catch (err) {
    assert.instance(err, FormatError);
    assert.ok((err as Error).message.startsWith(`${path}: checksum mismatch`), (err as Error).message);
  }
  throwsFormat(bytes, /checksum mismatch/);
});

test('readSafetensors names the file for truncated and hostile files', async () => {
  const path = join(dir, 'trunc.safetensors');
  writeFileSync(path, encodeSafetensors(sample()).subarray(0, 60));
  try {
    await readSafetensors(path);
    assert.unreachable();
  } catch (err) {
    assert.instance(err, FormatError);
    assert.ok((err as Error).message.startsWith(`${path}: `), (err as Error).message);
  }
  writeFileSync(path, Buffer.alloc(3));
  try {
    await readSafetensors(path);
    assert.unreachable();
  } catch (err) {
    assert.match((err as Error).message, /too short/);
  }
});

test('hostile headers: lengths', () => {
  throwsFormat(new Uint8Array(5), /5 bytes, too short/);
  throwsFormat(craft({}, undefined, 1000n), /header length 1000 exceeds the file size 10/);
  throwsFormat(craft({}, undefined, 200_000_000n), /exceeds the 104857600-byte limit/);
  throwsFormat(craft({}, undefined, 2n ** 64n - 1n), /high bits set, negative as i64: -1/);
  throwsFormat(craft({}, undefined, 2n ** 32n + 2n), /high bits set/);
  throwsFormat(craft('{', undefined, 1n), /too small/);
});

test('hostile headers: not JSON, not an object, not UTF-8', () => {
  throwsFormat(craft('{"a": [1,2'), /not valid JSON/);
  throwsFormat(craft('[1,2,3]'), /JSON array, not an object/);
  throwsFormat(craft('null'), /JSON null, not an object/);
  throwsFormat(craft('"str"'), /JSON string, not an object/);
  throwsFormat(craft(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]).toString('latin1')), /not valid/);
  const bad = Buffer.concat([Buffer.from([4, 0, 0, 0, 0, 0, 0, 0]), Buffer.from([0x7b, 0xc3, 0x28, 0x7d])]);
  throwsFormat(bad, /not valid UTF-8/);
});

test('hostile headers: dtypes and shapes', () => {
  const d4 = new Uint8Array(4);
  throwsFormat(craft({ a: { dtype: 'F16', shape: [2], data_offsets: [0, 4] } }, d4), /tensor "a": bad dtype "F16"/);
  throwsFormat(craft({ a: { dtype: 7, shape: [1], data_offsets: [0, 4] } }, d4), /bad dtype 7/);
  throwsFormat(
    craft({ a: { dtype: 'F32', shape: [1.5], data_offsets: [0, 4] } }, d4),
    /shape entry 1.5 is not a non-negative integer/,
  );
  throwsFormat(craft({ a: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, d4), /shape entry -1/);
  throwsFormat(craft({ a: { dtype: 'F32', shape: ['1'], data_offsets: [0, 4] } }, d4), /shape entry "1"/);
  throwsFormat(craft({ a: { dtype: 'F32', shape: 4, data_offsets: [0, 4] } }, d4), /shape is not an array/);
  throwsFormat(craft({ a: { dtype: 'F32', shape: [2 ** 40, 2 ** 40], data_offsets: [0, 4] } }, d4), /overflows/);
  throwsFormat(craft({ a: { dtype: 'F32', shape: new Array(40).fill(1), data_offsets: [0, 4] } }, d4), /rank 40/);
  throwsFormat(
    craft({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 4] } }, d4),
    /needs 8 bytes but data_offsets span 4/,
  );
  throwsFormat(craft({ a: 'F32' }, d4), /tensor "a": entry is not an object/);
});

test('hostile headers: offsets out of range, overlapping, leaving gaps', () => {
  const d8 = new Uint8Array(8);
  throwsFormat(
    craft(
      { a: { dtype: 'U8', shape: [4], data_offsets: [4, 8] }, b: { dtype: 'U8', shape: [4], data_offsets: [6, 10] } },
      d8,
    ),
    /\[6,10\] out of range \(data section is 8 bytes\)/,
  );
  throwsFormat(craft({ a: { dtype: 'U8', shape: [1], data_offsets: [-1, 0] } }, d8), /out of range/);
  throwsFormat(craft({ a: { dtype: 'U8', shape: [1], data_offsets: [5, 4] } }, d8), /out of range/);
  throwsFormat(craft({ a: { dtype: 'U8', shape: [1], data_offsets: [0] } }, d8), /not a pair of integers/);
  throwsFormat(craft({ a: { dtype: 'U8', shape: [1], data_offsets: [0, 1.5] } }, d8), /not a pair of integers/);
  throwsFormat(craft({ a: { dtype: 'U8', shape: [1], data_offsets: [0, 2 ** 60] } }, d8), /not a pair of integers/);
  throwsFormat(
    craft(
      { a: { dtype: 'U8', shape: [6], data_offsets: [0, 6] }, b: { dtype: 'U8', shape: [4], data_offsets: [4, 8] } },
      d8,
    ),
    /"b" \(bytes 4..8\) overlaps tensor "a"/,
  );
  throwsFormat(
    craft(
      { a: { dtype: 'U8', shape: [2], data_offsets: [0, 2] }, b: { dtype: 'U8', shape: [4], data_offsets: [4, 8] } },
      d8,
    ),
    /bytes 2..4 .*gap before "b"/,
  );
  throwsFormat(
    craft({ a: { dtype: 'U8', shape: [2], data_offsets: [0, 2] } }, d8),
    /bytes 2..8 .*do not cover the buffer/,
  );
  throwsFormat(craft({}, d8), /bytes 0..8/);
});

test('hostile headers: metadata is data, never code or prototype', () => {
  throwsFormat(craft({ __metadata__: { a: 1 } }), /metadata value for "a" is 1, not a string/);
  throwsFormat(craft({ __metadata__: { a: { toString: 'x' } } }), /not a string/);
  throwsFormat(craft({ __metadata__: ['x'] }), /"__metadata__" is not an object/);
  throwsFormat(craft('{"__metadata__": {"__proto__": "x"}}'), /metadata key "__proto__"/);
  throwsFormat(craft('{"__proto__": {"dtype":"U8","shape":[0],"data_offsets":[0,0]}}'), /"__proto__" is not allowed/);
  throwsFormat(craft({ __metadata__: { checksum: 'abc' } }), /not a sha256 hex digest/);
  const ok = decodeSafetensors(craft({ __metadata__: { constructor: 'x', toString: 'y' } }));
  assert.is(ok.metadata.constructor as unknown, 'x');
  assert.is(({} as Record<string, unknown>).x, undefined);
});

test('toNumbers and requireTensor', () => {
  const { tensors } = decodeSafetensors(encodeSafetensors(sample()));
  assert.equal(toNumbers(tensors.step), [123456789012345]);
  assert.equal(toNumbers(tensors.labels), [-2147483648, 0, 2147483647]);
  assert.throws(
    () => toNumbers(tensors.big, 'big', 'f'),
    (e: unknown) => e instanceof FormatError && /too large/.test((e as Error).message),
  );
  const file = { tensors, metadata: {} };
  assert.is(requireTensor(file, 'labels', 'I32', [3]).shape[0], 3);
  assert.throws(() => requireTensor(file, 'labels', 'F32', undefined, 'f'), /is I32, expected F32/);
  assert.throws(() => requireTensor(file, 'labels', 'I32', [4], 'f'), /has shape \[3\], expected \[4\]/);
  assert.throws(() => requireTensor(file, 'nope', 'I32', undefined, 'f'), /"nope" is missing/);
  assert.throws(() => requireTensor(file, 'toString', 'I32', undefined, 'f'), /missing/);
});

// numpy stands in for PyTorch's side (torch.from_numpy shares the buffer): it writes the format the
// way the reference implementation does (insertion order, no padding) and reads ours by hand.
const PY = '/usr/bin/python3';
const hasNumpy = existsSync(PY) && spawnSync(PY, ['-c', 'import numpy'], { timeout: 20_000 }).status === 0;

test('interop: numpy-written file decodes; our file reads in numpy', () => {
  if (!hasNumpy) return console.log('  (skipped: no python3 with numpy)');
  const pyFile = join(dir, 'py.safetensors'),
    ours = join(dir, 'ours.safetensors');
  writeFileSync(ours, encodeSafetensors(sample(), { source: 'node' }));
  const script = `
import json, struct, sys, numpy as np
arrs = {"w": np.arange(12, dtype=np.float32).reshape(3, 4) / 7, "y": np.array([-5, 9], dtype=np.int64), "u": np.array([250, 3, 1], dtype=np.uint8)}
header, blobs, off = {"__metadata__": {"format": "pt"}}, [], 0
for k, a in arrs.items():
    b = a.tobytes(); header[k] = {"dtype": {"float32": "F32", "int64": "I64", "uint8": "U8"}[str(a.dtype)], "shape": list(a.shape), "data_offsets": [off, off + len(b)]}; blobs.append(b); off += len(b)
h = json.dumps(header).encode()
open(sys.argv[1], "wb").write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
raw = open(sys.argv[2], "rb").read(); n = struct.unpack("<Q", raw[:8])[0]; hd = json.loads(raw[8:8 + n]); data = raw[8 + n:]
def get(k):
    e = hd[k]; dt = {"F32": "<f4", "I32": "<i4", "U32": "<u4", "U8": "u1", "I64": "<i8"}[e["dtype"]]; b, en = e["data_offsets"]
    return np.frombuffer(data[b:en], dtype=dt).reshape(e["shape"])
w = get("conv1.weight"); assert w.shape == (2, 3) and w[0, 0] == 1.5 and np.isnan(w[0, 2]) and np.isinf(w[1, 0])
assert get("labels").tolist() == [-2147483648, 0, 2147483647] and get("counts").tolist() == [0, 4294967295]
assert get("step").shape == () and int(get("step")) == 123456789012345 and get("big").tolist() == [-2**63, 2**63 - 1]
assert get("pixels").tolist() == [[0, 1, 127, 128, 255]] and get("empty").shape == (0, 4) and hd["__metadata__"]["source"] == "node"
print("ok")
`;
  const r = spawnSync(PY, ['-c', script, pyFile, ours], { encoding: 'utf8', timeout: 30_000 });
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /ok/);
  const got = decodeSafetensors(readFileSync(pyFile), pyFile);
  assert.is(got.metadata.format, 'pt');
  const w = got.tensors.w.data as Float32Array;
  assert.equal(got.tensors.w.shape, [3, 4]);
  assert.ok(Math.abs(w[11] - 11 / 7) < 1e-6);
  assert.equal(toNumbers(got.tensors.y), [-5, 9]);
  assert.equal(Array.from(got.tensors.u.data as Uint8Array), [250, 3, 1]);
});

test.run();
