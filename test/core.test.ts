// Engine core: device info, tensors, fill/axpy, activations vs float64 reference, the tape's
// accumulation, typed errors for bad input. (The update: sgd.test.ts.)
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  defineKernel,
  ShapeError,
  DisposedError,
  ShaderError,
  LimitError,
  Tensor,
  tensor,
  zeros,
  fill,
  axpby,
  relu,
  activation,
  parameter,
  Tape,
} from '../src/index.js';
import { createEngine } from '../src/node/index.js';
import { gpu, disposeGpu, rand, close } from './helpers.js';

test.after(disposeGpu);

test('engine reports adapter, limits and features', async () => {
  const e = await gpu();
  const info = e.info();
  assert.ok(info.limits.maxStorageBufferBindingSize >= 128 * 1024 * 1024);
  assert.ok(Array.isArray(info.features));
  assert.type(info.adapter.vendor, 'string');
});

test('upload, download, fill, axpby round trip', async () => {
  const e = await gpu();
  const x = tensor(e, [1, 2, 3, 4, 5], [5]);
  assert.equal(Array.from(await x.read()), [1, 2, 3, 4, 5]);
  const y = fill(zeros(e, [5]), 2);
  axpby(3, x, 0.5, y); // y = 3x + 1
  assert.equal(Array.from(await y.read()), [4, 7, 10, 13, 16]);
  x.dispose();
  y.dispose();
});

test('relu and tanh forward/backward match float64 on an odd size', async () => {
  const e = await gpu();
  const n = 1037;
  const xs = rand(n, 1, -2, 2),
    ws = rand(n, 2);
  for (const kind of ['relu', 'tanh'] as const) {
    const x = parameter(e, xs, [n], 'x');
    const tape = new Tape(e);
    const y = tape.run(() => activation(x, kind));
    const yExp = xs.map((v) => (kind === 'relu' ? Math.max(v, 0) : Math.tanh(v)));
    close(await y.read(), yExp, 1e-6, 1e-5, `${kind} forward`);
    tape.backward(y, tensor(e, ws, [n]));
    const gExp = xs.map((v, i) => (kind === 'relu' ? (v > 0 ? ws[i] : 0) : ws[i] * (1 - Math.tanh(v) ** 2)));
    close(await x.grad!.read(), gExp, 1e-6, 1e-5, `${kind} backward`);
    tape.dispose();
    x.dispose();
  }
});

test('gradients accumulate over fan-out and over backward calls', async () => {
  const e = await gpu();
  const x = parameter(e, [-1, 2, 3], [3], 'x');
  for (let rep = 1; rep <= 2; rep++) {
    const tape = new Tape(e);
    const s = tape.run(() => {
      const a = relu(x);
      relu(x); // x used twice
      return relu(a); // chain
    });
    tape.backward(s);
    tape.dispose();
    // only the path through s reaches the loss: d/dx = 1 where x > 0, times rep (accumulated)
    assert.equal(Array.from(await x.grad!.read()), [0, rep, rep]);
  }
  x.dispose();
});

test('bad input: shape mismatch, disposed tensor, bad reshape', async () => {
  const e = await gpu();
  const a = zeros(e, [3]),
    b = zeros(e, [4]);
  assert.throws(
    () => axpby(1, a, 1, b),
    (err: unknown) => err instanceof ShapeError && /\[3\].*\[4\]/.test((err as Error).message),
  );
  assert.throws(
    () => tensor(e, [1, 2, 3], [2, 2]),
    (err: unknown) => err instanceof ShapeError,
  );
  assert.throws(
    () => a.reshape([2, 2]),
    (err: unknown) => err instanceof ShapeError,
  );
  a.dispose();
  assert.throws(
    () => a.buffer,
    (err: unknown) => err instanceof DisposedError,
  );
  await a.read().then(
    () => assert.unreachable('read of disposed'),
    (err) => assert.instance(err, DisposedError),
  );
  b.dispose();
});

test('a tensor larger than maxBufferSize or the memory budget throws LimitError', async () => {
  const e = await createEngine({ memoryLimitBytes: 1 << 20 });
  assert.throws(
    () => new Tensor(e, [1 << 20]),
    (err: unknown) => err instanceof LimitError && /budget/.test((err as Error).message),
  );
  const big = Math.ceil(e.limits.maxBufferSize / 4) + 16;
  assert.throws(
    () => new Tensor(e, [big]),
    (err: unknown) => err instanceof LimitError && /maxBufferSize/.test((err as Error).message),
  );
  e.dispose();
  assert.throws(
    () => zeros(e, [1]),
    (err: unknown) => err instanceof DisposedError,
  );
});

test('a WGSL compile error surfaces as ShaderError with line:col', async () => {
  const e = await createEngine();
  const broken = defineKernel(
    'broken',
    'struct P { n: u32 }\n@group(0) @binding(0) var<uniform> p: P;\n@compute @workgroup_size(1) fn main() {\n  let x: f32 = p.n;\n}\n',
  );
  e.dispatch({ kernel: broken, params: { n: 0 }, buffers: [], workgroups: [1] });
  await e.sync().then(
    () => assert.unreachable('no error'),
    (err) => {
      assert.instance(err, ShaderError);
      assert.match(err.message, /broken\.wgsl:4:\d+/);
    },
  );
  e.dispose();
});

test.run();
