// Whole layers against PyTorch (torch 1.13 CPU via /usr/bin/python3, float64 where it computes the
// reference): conv2d forward and its three gradients on AlexNet-like grouped and strided shapes;
// max-pool values, indices and gradient, average and adaptive average pools; LRN as
// torch.nn.LocalResponseNorm(n, alpha = n·α, beta, k). The cases are the kernel tests' (test/cases/).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tape, parameter, tensor, type Tensor } from '../src/index.js';
import { adaptiveAvgPool2d, avgPool2d, maxPool2dBackward, maxPool2dForward } from '../src/ops/pool.js';
import { lrn, lrnBackward } from '../src/ops/lrn.js';
import { lrnBackwardRef, lrnRef } from './ref/lrn.js';
import { poolOutShape } from './ref/pool.js';
import { close, disposeGpu, gpu, rand } from './helpers.js';
import { closeConv, label, makeData, runGpu, type Case } from './cases/conv2d.js';
import { ADAPTIVE_CASES, AVG_CASES, MAX_CASES, f32r, numel } from './cases/pool.js';
import { CASES as LRN_CASES } from './cases/lrn.js';
import { runTorch } from './torch.js';

test.after(disposeGpu);

test('PyTorch (torch.nn.functional.conv2d, float64) agrees: AlexNet-like grouped and strided convs', async () => {
  const e = await gpu();
  const dir = mkdtempSync(join(tmpdir(), 'conv2d-torch-'));
  try {
    const cases: Case[] = [
      { x: [2, 6, 15, 15], w: [16, 3, 5, 5], padding: 2, groups: 2, relu: true, bias: true }, // conv2, two "GPUs"
      { x: [2, 3, 35, 35], w: [8, 3, 11, 11], stride: 4, padding: 2, relu: true, bias: true }, // conv1
      { x: [3, 8, 7, 7], w: [12, 4, 3, 3], padding: 1, groups: 2, bias: true }, // conv4/5
    ];
    const ours = [];
    for (const [i, c] of cases.entries()) {
      const d = makeData(c, 51 + i);
      ours.push(await runGpu(e, d, c));
      const f32 = (a: ArrayLike<number>) => Buffer.from(Float32Array.from(a).buffer);
      writeFileSync(join(dir, `${i}.x`), f32(d.xs));
      writeFileSync(join(dir, `${i}.w`), f32(d.ws));
      writeFileSync(join(dir, `${i}.b`), f32(d.bs!));
      writeFileSync(join(dir, `${i}.dy`), f32(d.dys)); // the f32 values the GPU saw
    }
    const py = `
import json, sys, torch
d, cases = sys.argv[1], json.loads(sys.argv[2])
def load(p, shape): return torch.frombuffer(bytearray(open(p, 'rb').read()), dtype=torch.float32).double().reshape(shape)
for i, c in enumerate(cases):
    x = load(f'{d}/{i}.x', c['x']).requires_grad_(); w = load(f'{d}/{i}.w', c['w']).requires_grad_()
    b = load(f'{d}/{i}.b', [c['w'][0]]).requires_grad_()
    y = torch.nn.functional.conv2d(x, w, b, stride=c.get('stride', 1), padding=c.get('padding', 0), groups=c.get('groups', 1))
    if c.get('relu'): y = torch.relu(y)
    y.backward(load(f'{d}/{i}.dy', list(y.shape)))
    for k, t in (('y', y), ('dx', x.grad), ('dw', w.grad), ('db', b.grad)):
        open(f'{d}/{i}.{k}.out', 'wb').write(t.detach().float().numpy().tobytes())
`;
    const r = spawnSync('/usr/bin/python3', ['-c', py, dir, JSON.stringify(cases)], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    if (r.error || r.status !== 0) {
      assert.unreachable(
        `PyTorch cross-check needs /usr/bin/python3 with torch (Debian: apt-get install python3-torch): ${r.error?.message ?? r.stderr}`,
      );
    }
    for (const [i, c] of cases.entries()) {
      const read = (k: string) => new Float32Array(new Uint8Array(readFileSync(join(dir, `${i}.${k}.out`))).buffer);
      for (const k of ['y', 'dx', 'dw', 'db'] as const) closeConv(ours[i][k], read(k), `torch ${label(c)}: ${k}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('PyTorch agrees: max-pool values, indices and gradient; average pools', async () => {
  const e = await gpu();
  const maxCases = [...MAX_CASES, { ...MAX_CASES[1], label: 'ties' }].map((c, i) => {
    const xs =
      i === MAX_CASES.length
        ? rand(numel(c.shape), 41, 0, 3).map(Math.floor)
        : f32r(rand(numel(c.shape), 40 + i, -2, 2));
    const out = poolOutShape(c.shape, c.opts);
    return { ...c, xs, dys: f32r(rand(numel(out), 50 + i)) };
  });
  const avgCases = AVG_CASES.map((c, i) => ({
    ...c,
    xs: f32r(rand(numel(c.shape), 60 + i)),
    dys: f32r(rand(numel(poolOutShape(c.shape, c.opts)), 70 + i)),
  }));
  const adCases = ADAPTIVE_CASES.map((c, i) => ({
    ...c,
    xs: f32r(rand(numel(c.shape), 80 + i)),
    dys: f32r(rand(numel(poolOutShape(c.shape, { adaptive: c.size })), 90 + i)),
  }));
  const script = `
import json, sys, torch
import torch.nn.functional as F
inp = json.load(open(sys.argv[1]))
pair = lambda v: tuple(v) if isinstance(v, list) else (v, v)
out = {'max': [], 'avg': [], 'adaptive': []}
for c in inp['max']:
    o = c['opts']; k = pair(o['kernel']); s = pair(o.get('stride', o['kernel'])); p = pair(o.get('padding', 0))
    x = torch.tensor(c['xs'], dtype=torch.float32).reshape(c['shape']).requires_grad_()
    y, idx = F.max_pool2d(x, k, s, p, return_indices=True)
    y.backward(torch.tensor(c['dys'], dtype=torch.float32).reshape(y.shape))
    out['max'].append({'y': y.flatten().tolist(), 'idx': idx.flatten().tolist(), 'dx': x.grad.flatten().tolist()})
for c in inp['avg']:
    o = c['opts']; k = pair(o['kernel']); s = pair(o.get('stride', o['kernel'])); p = pair(o.get('padding', 0))
    x = torch.tensor(c['xs'], dtype=torch.float64).reshape(c['shape']).requires_grad_()
    y = F.avg_pool2d(x, k, s, p, count_include_pad=o.get('countIncludePad', True))
    y.backward(torch.tensor(c['dys'], dtype=torch.float64).reshape(y.shape))
    out['avg'].append({'y': y.flatten().tolist(), 'dx': x.grad.flatten().tolist()})
for c in inp['adaptive']:
    x = torch.tensor(c['xs'], dtype=torch.float64).reshape(c['shape']).requires_grad_()
    y = F.adaptive_avg_pool2d(x, tuple(c['size']))
    y.backward(torch.tensor(c['dys'], dtype=torch.float64).reshape(y.shape))
    out['adaptive'].append({'y': y.flatten().tolist(), 'dx': x.grad.flatten().tolist()})
print(json.dumps(out))
`;
  const arr = (a: Float64Array) => Array.from(a);
  const t = runTorch(script, {
    max: maxCases.map((c) => ({ shape: c.shape, opts: c.opts, xs: arr(c.xs), dys: arr(c.dys) })),
    avg: avgCases.map((c) => ({ shape: c.shape, opts: c.opts, xs: arr(c.xs), dys: arr(c.dys) })),
    adaptive: adCases.map((c) => ({ shape: c.shape, size: c.size, xs: arr(c.xs), dys: arr(c.dys) })),
  });
  for (const [i, c] of maxCases.entries()) {
    const x = parameter(e, c.xs, c.shape, 'x');
    const { y, argmax } = maxPool2dForward(x, c.opts);
    close(await y.read(), t.max[i].y, 0, 0, `torch ${c.label}: forward`);
    assert.equal(Array.from(await argmax.read()), t.max[i].idx, `torch ${c.label}: indices`);
    const dy = tensor(e, c.dys, y.shape);
    const dx = maxPool2dBackward(dy, argmax, c.shape, c.opts);
    close(await dx.read(), t.max[i].dx, 1e-6, 1e-6, `torch ${c.label}: backward`);
    for (const z of [x, y, argmax, dy, dx]) z.dispose();
  }
  const avgRuns = [
    ...avgCases.map((c, i) => ({ c, r: t.avg[i], run: (x: Tensor) => avgPool2d(x, c.opts), label: c.label })),
    ...adCases.map((c, i) => ({
      c,
      r: t.adaptive[i],
      run: (x: Tensor) => adaptiveAvgPool2d(x, c.size),
      label: `adaptive → ${c.size}`,
    })),
  ];
  for (const { c, r, run, label } of avgRuns) {
    const x = parameter(e, c.xs, c.shape, 'x');
    const tape = new Tape(e);
    const y = tape.run(() => run(x));
    close(await y.read(), r.y, 1e-6, 1e-5, `torch ${label}: forward`);
    const seedT = tensor(e, c.dys, y.shape);
    tape.backward(y, seedT);
    close(await x.grad!.read(), r.dx, 1e-6, 1e-5, `torch ${label}: backward`);
    tape.dispose();
    seedT.dispose();
    x.dispose();
  }
});

test('paper LRN equals torch.nn.LocalResponseNorm(5, alpha=5e-4, beta=0.75, k=2) (torch divides α by n)', async () => {
  const e = await gpu();
  const cases = LRN_CASES.map((c, i) => {
    const xs = f32r(rand(numel(c.shape), 70 + i, c.lo, c.hi));
    return { ...c, xs, dys: f32r(rand(xs.length, 80 + i)) };
  });
  const script = `
import json, sys, torch
inp = json.load(open(sys.argv[1]))
out = []
for c in inp:
    o = c['opts']
    m = torch.nn.LocalResponseNorm(o['size'], alpha=o['alpha'] * o['size'], beta=o['beta'], k=o['k'])
    x = torch.tensor(c['xs'], dtype=torch.float64).reshape(c['shape']).requires_grad_()
    y = m(x)
    y.backward(torch.tensor(c['dys'], dtype=torch.float64).reshape(y.shape))
    out.append({'y': y.flatten().tolist(), 'dx': x.grad.flatten().tolist(), 'repr': repr(m)})
print(json.dumps(out))
`;
  const t = runTorch(
    script,
    cases.map((c) => ({ shape: c.shape, opts: c.opts, xs: Array.from(c.xs), dys: Array.from(c.dys) })),
  );
  assert.match(t[8].repr, /LocalResponseNorm\(5, alpha=0\.0005, beta=0\.75, k=2/);
  for (const [i, c] of cases.entries()) {
    // the float64 reference is the same function as torch's (up to float64 rounding) ...
    close(lrnRef(c.xs, c.shape, c.opts), t[i].y, 1e-12, 1e-12, `${c.label}: reference vs torch forward`);
    close(
      lrnBackwardRef(c.xs, c.dys, c.shape, c.opts),
      t[i].dx,
      1e-12,
      1e-11,
      `${c.label}: reference vs torch backward`,
    );
    // ... and the GPU agrees with torch to fp32 accuracy
    const x = tensor(e, c.xs, c.shape);
    const dy = tensor(e, c.dys, c.shape);
    const y = lrn(x, c.opts);
    close(await y.read(), t[i].y, 1e-6, 1e-5, `${c.label}: GPU vs torch forward`);
    const dx = lrnBackward(x, dy, c.opts);
    close(await dx.read(), t[i].dx, 1e-5, 1e-4, `${c.label}: GPU vs torch backward`);
    for (const z of [x, dy, y, dx]) z.dispose();
  }
});

test.run();
