// The engine on WebGPU objects the host application gives it: a GPU (navigator.gpu's role), an
// adapter, or a device it owns and keeps using after the engine is gone; the core's createEngine
// with none of them outside a browser; and what importing the package loads (no native addon
// until an engine or an image needs one).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { create } from 'webgpu';
import { AdapterError, conv2dForward, tensor } from '../src/index.js';
import { createEngine as createCoreEngine } from '../src/gpu/engine.js';
import { BufferUsage, MapMode } from '../src/gpu/usage.js';
import { close, rand } from './helpers.js';
import { conv2dRef, convGeom } from './ref/conv2d.js';

const gpu = create([]);

async function convOn(e: Awaited<ReturnType<typeof createCoreEngine>>): Promise<void> {
  const xs = rand(2 * 3 * 7 * 7, 1),
    ws = rand(4 * 3 * 3 * 3, 2, -0.3, 0.3);
  const y = conv2dForward(tensor(e, xs, [2, 3, 7, 7]), tensor(e, ws, [4, 3, 3, 3]), undefined, { padding: 1 });
  close(
    await y.read(),
    conv2dRef(convGeom([2, 3, 7, 7], [4, 3, 3, 3], 1, 1), xs, ws),
    1e-4,
    1e-4,
    'conv on the given GPU',
  );
}

test('createEngine({ gpu }) and createEngine({ adapter }) request their own device and destroy it on dispose', async () => {
  const e1 = await createCoreEngine({ gpu });
  assert.ok(e1.ownsDevice);
  await convOn(e1);
  let lost = false;
  e1.device.lost.then(() => {
    lost = true;
  });
  e1.dispose();
  await new Promise((r) => setTimeout(r, 50));
  assert.ok(lost, 'the engine destroyed the device it created');
  const adapter = (await gpu.requestAdapter())!;
  const e2 = await createCoreEngine({ adapter });
  assert.ok(e2.ownsDevice);
  assert.is(e2.info().adapter.vendor, adapter.info.vendor);
  await convOn(e2);
  e2.dispose();
});

test("createEngine({ device }) uses the host's device and leaves it working after dispose", async () => {
  const adapter = (await gpu.requestAdapter())!;
  const device = await adapter.requestDevice({
    requiredLimits: { maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize },
  });
  let lost = false;
  device.lost.then(() => {
    lost = true;
  });
  const e = await createCoreEngine({ device });
  assert.not.ok(e.ownsDevice);
  assert.is(e.device, device);
  await convOn(e);
  assert.ok(e.counters.bytesAllocated > 0);
  e.dispose();
  assert.is(e.counters.bytesAllocated, 0, 'every buffer the engine made is destroyed');
  // the host's device still works: write, copy, read back
  const src = device.createBuffer({ size: 16, usage: BufferUsage.COPY_DST | BufferUsage.COPY_SRC });
  const dst = device.createBuffer({ size: 16, usage: BufferUsage.COPY_DST | BufferUsage.MAP_READ });
  device.queue.writeBuffer(src, 0, Float32Array.of(1, 2, 3, 4));
  const enc = device.createCommandEncoder();
  enc.copyBufferToBuffer(src, 0, dst, 0, 16);
  device.queue.submit([enc.finish()]);
  await dst.mapAsync(MapMode.READ);
  assert.equal(Array.from(new Float32Array(dst.getMappedRange().slice(0))), [1, 2, 3, 4]);
  dst.unmap();
  await new Promise((r) => setTimeout(r, 50));
  assert.not.ok(lost, 'the device was not destroyed');
  // a second engine on the same device works too
  const e2 = await createCoreEngine({ device });
  await convOn(e2);
  e2.dispose();
  device.destroy();
});

test("the core's createEngine with no GPU outside a browser is an AdapterError saying what to pass", async () => {
  await createCoreEngine().then(
    () => assert.unreachable(),
    (err) => {
      assert.ok(
        err instanceof AdapterError &&
          /no navigator\.gpu \(pass \{ gpu \}, \{ adapter \} or \{ device \}/.test(err.message),
        String(err),
      );
    },
  );
});

test('importing the package loads neither Dawn nor sharp; the first engine loads Dawn, the first picture sharp', () => {
  const script = `
    const maps = () => require('node:fs').readFileSync('/proc/self/maps', 'utf8');
    const has = (m, re) => re.test(m) ? 'yes' : 'no';
    (async () => {
      const core = await import(process.argv[1] + '/dist/index.node.js');
      const node = await import(process.argv[1] + '/dist/node.js');
      const m0 = maps();
      const e = await core.createEngine();
      const m1 = maps();
      e.dispose();
      await node.kernelGrid('/dev/null', new Float32Array(3 * 4), [1, 3, 2, 2]).catch(() => {});
      const m2 = maps();
      console.log(JSON.stringify({ import: [has(m0, /dawn\\.node/), has(m0, /sharp|vips/)], engine: [has(m1, /dawn\\.node/), has(m1, /sharp|vips/)], picture: has(m2, /sharp|vips/) }));
    })();`;
  const r = spawnSync(process.execPath, ['-e', script, process.cwd()], { encoding: 'utf8', timeout: 60_000 });
  assert.is(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout.trim().split('\n').pop()!), {
    import: ['no', 'no'],
    engine: ['yes', 'no'],
    picture: 'yes',
  });
});

test("createEngine prints nothing: on lavapipe Dawn's two adapter-discovery warnings come once per process, not per engine", () => {
  const script = `
    (async () => {
      const { createEngine } = await import(process.argv[1] + '/dist/index.node.js');
      for (let i = 0; i < 3; i++) (await createEngine()).dispose();
      console.log('ok');
    })();`;
  const r = spawnSync(process.execPath, ['-e', script, process.cwd()], { encoding: 'utf8', timeout: 60_000 });
  assert.is(r.stdout.trim(), 'ok', r.stderr);
  const lines = r.stderr.split('\n').filter(Boolean);
  const dawn = lines.filter((l) =>
    /^Warning: maxDynamic(Uniform|Storage)BuffersPerPipelineLayout artificially reduced/.test(l),
  );
  assert.equal(
    lines.filter((l) => !dawn.includes(l)),
    [],
    'nothing else on stderr',
  );
  assert.ok(dawn.length <= 2, `${dawn.length} warning lines for three engines`);
});

test.run();
