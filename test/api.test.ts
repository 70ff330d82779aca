// What a program that builds its own net uses besides the ops: named parameters to and from
// safetensors bytes, the initialisers, the evaluation scope (tidy), argmax / top-k accuracy, typed
// reads, custom layer tables through checkpoints; and the refusals of bad input on the way
// (dtypes, values that do not fit, reshape and flatten).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  FormatError,
  ShapeError,
  ValueError,
  Model,
  Rng,
  accuracy,
  archOf,
  argmax,
  conv2d,
  decodeParameters,
  encodeCheckpoint,
  encodeParameters,
  flatten,
  initParameter,
  initValues,
  isRecording,
  linear,
  loadModel,
  mini,
  parameter,
  relu,
  reshape,
  tanh,
  Tape,
  tensor,
  tidy,
  topk,
  topkHits,
  zeros,
  type Arch,
  type DType,
} from '../src/index.js';
import { close, disposeGpu, gpu, rand } from './helpers.js';

test.after(disposeGpu);

/** Bytes the pool holds for a tensor (buffers are padded to 16 bytes). */
const held = (t: { bytes: number }): number => Math.max(16, Math.ceil(t.bytes / 16) * 16);
const isErr = (cls: new (...a: never[]) => Error, re: RegExp) => (err: unknown) =>
  err instanceof cls && re.test((err as Error).message);

test('named parameters round-trip through safetensors bytes; missing, misshapen and duplicate names are refused', async () => {
  const e = await gpu();
  const w = parameter(e, rand(12, 1), [3, 4], 'fc.weight'),
    b = parameter(e, rand(3, 2), [3], 'fc.bias');
  const bytes = await encodeParameters([w, b], { note: 'mine' });
  const w2 = zeros(e, [3, 4], 'fc.weight'),
    b2 = zeros(e, [3], 'fc.bias');
  decodeParameters([w2, b2], bytes, 'net.safetensors');
  assert.equal(Array.from(await w2.read()), Array.from(await w.read()));
  assert.equal(Array.from(await b2.read()), Array.from(await b.read()));
  const other = zeros(e, [4, 4], 'fc.weight'),
    extra = zeros(e, [2], 'fc2.bias');
  assert.throws(
    () => decodeParameters([other, extra], bytes, 'net.safetensors'),
    isErr(
      FormatError,
      /net\.safetensors: not weights of these parameters: missing fc2\.bias; misshapen fc\.weight \[3,4\] \(expected \[4,4\]\)/,
    ),
  );
  assert.equal(Array.from(await other.read()), new Array(16).fill(0), 'nothing is written when anything is wrong');
  const corrupt = Uint8Array.from(bytes);
  corrupt[corrupt.length - 1] ^= 1;
  assert.throws(() => decodeParameters([w2, b2], corrupt, 'net.safetensors'), isErr(FormatError, /checksum mismatch/));
  await encodeParameters([w, zeros(e, [1], 'fc.weight')]).then(
    () => assert.unreachable(),
    (err) => assert.ok(isErr(ShapeError, /two are named 'fc\.weight'/)(err), String(err)),
  );
  for (const t of [w, b, w2, b2, other, extra]) t.dispose();
});

test('initialisers: normal σ, He √(2/fan_in), PyTorch U(±1/√fan_in), zeros; the same seed gives the same values', () => {
  const n = 64 * 5 * 5 * 100;
  const stats = (a: Float32Array) => {
    let m = 0,
      s = 0,
      lo = Infinity,
      hi = -Infinity;
    for (const v of a) {
      m += v;
      s += v * v;
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    m /= a.length;
    return { mean: m, std: Math.sqrt(s / a.length - m * m), lo, hi };
  };
  const normal = stats(initValues({ kind: 'normal', std: 0.01 }, [n], new Rng(1)));
  assert.ok(Math.abs(normal.mean) < 2e-4 && Math.abs(normal.std - 0.01) < 2e-4, JSON.stringify(normal));
  const shape = [100, 64, 5, 5],
    fan = 64 * 25;
  const he = stats(initValues({ kind: 'kaiming' }, shape, new Rng(2)));
  assert.ok(Math.abs(he.std - Math.sqrt(2 / fan)) < 0.01 * Math.sqrt(2 / fan), JSON.stringify(he));
  const torch = stats(initValues({ kind: 'torch' }, shape, new Rng(3)));
  const bound = 1 / Math.sqrt(fan);
  assert.ok(torch.lo >= -bound && torch.hi <= bound && torch.hi > 0.99 * bound, JSON.stringify(torch));
  assert.ok(Math.abs(torch.std - bound / Math.sqrt(3)) < 0.01 * bound, 'uniform std');
  const bias = stats(initValues({ kind: 'torch' }, [10000], new Rng(4), fan));
  assert.ok(bias.hi <= bound && bias.hi > 0.99 * bound, "a bias takes its weight's fan-in");
  assert.equal(Array.from(initValues({ kind: 'zeros' }, [3, 2], new Rng(5))), [0, 0, 0, 0, 0, 0]);
  assert.equal(
    Array.from(initValues({ kind: 'kaiming' }, [4, 3], new Rng(9))),
    Array.from(initValues({ kind: 'kaiming' }, [4, 3], new Rng(9))),
  );
  assert.not.equal(
    Array.from(initValues({ kind: 'kaiming' }, [4, 3], new Rng(9))),
    Array.from(initValues({ kind: 'kaiming' }, [4, 3], new Rng(10))),
  );
});

test("initParameter: a named trainable tensor with the initialiser's values", async () => {
  const e = await gpu();
  const p = initParameter(e, 'conv1.weight', [6, 3, 5, 5], { kind: 'kaiming' }, 7);
  assert.is(p.name, 'conv1.weight');
  assert.ok(p.requiresGrad);
  close(await p.read(), initValues({ kind: 'kaiming' }, [6, 3, 5, 5], new Rng(7)), 0, 0, 'values');
  p.dispose();
});

test('tidy: intermediates are freed, the returned tensors kept, nothing is recorded on the tape', async () => {
  const e = await gpu();
  const x = tensor(e, rand(2 * 3 * 8 * 8, 1), [2, 3, 8, 8]);
  const w = parameter(e, rand(4 * 3 * 3 * 3, 2, -0.3, 0.3), [4, 3, 3, 3], 'w');
  const fw = parameter(e, rand(5 * 4 * 16, 3, -0.1, 0.1), [5, 64], 'fc');
  const net = () => linear(flatten(relu(conv2d(x, w, undefined, { stride: 2, padding: 1 }))), fw);
  const tape = new Tape(e);
  const before = e.counters.bytesInUse;
  const logits = tape.run(() => {
    const l = tidy(e, net);
    assert.ok(isRecording(e), 'recording goes on after tidy');
    return l;
  });
  assert.is(tape.nodes.length, 0, 'no node recorded inside tidy');
  assert.is(e.counters.bytesInUse - before, held(logits), 'only the result is still allocated');
  close(await logits.read(), await net().read(), 0, 0, 'the same values as outside tidy');
  tape.dispose();
  // results in arrays and objects are kept; a nested tidy hands its result to the outer one
  const base = e.counters.bytesInUse;
  const { a, list } = tidy(e, () => ({ a: relu(x), list: [tidy(e, () => tanh(relu(x))), zeros(e, [3])] }));
  assert.is(e.counters.bytesInUse - base, held(a) + held(list[0]) + held(list[1]));
  assert.throws(() => tidy(e, (async () => relu(x)) as never), isErr(Error, /tidy: fn returned a Promise/));
  for (const t of [logits, a, ...list, x, w, fw]) t.dispose();
});

test('argmax, topk, topkHits and accuracy; ties rank the lower class first on both sides', async () => {
  const e = await gpu();
  const scores = [0.1, 0.7, 0.2, 0.0, /* row 1 */ 0.5, 0.5, 0.1, 0.9, /* row 2 */ 3, 2, 1, 0];
  assert.equal(Array.from(argmax(scores, 4)), [1, 3, 0]);
  assert.equal(Array.from(topk(scores, 4, 2)), [1, 2, 3, 0, 0, 1]);
  assert.equal(topkHits(scores, [2, 1, 3], 4), { top1: 0, top5: 3 });
  const logits = tensor(e, scores, [3, 4]);
  assert.is(await accuracy(logits, [1, 3, 1]), 2 / 3);
  assert.is(await accuracy(logits, [2, 1, 1], 2), 2 / 3, 'label 1 of row 1 ties with class 0, which ranks first');
  assert.throws(() => argmax(scores, 5), isErr(ShapeError, /12 scores are not rows of 5 classes/));
  await accuracy(logits, [0, 4, 0]).then(
    () => assert.unreachable(),
    (err) => assert.ok(isErr(ShapeError, /label 4 at index 1 is outside \[0, 4\)/)(err)),
  );
  logits.dispose();
});

test('typed reads: readF32, readI32, readU32 refuse another dtype', async () => {
  const e = await gpu();
  const f = tensor(e, [1.5, 2], [2]),
    i = tensor(e, [-3, 4], [2], 'i32'),
    u = tensor(e, [5, 6], [2], 'u32');
  assert.equal(Array.from(await f.readF32()), [1.5, 2]);
  assert.equal(Array.from(await i.readI32()), [-3, 4]);
  assert.equal(Array.from(await u.readU32()), [5, 6]);
  await i.readF32().then(
    () => assert.unreachable(),
    (err) => assert.ok(isErr(ShapeError, /readF32: tensor has dtype i32, expected f32/)(err), String(err)),
  );
  await f.readU32().then(
    () => assert.unreachable(),
    (err) => assert.ok(err instanceof ShapeError),
  );
  for (const t of [f, i, u]) t.dispose();
});

test('tensor() refuses unknown dtypes and values the dtype cannot hold, before allocating', async () => {
  const e = await gpu();
  const bytes = e.counters.bytesInUse;
  assert.throws(
    () => tensor(e, [1], [1], 'f16' as DType),
    isErr(ShapeError, /unknown dtype 'f16' \(expected f32, u32, i32\)/),
  );
  assert.throws(
    () => tensor(e, [1, 1.5], [2], 'i32'),
    isErr(ValueError, /value 1\.5 at index 1 does not fit dtype i32/),
  );
  assert.throws(
    () => tensor(e, [-1], [1], 'u32'),
    isErr(ValueError, /value -1 at index 0 does not fit dtype u32 \(integers in \[0, 4294967295\]\)/),
  );
  assert.throws(() => tensor(e, [2 ** 31], [1], 'i32'), isErr(ValueError, /value 2147483648/));
  assert.throws(() => tensor(e, [NaN], [1], 'i32'), isErr(ValueError, /value NaN/));
  assert.is(e.counters.bytesInUse, bytes, 'nothing was allocated');
  const t = tensor(e, [0, 0], [2], 'i32');
  assert.throws(() => t.write([0, 2 ** 32]), isErr(ValueError, /write to tensor 'tensor': value 4294967296/));
  assert.equal(Array.from(await t.read()), [0, 0], 'a refused write leaves the tensor as it was');
  assert.equal(Array.from(await tensor(e, [2 ** 31 - 1, -(2 ** 31)], [2], 'i32').read()), [2 ** 31 - 1, -(2 ** 31)]);
  t.dispose();
});

test('relu and tanh on an integer tensor are dtype errors, not reinterpreted bits', async () => {
  const e = await gpu();
  const i = tensor(e, [3, -2], [2], 'i32', 'counts');
  const count = e.dispatchCount;
  assert.throws(() => relu(i), isErr(ShapeError, /relu: x has dtype i32, expected f32/));
  assert.throws(() => tanh(tensor(e, [1], [1], 'u32')), isErr(ShapeError, /tanh: x has dtype u32, expected f32/));
  assert.is(e.dispatchCount, count);
  i.dispose();
});

test('reshape errors name the op, the tensor and both shapes; flatten needs rank ≥ 2', async () => {
  const e = await gpu();
  const x = tensor(e, new Float32Array(6), [2, 3], 'f32', 'h');
  assert.throws(
    () => reshape(x, [4, 2]),
    isErr(ShapeError, /^reshape: tensor 'h' \[2,3\] \(6 elements\) cannot become \[4,2\]: it holds 8 elements$/),
  );
  assert.throws(
    () => reshape(x, [-1, 4]),
    isErr(
      ShapeError,
      /reshape: tensor 'h' \[2,3\] \(6 elements\) cannot become \[-1,4\]: 6 elements do not divide into rows of 4/,
    ),
  );
  assert.throws(() => reshape(x, [-1, -1]), isErr(ShapeError, /more than one dimension is -1/));
  assert.throws(() => reshape(x, [2, 1.5, 2]), isErr(ShapeError, /non-negative integers/));
  assert.equal([...reshape(x, [3, -1]).shape], [3, 2]);
  assert.throws(
    () => flatten(tensor(e, [1, 2], [2], 'f32', 'v')),
    isErr(ShapeError, /flatten: tensor 'v' \[2\] has rank 1/),
  );
  assert.equal([...flatten(tensor(e, new Float32Array(24), [2, 3, 4])).shape], [2, 12]);
  x.dispose();
});

test('a layer table of its own: a Model, its checkpoint bytes, and loadModel with the table', async () => {
  const e = await gpu();
  const tiny: Arch = {
    name: 'tiny',
    channels: 1,
    inputSize: 12,
    pixelScale: 1 / 255,
    layers: [
      {
        kind: 'conv',
        name: 'c1',
        out: 4,
        kernel: 3,
        stride: 1,
        pad: 1,
        groups: 1,
        relu: true,
        init: { kind: 'kaiming' },
        bias: 0,
      },
      { kind: 'maxpool', kernel: 2, stride: 2 },
      { kind: 'flatten' },
      { kind: 'linear', name: 'head', out: 'classes', relu: false, init: { kind: 'normal', std: 0.01 }, bias: 0 },
    ],
  };
  const model = new Model(e, tiny, { classes: 3, seed: 4 });
  assert.equal(
    model.params.map((p) => p.name),
    ['c1.weight', 'c1.bias', 'head.weight', 'head.bias'],
  );
  const meta = { arch: 'tiny', classes: 3, channels: 1, inputSize: 12, mean: [0.5], pixelScale: 1 / 255 };
  const bytes = await encodeCheckpoint(model, meta);
  assert.throws(
    () => loadModel(e, bytes, 'tiny.safetensors'),
    isErr(FormatError, /tiny\.safetensors: metadata "meta": arch is "tiny", expected one of paper, torchvision, mini/),
  );
  const { model: back, meta: m } = loadModel(e, bytes, 'tiny.safetensors', tiny);
  assert.is(m.arch, 'tiny');
  const x = tensor(e, rand(2 * 144, 5), [2, 1, 12, 12]);
  close(
    await back.forward(x, { training: false }).read(),
    await model.forward(x, { training: false }).read(),
    0,
    0,
    'same logits',
  );
  assert.throws(
    () => loadModel(e, bytes, 'tiny.safetensors', mini),
    isErr(FormatError, /a checkpoint of arch tiny, not mini|expected one of/),
  );
  assert.throws(
    () => archOf('nope'),
    isErr(ShapeError, /unknown arch 'nope' \(built in: paper, torchvision, mini; or pass a layer table\)/),
  );
  model.dispose();
  back.dispose();
  x.dispose();
});

test.run();
