// Kernel descriptors: every shipped kernel's declarations read from its WGSL; uniform fields packed
// by name in the struct's order whatever order the caller writes them in; a dispatch that does not
// match its kernel (field missing, unknown or of the wrong kind, buffer count, override) and a
// kernel outside the layout are typed errors that name what is wrong.
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DispatchError, ShaderError, Tensor, defineKernel, f32, lrParam, stepParam } from '../src/index.js';
import { disposeGpu, gpu } from './helpers.js';

test.after(disposeGpu);

const isErr = (cls: new (...a: never[]) => Error, re: RegExp) => (e: unknown) => e instanceof cls && re.test(String(e));

test('every shipped kernel has a descriptor: uniform at 0, storage after it, scalar fields, a workgroup size', () => {
  for (const dir of ['kernels', 'bench/kernels']) {
    for (const f of readdirSync(dir).filter((f) => f.endsWith('.wgsl'))) {
      const k = defineKernel(f.replace('.wgsl', ''), readFileSync(`${dir}/${f}`, 'utf8'));
      assert.is(k.bindings[0], 'uniform', f);
      assert.ok(k.bindings.length >= 2, `${f}: at least one storage binding`);
      assert.ok(
        k.bindings.slice(1).every((b) => b !== 'uniform'),
        f,
      );
      assert.ok(k.fields.length > 0, `${f}: fields`);
      assert.ok(k.workgroupSize.length >= 1, `${f}: workgroup size`);
    }
  }
  const sgd = defineKernel('sgd_momentum', readFileSync('kernels/sgd_momentum.wgsl', 'utf8'));
  assert.equal(
    sgd.fields.map((f) => f.name),
    ['n', 'mu', 'decay_lr', 'lr', 'gscale'],
  );
  assert.equal(sgd.bindings, ['uniform', 'read-only-storage', 'storage', 'storage']);
  assert.equal(sgd.workgroupSize, [256]);
  const conv = defineKernel('conv2d_fwd', readFileSync('kernels/conv2d_fwd.wgsl', 'utf8'));
  assert.equal(conv.workgroupSize, ['WG']);
  assert.ok(conv.overrides.includes('TM') && conv.overrides.includes('RELU'));
});

const probe = defineKernel(
  'probe',
  `struct P { a: u32, b: f32, c: i32, d: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
override SCALE: f32 = 1.0;
@compute @workgroup_size(1)
fn main() { out[0] = f32(p.a) * SCALE; out[1] = p.b; out[2] = f32(p.c); out[3] = f32(p.d); }
`,
);

test('fields are packed by name in the struct order, whatever order the caller gives them in', async () => {
  const e = await gpu();
  const out = new Tensor(e, [4]);
  e.dispatch({
    kernel: probe,
    params: { d: stepParam(9), c: -3, b: f32(2.5), a: 7 },
    buffers: [out.binding()],
    workgroups: [1],
  });
  assert.equal([...(await out.readF32())], [7, 2.5, -3, 9]);
  e.dispatch({
    kernel: probe,
    overrides: { SCALE: 2 },
    params: { a: 7, b: lrParam(0.5, 3), c: 0, d: 0 },
    buffers: [out.binding()],
    workgroups: [1],
  });
  assert.equal([...(await out.readF32())].slice(0, 2), [14, 1.5]);
  out.dispose();
});

test('a dispatch that does not match its kernel is a DispatchError naming what is wrong', async () => {
  const e = await gpu();
  const out = new Tensor(e, [4]);
  const ok = { a: 1, b: f32(1), c: 1, d: 1 };
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ params: { a: 1, b: f32(1), c: 1 } }, /field 'd' \(u32\) is not given/],
    [{ params: { ...ok, e: 1 } }, /no uniform field 'e'.*a, b, c, d/],
    [{ params: { ...ok, b: 1 } }, /field 'b' \(f32\).*wrap an f32 value with f32\(\)/],
    [{ params: { ...ok, a: -1 } }, /field 'a' \(u32\) = -1 does not fit u32/],
    [{ params: { ...ok, a: 1.5 } }, /does not fit u32/],
    [{ params: { ...ok, c: f32(1) } }, /an f32 value for a i32 field/],
    [{ params: { ...ok, b: stepParam(1) } }, /step counter goes in a u32 field/],
    [{ buffers: [] }, /0 storage buffers given, the kernel binds 1/],
    [{ overrides: { SCALES: 2 } }, /no override 'SCALES' \(it declares SCALE\)/],
  ];
  for (const [change, re] of cases) {
    const d = { kernel: probe, params: ok, buffers: [out.binding()], workgroups: [1] as [number], ...change };
    assert.throws(() => e.dispatch(d as Parameters<typeof e.dispatch>[0]), isErr(DispatchError, re), String(re));
  }
  await e.sync(); // nothing was encoded by the refused dispatches
  out.dispose();
});

test('a kernel outside the layout is a ShaderError with line:col', () => {
  const bad: Array<[string, RegExp]> = [
    [
      'struct P { n: u32 }\n@group(0) @binding(1) var<uniform> p: P;\n@compute @workgroup_size(1) fn main() {}',
      /bad\.wgsl:2:1: the uniform block must be binding 0/,
    ],
    [
      'struct P { n: vec4u }\n@group(0) @binding(0) var<uniform> p: P;\n@compute @workgroup_size(1) fn main() {}',
      /bad\.wgsl:1:12: uniform field 'n: vec4u' is not a scalar/,
    ],
    [
      'struct P { n: u32 }\n@group(0) @binding(0) var<uniform> p: P;\n@group(1) @binding(0) var<storage, read> x: array<f32>;\n@compute @workgroup_size(1) fn main() {}',
      /bad\.wgsl:3:1: binding in group 1/,
    ],
    [
      'struct P { n: u32 }\n@group(0) @binding(0) var<uniform> p: P;\n@group(0) @binding(2) var<storage, read> x: array<f32>;\n@compute @workgroup_size(1) fn main() {}',
      /binding 1 is missing/,
    ],
  ];
  for (const [code, re] of bad) assert.throws(() => defineKernel('bad', code), isErr(ShaderError, re), String(re));
});

test.run();
