// The paper's update, v ← μv − λεw − εg, w ← w + v: a short hand-computed sequence; an odd-sized
// tensor (not a multiple of the kernel's four per invocation) over five steps against float64,
// also bound in chunks under 64 KiB bindings; a parameter excluded from decay; one without a
// gradient is left as it was.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SGD, parameter, tensor, type Engine } from '../src/index.js';
import { cappedEngine, close, disposeGpu, gpu, rand } from './helpers.js';

test.after(disposeGpu);

test("the paper's update matches a hand-computed sequence", async () => {
  const e = await gpu();
  const w = parameter(e, [1, -2], [2], 'w');
  const opt = new SGD([w], { momentum: 0.9, weightDecay: 0.5 });
  let wh = [1, -2],
    vh = [0, 0];
  const grads = [
    [0.5, -1],
    [1, 1],
    [-2, 0.25],
  ];
  for (const g of grads) {
    w.grad = tensor(e, g, [2]);
    opt.step(0.1);
    opt.zeroGrad();
    vh = vh.map((v, i) => 0.9 * v - 0.5 * 0.1 * wh[i] - 0.1 * g[i]);
    wh = wh.map((x, i) => x + vh[i]);
    close(await w.read(), wh, 1e-6, 1e-6, 'w');
    close(await opt.velocities[0].read(), vh, 1e-6, 1e-6, 'v');
  }
  opt.dispose();
  w.dispose();
});

/** Five steps of the update on `e` against float64; `decay` false for the second parameter. */
async function fiveSteps(e: Engine, n: number, label: string): Promise<void> {
  const lr = 0.01,
    mu = 0.9,
    wd = 0.0005;
  const w0 = rand(n, 1),
    b0 = rand(7, 2);
  const w = parameter(e, w0, [n], 'w'),
    b = parameter(e, b0, [7], 'b'),
    idle = parameter(e, [3, 4, 5], [3], 'idle');
  const opt = new SGD([w, b, idle], { momentum: mu, weightDecay: wd, noDecay: (p) => p.name === 'b' });
  const ref = [
    { w: Float64Array.from(w0), v: new Float64Array(n), decay: wd },
    { w: Float64Array.from(b0), v: new Float64Array(7), decay: 0 },
  ];
  for (let step = 0; step < 5; step++) {
    const gs = [rand(n, 10 + step), rand(7, 20 + step)];
    w.grad = tensor(e, gs[0], [n]);
    b.grad = tensor(e, gs[1], [7]);
    opt.step(lr);
    opt.zeroGrad();
    ref.forEach((r, k) => {
      const g = Float32Array.from(gs[k]); // what the GPU was given
      for (let i = 0; i < r.w.length; i++) {
        r.v[i] = mu * r.v[i] - r.decay * lr * r.w[i] - lr * g[i];
        r.w[i] += r.v[i];
      }
    });
  }
  close(await w.read(), ref[0].w, 1e-6, 1e-5, `${label}: w`);
  close(await opt.velocities[0].read(), ref[0].v, 1e-7, 1e-4, `${label}: v`);
  close(await b.read(), ref[1].w, 1e-6, 1e-5, `${label}: b, no decay`);
  assert.equal(Array.from(await idle.read()), [3, 4, 5], `${label}: a parameter without a gradient is left alone`);
  opt.dispose();
  w.dispose();
  b.dispose();
  idle.dispose();
}

test('an odd-sized tensor over five steps matches float64 (decay and no decay)', async () => {
  await fiveSteps(await gpu(), 1037, '1037 elements');
});

test('a tensor larger than one binding is updated in chunks (64 KiB bindings), same values', async () => {
  const e = await cappedEngine();
  try {
    const probe = tensor(e, new Float32Array(50_001), [50_001]);
    assert.ok(probe.chunks().length >= 3, 'bound in chunks');
    probe.dispose();
    await fiveSteps(e, 50_001, '50001 elements, chunked');
  } finally {
    e.dispose();
  }
});

test.run();
