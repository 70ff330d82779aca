// Seeded fuzzing of the safetensors reader: truncated, bit-flipped, spliced, random and structurally
// mutated files must decode consistently or throw FormatError — never another exception, never a hang.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { FormatError } from '../src/errors.js';
import { decodeSafetensors, encodeSafetensors, type NamedTensor } from '../src/formats/safetensors.js';

import { rng } from './helpers.js';

const r = rng(20120607);
const int = (n: number) => Math.floor(r() * n);
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];

function base(): Buffer[] {
  const t: Record<string, NamedTensor> = {
    'conv1.weight': { dtype: 'F32', shape: [2, 3, 2], data: Float32Array.from({ length: 12 }, (_, i) => i / 3) },
    'conv1.bias': { dtype: 'F32', shape: [2], data: new Float32Array([0, 1]) },
    labels: { dtype: 'I32', shape: [3], data: new Int32Array([1, -2, 3]) },
    idx: { dtype: 'U32', shape: [1], data: new Uint32Array([7]) },
    px: { dtype: 'U8', shape: [5], data: new Uint8Array([1, 2, 3, 4, 5]) },
    step: { dtype: 'I64', shape: [], data: new BigInt64Array([42n]) },
  };
  const plain = Buffer.from(encodeSafetensors(t, { epoch: '1' }));
  // One with a valid checksum, as writeSafetensors makes it.
  const n = Number(plain.readBigUInt64LE(0));
  const head = JSON.parse(plain.subarray(8, 8 + n).toString());
  head.__metadata__.checksum = createHash('sha256')
    .update(plain.subarray(8 + n))
    .digest('hex');
  return [plain, withHeader(head, plain.subarray(8 + n))];
}

function withHeader(head: unknown, data: Uint8Array, pad = int(3) === 0): Buffer {
  let json = JSON.stringify(head);
  if (pad) json += ' '.repeat((8 - (json.length % 8)) % 8);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return Buffer.concat([len, Buffer.from(json), data]);
}

const HOSTILE: unknown[] = [
  -1,
  0,
  1,
  3,
  1.5,
  2 ** 31,
  2 ** 32,
  2 ** 53,
  2 ** 60,
  1e300,
  -0,
  NaN,
  null,
  true,
  '',
  '4',
  'F32',
  'I64',
  'BF16',
  '__proto__',
  [],
  [0],
  [0, 0],
  [1, 2, 3],
  [-1, 4],
  [2 ** 40, 2 ** 40],
  {},
  { a: 1 },
  ['x'],
  [[1]],
];

function structural(buf: Buffer): Buffer {
  const n = Number(buf.readBigUInt64LE(0));
  const head = JSON.parse(buf.subarray(8, 8 + n).toString());
  let data: Uint8Array = buf.subarray(8 + n);
  const names = Object.keys(head);
  const name = pick(names);
  switch (int(7)) {
    case 0:
      head[name] = pick(HOSTILE);
      break;
    case 1:
      if (head[name] && typeof head[name] === 'object')
        head[name][pick(['dtype', 'shape', 'data_offsets', 'extra'])] = pick(HOSTILE);
      break;
    case 2:
      if (head[name]?.data_offsets) head[name].data_offsets[int(2)] += pick([-4, -1, 1, 4, 1000]);
      break;
    case 3:
      if (Array.isArray(head[name]?.shape)) head[name].shape.push(pick([0, 1, 2, -1]));
      break;
    case 4:
      data = data.subarray(0, int(data.length + 1));
      break;
    case 5:
      data = Buffer.concat([data, Buffer.alloc(1 + int(16))]);
      break;
    default:
      if (head.__metadata__)
        head.__metadata__[pick(['checksum', 'epoch', '__proto__', 'x'])] = pick(HOSTILE.concat(['0'.repeat(64)]));
      break;
  }
  return withHeader(head, data);
}

function mutate(buf: Buffer): Uint8Array {
  const b = Buffer.from(buf);
  switch (int(8)) {
    case 0:
      return b.subarray(0, int(b.length)); // truncated
    case 1: {
      // bit flips anywhere
      for (let k = 1 + int(8); k > 0; k--) b[int(b.length)] ^= 1 << int(8);
      return b;
    }
    case 2: {
      // bit flips in the length field or the JSON text
      const n = Number(buf.readBigUInt64LE(0));
      for (let k = 1 + int(3); k > 0; k--) b[int(Math.min(b.length, 8 + n))] ^= 1 << int(8);
      return b;
    }
    case 3: {
      // a forged length field
      b.writeUInt32LE(int(2 ** 32), int(2) * 4);
      return b;
    }
    case 4: {
      // random bytes spliced in or cut out
      const at = int(b.length),
        cut = int(12);
      return Buffer.concat([
        b.subarray(0, at),
        Buffer.from(Array.from({ length: int(12) }, () => int(256))),
        b.subarray(Math.min(b.length, at + cut)),
      ]);
    }
    case 5:
      return Buffer.from(Array.from({ length: int(200) }, () => int(256))); // noise
    case 6: {
      // noise after a plausible length
      const body = Buffer.from(
        Array.from({ length: int(120) }, () =>
          pick([...'{}[]":,0123456789-.eE tnulfarsF32I6U8'].map((c) => c.charCodeAt(0))),
        ),
      );
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(BigInt(int(body.length + 4)));
      return Buffer.concat([len, body]);
    }
    default:
      return structural(buf);
  }
}

test('2500 mutated files: only FormatError, and whatever decodes is self-consistent', () => {
  const bases = base();
  for (const b of bases) decodeSafetensors(b); // the unmutated files are valid
  let rejected = 0,
    accepted = 0;
  for (let i = 0; i < 2500; i++) {
    const bytes = mutate(pick(bases));
    let out: ReturnType<typeof decodeSafetensors> | undefined;
    try {
      out = decodeSafetensors(bytes, `fuzz-${i}`);
    } catch (err) {
      if (!(err instanceof FormatError))
        throw new Error(`case ${i}: not a FormatError: ${(err as Error)?.stack ?? err}`);
      assert.ok(err.message.startsWith(`fuzz-${i}: `), err.message);
      rejected++;
      continue;
    }
    accepted++;
    for (const [name, t] of Object.entries(out.tensors)) {
      assert.is(
        t.data.length,
        t.shape.reduce((a, c) => a * c, 1),
        `case ${i} tensor ${name}`,
      );
    }
    for (const v of Object.values(out.metadata)) assert.type(v, 'string');
  }
  assert.ok(rejected > 2000, `only ${rejected} rejected`);
  assert.is(({} as Record<string, unknown>).dtype, undefined); // nothing leaked into Object.prototype
  console.log(`  fuzz: ${rejected} rejected, ${accepted} accepted`);
});

test.run();
