// The step profiler: every dispatch of a training step is timed and attributed to its layer and
// direction; the parts add up to the step and the multiplying layers get a GFLOP/s figure.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { profileStep, formatProfile } from '../src/train/profile.js';
import { gpu, disposeGpu } from './helpers.js';

test.after(disposeGpu);

test('profile of a mini training step names every layer, forward and backward', async () => {
  const e = await gpu();
  const p = await profileStep(e, 'mini', 4, 10);
  const labels = p.rows.map((r) => r.label);
  for (const l of [
    'conv1',
    'conv1.lrn',
    'conv1.maxpool',
    'conv2',
    'fc8',
    'loss',
    'fc8 backward',
    'conv2 backward',
    'conv1 backward',
    'update',
  ]) {
    assert.ok(labels.includes(l), `${l} in ${labels.join(', ')}`);
  }
  assert.ok(p.gpuMs > 0 && p.rows.every((r) => r.ms >= 0));
  assert.ok(Math.abs(p.rows.reduce((s, r) => s + r.share, 0) - 1) < 1e-9);
  assert.ok(p.rows.find((r) => r.label === 'conv2')!.gflops! > 0);
  assert.is(p.rows.find((r) => r.label === 'update')!.dispatches, 16); // one SGD dispatch per parameter tensor
  assert.match(formatProfile(p, 'title'), /conv2 backward/);
  assert.is(e.counters.bytesInUse, 0, 'the profiled step released everything');
});

test.run();
