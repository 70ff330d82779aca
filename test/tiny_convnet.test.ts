// End to end through the engine alone, as an embedding program would use it: a tiny grouped
// convnet (conv+ReLU → LRN → overlapping pool → grouped conv → linear) learns a fixed synthetic
// batch; the loss must fall by a factor, and device memory must stay flat from step 2 on.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { tensor, parameter, SGD, Tape } from '../src/index.js';
import { conv2d } from '../src/ops/conv2d.js';
import { lrn } from '../src/ops/lrn.js';
import { maxPool2d } from '../src/ops/pool.js';
import { linear } from '../src/ops/linear.js';
import { dropout } from '../src/ops/dropout.js';
import { softmaxCrossEntropy } from '../src/ops/softmax.js';
import { flatten } from '../src/ops/shape.js';
import { gpu, disposeGpu, rand } from './helpers.js';

test.after(disposeGpu);

test('a tiny convnet learns a fixed batch and does not leak', async () => {
  const e = await gpu();
  const B = 12,
    classes = 4;
  // each class is a different spatial pattern plus noise, so the task is learnable
  const xs = new Float32Array(B * 2 * 11 * 11),
    labels = new Int32Array(B);
  const noise = rand(xs.length, 7, -0.3, 0.3);
  for (let n = 0; n < B; n++) {
    labels[n] = n % classes;
    for (let c = 0; c < 2; c++)
      for (let y = 0; y < 11; y++)
        for (let x = 0; x < 11; x++) {
          const i = ((n * 2 + c) * 11 + y) * 11 + x;
          const on = labels[n] === 0 ? x < 5 : labels[n] === 1 ? y < 5 : labels[n] === 2 ? (x + y) % 2 === 0 : c === 1;
          xs[i] = (on ? 1 : -1) + noise[i];
        }
  }
  const x = tensor(e, xs, [B, 2, 11, 11]);
  const y = tensor(e, labels, [B], 'i32');
  const w1 = parameter(e, rand(8 * 2 * 9, 1, -0.3, 0.3), [8, 2, 3, 3], 'w1');
  const b1 = parameter(e, new Float32Array(8).fill(0.1), [8], 'b1');
  const w2 = parameter(e, rand(6 * 4 * 9, 2, -0.2, 0.2), [6, 4, 3, 3], 'w2');
  const b2 = parameter(e, new Float32Array(6).fill(0.1), [6], 'b2');
  const w3 = parameter(e, rand(classes * 6 * 3 * 3, 3, -0.2, 0.2), [classes, 54], 'w3');
  const b3 = parameter(e, new Float32Array(classes), [classes], 'b3');
  const opt = new SGD([w1, b1, w2, b2, w3, b3], { momentum: 0.9, weightDecay: 0.0005 });

  const losses: number[] = [];
  const allocated: number[] = [];
  for (let step = 0; step < 40; step++) {
    const tape = new Tape(e);
    const loss = tape.retain(
      tape.run(() => {
        let h = conv2d(x, w1, b1, { stride: 1, padding: 1, groups: 1, relu: true }); // [B,8,11,11]
        h = lrn(h, { size: 5, alpha: 1e-4, beta: 0.75, k: 2 });
        h = maxPool2d(h, { kernel: 3, stride: 2 }); // [B,8,5,5]
        h = conv2d(h, w2, b2, { stride: 2, padding: 1, groups: 2, relu: true }); // [B,6,3,3]
        h = dropout(flatten(h), 0.1, { seed: 1, step, training: true });
        return softmaxCrossEntropy(linear(h, w3, b3), y);
      }),
    );
    tape.backward(loss);
    opt.step(0.05);
    losses.push((await loss.read())[0]);
    tape.dispose();
    opt.zeroGrad();
    allocated.push(e.counters.bytesAllocated);
  }
  assert.ok(losses.every(Number.isFinite), `finite losses: ${losses}`);
  assert.ok(losses[0] > 1.2, `initial loss ≈ ln 4, got ${losses[0]}`);
  assert.ok(losses[39] < losses[0] / 4, `loss fell 4×: ${losses[0]} → ${losses[39]}`);
  const steady = allocated.slice(1);
  assert.equal(Math.min(...steady), Math.max(...steady), `bytes allocated flat from step 2: ${steady.join(',')}`);
  assert.ok(e.counters.bytesInUse <= e.counters.peakBytesInUse);
  opt.dispose();
  for (const t of [x, y, w1, b1, w2, b2, w3, b3]) t.dispose();
});

test.run();
