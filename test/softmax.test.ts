// Softmax cross-entropy and softmax (src/ops/softmax.ts) against the float64 reference
// (test/ref/softmax.ts): odd batch and class counts, logits of ±80 (max subtraction), the fused
// gradient through the tape with a non-unit incoming gradient, finite differences, a
// reproducible loss, NaN for an out-of-range label, and ShapeErrors for bad labels.
// Tolerances: loss atol 1e-5 + rtol 1e-5 (K ≤ 1000 exps summed in float32); dlogits and probs
// atol 1e-6 + rtol 1e-4; finite differences (h = 1e-4 on the float64 reference) atol 1e-5.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ShapeError, Tape, ValueError, parameter, tensor } from '../src/index.js';
import { maxPool2dForward } from '../src/ops/pool.js';
import { softmax, softmaxCrossEntropy } from '../src/ops/softmax.js';
import { softmaxRef, softmaxXentRef } from './ref/softmax.js';
import { close, disposeGpu, gpu, numericGrad, rand } from './helpers.js';

test.after(disposeGpu);

const labelsFor = (B: number, K: number, seed: number): number[] => Array.from(rand(B, seed, 0, K), Math.floor);

test('loss, dlogits and probs match float64 on odd shapes and ±80 logits', async () => {
  const e = await gpu();
  let seed = 1,
    run = 0;
  for (const [B, K] of [
    [3, 1],
    [5, 9],
    [7, 1000],
    [4, 10],
  ]) {
    for (const range of [3, 80]) {
      const xs = rand(B * K, seed++, -range, range),
        ls = labelsFor(B, K, seed++);
      const label = `B=${B} K=${K} ±${range}`;
      const logits = parameter(e, xs, [B, K], 'logits');
      const labels = tensor(e, ls, [B], run++ % 2 ? 'u32' : 'i32'); // both label dtypes, alternately
      const ref = softmaxXentRef(xs, ls, B, K);
      const tape = new Tape(e);
      const loss = tape.run(() => softmaxCrossEntropy(logits, labels));
      tape.retain(loss);
      tape.backward(loss, tensor(e, [2.5], [1])); // dL/dloss = 2.5: the backward must scale
      const got = await loss.read();
      assert.equal(loss.shape, [1]);
      close(got, [ref.loss], 1e-5, 1e-5, `${label} loss`);
      close(
        await logits.grad!.read(),
        ref.dlogits.map((v) => 2.5 * v),
        1e-6,
        1e-4,
        `${label} dlogits`,
      );
      const probs = softmax(logits);
      close(await probs.read(), softmaxRef(xs, B, K), 1e-6, 1e-4, `${label} probs`);
      tape.dispose();
      probs.dispose();
      logits.dispose();
      labels.dispose();
    }
  }
});

test('reference gradient and GPU gradient match finite differences of the reference loss', async () => {
  const e = await gpu();
  const B = 3,
    K = 5;
  const xs = rand(B * K, 21, -4, 4),
    ls = [4, 0, 2];
  const fd = numericGrad((x) => softmaxXentRef(x, ls, B, K).loss, xs);
  close(softmaxXentRef(xs, ls, B, K).dlogits, fd, 1e-8, 1e-6, 'reference dlogits');
  const logits = parameter(e, xs, [B, K], 'logits');
  const tape = new Tape(e);
  const loss = tape.run(() => softmaxCrossEntropy(logits, tensor(e, ls, [B], 'u32')));
  tape.backward(loss);
  close(await logits.grad!.read(), fd, 1e-5, 1e-4, 'GPU dlogits vs finite differences');
  tape.dispose();
  logits.dispose();
});

test('the loss is bitwise reproducible and saturates without overflow', async () => {
  const e = await gpu();
  const B = 6,
    K = 1000;
  const xs = rand(B * K, 5, -80, 80),
    ls = labelsFor(B, K, 6);
  const logits = tensor(e, xs, [B, K]),
    labels = tensor(e, ls, [B], 'i32');
  const a = await softmaxCrossEntropy(logits, labels).read(),
    b = await softmaxCrossEntropy(logits, labels).read();
  assert.is(a[0], b[0]);
  // a confident right answer costs ~0, a confident wrong one ~ the logit gap, both finite
  const sure = tensor(e, [100, -100, 0, -100, 100, 0], [2, 3]);
  const l = await softmaxCrossEntropy(sure, tensor(e, [0, 0], [2], 'i32')).read();
  close(l, [(0 + 200) / 2], 1e-4, 1e-6, 'saturated loss');
  logits.dispose();
  labels.dispose();
  sure.dispose();
});

test('labels written from the host outside [0, K) are a ValueError naming the label and its index, before dispatching', async () => {
  const e = await gpu();
  const logits = tensor(e, rand(12, 31), [3, 4]);
  const count = e.dispatchCount;
  for (const [labels, dtype, re] of [
    [[1, 4, 3], 'i32', /label 4 at index 1 of 'labels' is outside \[0, 4\)/],
    [[-1, 0, 3], 'i32', /label -1 at index 0 of 'labels' is outside \[0, 4\)/],
    [[0, 2, 7], 'u32', /label 7 at index 2 of 'labels'/],
  ] as const) {
    const y = tensor(e, labels, [3], dtype, 'labels');
    assert.throws(
      () => softmaxCrossEntropy(logits, y),
      (err: unknown) => err instanceof ValueError && re.test((err as Error).message),
    );
    y.dispose();
  }
  assert.is(e.dispatchCount, count, 'nothing was dispatched');
  logits.dispose();
});

test('labels computed on the device outside [0, K) give a NaN loss and a zero gradient row', async () => {
  const e = await gpu();
  const xs = rand(12, 31),
    logits = parameter(e, xs, [3, 4], 'logits');
  for (const bad of [4, 6]) {
    // u32 labels the host never saw: the argmax of a 1×7 max-pool over three rows peaking at 1, bad, 3
    const rows = Float32Array.from({ length: 21 }, (_, i) => (i % 7 === [1, bad, 3][Math.floor(i / 7)] ? 1 : 0));
    const peaks = tensor(e, rows, [3, 1, 1, 7]);
    const { y, argmax: labels } = maxPool2dForward(peaks, { kernel: [1, 7] });
    assert.equal(Array.from(await labels.read()), [1, bad, 3]);
    assert.is(labels.valueRange, undefined);
    const tape = new Tape(e);
    const loss = tape.run(() => softmaxCrossEntropy(logits, labels.reshape([3])));
    tape.retain(loss);
    tape.backward(loss);
    assert.ok(Number.isNaN((await loss.read())[0]), `label ${bad}: loss is NaN`);
    const g = await logits.grad!.read();
    assert.equal(Array.from(g.slice(4, 8)), [0, 0, 0, 0]);
    close(
      g.slice(0, 4),
      softmaxXentRef(xs.slice(0, 4), [1], 1, 4).dlogits.map((v) => v / 3),
      1e-6,
      1e-4,
      'valid row',
    );
    tape.dispose();
    logits.grad!.dispose();
    logits.grad = undefined;
    for (const t of [peaks, y, labels]) t.dispose();
  }
  logits.dispose();
});

test('bad labels or logits throw ShapeError before dispatching', async () => {
  const e = await gpu();
  const logits = tensor(e, rand(12, 1), [3, 4]);
  const is = (re: RegExp) => (err: unknown) => err instanceof ShapeError && re.test((err as Error).message);
  const count = e.dispatchCount;
  assert.throws(() => softmaxCrossEntropy(logits, tensor(e, [0, 1, 2], [3], 'f32')), is(/softmaxCrossEntropy.*f32/));
  assert.throws(
    () => softmaxCrossEntropy(logits, tensor(e, [0, 1], [2], 'i32')),
    is(/softmaxCrossEntropy.*\[2\].*\[3,4\]/),
  );
  assert.throws(() => softmaxCrossEntropy(logits, tensor(e, [0, 1, 2], [3, 1], 'i32')), is(/\[3,1\].*\[3,4\]/));
  assert.throws(() => softmaxCrossEntropy(logits.reshape([12]), tensor(e, [0], [1], 'i32')), is(/logits.*\[12\]/));
  assert.throws(() => softmax(tensor(e, [1, 2], [2, 1], 'i32')), is(/softmax.*dtype i32/));
  assert.is(e.dispatchCount, count);
  logits.dispose();
});

test.run();
