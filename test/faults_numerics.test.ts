// Numerical faults: a NaN injected into a gradient, an Inf into a weight, a NaN pixel in a float32 .npy
// (at the start, or written into the file mid-run) stop training with a NumericalError naming the first
// tensor that went bad, and the last good checkpoint keeps its bytes. --check-numerics names the op.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEngine } from '../src/node/dawn.js';
import { NumericalError } from '../src/errors.js';
import { NumericsMonitor } from '../src/tensor/numerics.js';
import { Tape } from '../src/tape.js';
import { tensor, parameter } from '../src/tensor/create.js';
import { linear } from '../src/ops/linear.js';
import { softmaxCrossEntropy } from '../src/ops/softmax.js';
import { readNpy, writeNpy } from '../src/node/files/npy.js';
import { loadCheckpoint } from '../src/node/files/checkpoint.js';
import { train, type TrainIO, type TrainOptions } from '../src/node/train/trainer.js';
import type { Model } from '../src/models/model.js';
import type { Tensor } from '../src/tensor/tensor.js';
import { gpu, disposeGpu } from './helpers.js';
import { makeData, options, quiet } from './fixtures/faults.js';

const dir = mkdtempSync(join(tmpdir(), 'faults-numerics-'));
const data = join(dir, 'data');
test.before(() => makeData(data, 48));
test.after(() => {
  disposeGpu();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * Train expecting a NumericalError at update `badStep`; checks that the checkpoint on disk is,
 * byte for byte, the last one written before the fault (or the one there before, if none was).
 */
async function failing(
  out: string,
  o: Partial<TrainOptions>,
  badStep: number | undefined,
  d = data,
  hooks: Partial<TrainIO> = {},
): Promise<NumericalError> {
  const ckPath = join(out, 'checkpoint.safetensors');
  let good = existsSync(ckPath) ? readFileSync(ckPath) : undefined,
    goodStep = 0;
  const err = await train(options(d, out, o), {
    ...quiet,
    ...hooks,
    engine: await gpu(),
    onStep: (s) => {
      good = readFileSync(ckPath);
      goodStep = s.step;
    },
  }).then(
    () => undefined,
    (e) => e,
  );
  assert.ok(err instanceof NumericalError, String(err?.stack ?? err));
  const step = Number(/^step (\d+) /.exec(err.message)?.[1]);
  if (badStep !== undefined) assert.is(step, badStep);
  if (good) {
    assert.ok(readFileSync(ckPath).equals(good), 'the last good checkpoint changed');
    if (goodStep) {
      assert.is(goodStep, step - 1);
      assert.is((await loadCheckpoint(ckPath)).state!.step, goodStep);
      assert.match(err.message, new RegExp(`the last good checkpoint, \\S+ \\(step ${goodStep}\\), was not touched`));
    }
  } else assert.not.ok(existsSync(ckPath));
  assert.equal(
    readdirSync(out).filter((n) => /\.tmp-|^\.lock$/.test(n)),
    [],
  );
  return err;
}

/**
 * TrainIO hooks writing `value` (NaN by default) into the first element of a parameter, before update
 * `step` (1-based) is computed, or of its gradient, between that step's backward and its update.
 */
function inject(f: { step: number; tensor: string; into: 'grad' | 'weight'; value?: number }): Partial<TrainIO> {
  const write = (t: Tensor | undefined) => t!.engine.writeBuffer(t!.buffer, 0, Float32Array.of(f.value ?? NaN));
  const param = (m: Model) => m.params.find((p) => p.name === f.tensor)!;
  return f.into === 'weight'
    ? {
        beforeStep: (n, m) => {
          if (n === f.step) write(param(m));
        },
      }
    : {
        beforeUpdate: (n, m) => {
          if (n === f.step) write(param(m).grad);
        },
      };
}

test('NaN in a gradient: NumericalError names that gradient at that step', async () => {
  const err = await failing(join(dir, 'grad'), {}, 4, data, inject({ step: 4, tensor: 'conv2.weight', into: 'grad' }));
  assert.match(err.message, /^step 4 \(epoch 1, batch 3\): gradient of conv2\.weight is NaN\. Training stopped/);
  assert.match(err.message, /--check-numerics/);
});

test('Inf in a weight: the loss is named first; --check-numerics names the op (fc8) that produced it', async () => {
  const plain = await failing(
    join(dir, 'weight'),
    {},
    3,
    data,
    inject({ step: 3, tensor: 'fc8.weight', into: 'weight', value: Infinity }),
  );
  assert.match(plain.message, /^step 3 \(epoch 1, batch 2\): loss is (NaN|Inf)/);
  const checked = await failing(
    join(dir, 'weight-checked'),
    { checkNumerics: true },
    3,
    data,
    inject({ step: 3, tensor: 'fc8.weight', into: 'weight', value: Infinity }),
  );
  assert.match(
    checked.message,
    /^step 3 \(epoch 1, batch 2\): fc8 \(linear\) output is (NaN|Inf|NaN and Inf); \d+ of the \d+ tensors checked this step are non-finite, this is the first\./,
  );
  assert.not.match(checked.message, /--check-numerics/);
});

/** The uint8 data as float32 N×1×28×28 in [0, 1], optionally with NaN at one pixel of sample `nanAt`. */
async function floatData(root: string, nanAt?: number): Promise<void> {
  mkdirSync(root, { recursive: true });
  const { data: px } = await readNpy(join(data, 'train_images.npy'));
  const f = Float32Array.from(px as Uint8Array, (v) => v / 255);
  if (nanAt !== undefined) f[nanAt * 784 + 300] = NaN;
  await writeNpy(join(root, 'train_images.npy'), f, [f.length / 784, 1, 28, 28]);
  await writeNpy(join(root, 'train_labels.npy'), (await readNpy(join(data, 'train_labels.npy'))).data as Int32Array, [
    f.length / 784,
  ]);
}

test('a NaN pixel in a float32 .npy: refused at the start, naming the sample', async () => {
  const d = join(dir, 'nan-data');
  await floatData(d, 17);
  const err = await failing(join(dir, 'nan-start'), {}, undefined, d);
  assert.match(err.message, /train: sample 17 holds NaN \(element 300\); training data must be finite/);
});

test('the data file gains a NaN mid-run: the step that meets it stops, naming the input sample', async () => {
  const d = join(dir, 'later-nan'),
    out = join(dir, 'nan-later');
  await floatData(d);
  await train(options(d, out, { steps: 2 }), { ...quiet, engine: await gpu() });
  await floatData(d, 29); // resumed runs take the mean from the checkpoint, so only the batch check can see it
  const err = await failing(out, { resume: out }, undefined, d);
  assert.match(
    err.message,
    /: input batch is NaN: sample 29 of \S+train holds NaN \(element 300 after preprocessing\)[;.]/,
  );
  assert.match(err.message, /The training data must be finite/);
});

test('NumericsMonitor: first bad tensor in watch order, NaN/Inf told apart, chunked tensors; the tape hook costs nothing when off', async () => {
  // a binding cap of 1 KiB splits a 1000-element tensor into 4 chunks
  const e = await createEngine({ limits: { maxStorageBufferBindingSize: 1024 } });
  try {
    const m = new NumericsMonitor(e, 8);
    const ok = tensor(e, new Float32Array(1000).fill(1), [1000]);
    const nan = tensor(
      e,
      Float32Array.from({ length: 1000 }, (_, i) => (i === 999 ? NaN : i)),
      [1000],
    );
    const inf = tensor(
      e,
      Float32Array.from({ length: 10 }, (_, i) => (i === 3 ? -Infinity : i)),
      [10],
    );
    m.watch(ok, 'ok');
    m.watch(inf, 'inf');
    m.watch(nan, 'nan');
    assert.equal(await m.firstBad(), { label: 'inf', index: 1, kind: 'Inf', count: 2 });
    m.reset();
    m.watch(ok, 'ok');
    m.watch(nan, 'nan');
    assert.equal(await m.firstBad(), { label: 'nan', index: 1, kind: 'NaN', count: 1 });
    m.reset();
    m.watch(ok, 'ok');
    assert.is(await m.firstBad(), undefined);
    // NaN in the 16-byte padding past a tensor's last element (a recycled buffer's leftovers) is not the tensor's
    const five = tensor(e, new Float32Array(5).fill(2), [5]);
    e.writeBuffer(five.buffer, 0, Float32Array.of(2, 2, 2, 2, 2, NaN, NaN, NaN));
    m.reset();
    m.watch(five, 'five');
    assert.is(await m.firstBad(), undefined);
    e.writeBuffer(five.buffer, 0, Float32Array.of(2, 2, 2, 2, Infinity, NaN, NaN, NaN));
    m.reset();
    m.watch(five, 'five');
    assert.equal(await m.firstBad(), { label: 'five', index: 0, kind: 'Inf', count: 1 });

    // one forward/backward of a linear layer: the hook adds its dispatches only while on
    const x = tensor(e, new Float32Array(8).fill(0.5), [2, 4]);
    const w = parameter(e, new Float32Array(12).fill(0.1), [3, 4], 'w');
    const y = tensor(e, Int32Array.of(0, 2), [2], 'i32');
    const step = async (numerics?: NumericsMonitor) => {
      const before = e.dispatchCount;
      const tape = new Tape(e, { numerics });
      tape.backward(tape.run(() => softmaxCrossEntropy(linear(x, w), y)));
      tape.dispose();
      w.grad?.dispose();
      w.grad = undefined;
      await e.sync();
      return e.dispatchCount - before;
    };
    const off = await step();
    m.reset();
    const on = await step(m);
    const watched = m.watched;
    assert.is(await step(), off);
    assert.ok(watched >= 3 && on >= off + watched, `on ${on}, off ${off}, watched ${watched}`);
    assert.is(await m.firstBad(), undefined);
  } finally {
    e.dispose();
  }
});

test.run();
