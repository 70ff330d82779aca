// Device loss mid-run (the test destroys the WebGPU device after a step, or at a random moment): training
// stops with a DeviceError naming the cause and the last good checkpoint, which loads; --resume on a
// fresh engine, or trainRecovering by itself, ends where an uninterrupted run does, bit for bit.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEngine } from '../src/node/dawn.js';
import type { Engine } from '../src/gpu/engine.js';
import { DeviceError } from '../src/errors.js';
import { loadCheckpoint } from '../src/node/files/checkpoint.js';
import { train, trainRecovering } from '../src/node/train/trainer.js';
import { makeData, options, quiet, rng, weightsDiffer } from './fixtures/faults.js';

const dir = mkdtempSync(join(tmpdir(), 'faults-device-'));
const data = join(dir, 'data'),
  ref = join(dir, 'ref');
const engines: Engine[] = [];
const fresh = async () => {
  const e = await createEngine();
  engines.push(e);
  return e;
};
test.before(async () => {
  await makeData(data, 48);
  await train(options(data, ref), { ...quiet, engine: await fresh() }); // 12 steps
});
test.after(() => {
  engines.forEach((e) => e.dispose());
  rmSync(dir, { recursive: true, force: true });
});

test('destroyed after step 5: DeviceError naming the loss; --resume on a new engine finishes identically', async () => {
  const out = join(dir, 'after-step');
  const e1 = await fresh();
  const err = await train(options(data, out), {
    ...quiet,
    engine: e1,
    onStep: (s) => {
      if (s.step === 5) e1.device.destroy();
    },
  }).then(
    () => undefined,
    (e) => e,
  );
  assert.ok(err instanceof DeviceError, String(err));
  assert.match(err.message, /WebGPU device lost \(destroyed\)/);
  assert.match(
    err.message,
    /training stopped at step 5; the last good checkpoint is \S+checkpoint\.safetensors \(step 5\); continue with --resume/,
  );
  assert.is((await loadCheckpoint(join(out, 'checkpoint.safetensors'))).state!.step, 5);
  assert.not.ok(existsSync(join(out, '.lock')));
  await train(options(data, out, { resume: out }), { ...quiet, engine: await fresh() });
  assert.equal(await weightsDiffer(join(ref, 'final.safetensors'), join(out, 'final.safetensors')), []);
});

test('destroyed at random moments (mid-step, mid-read, mid-checkpoint): always a DeviceError, checkpoint intact', async () => {
  const out = join(dir, 'random');
  const random = rng(7);
  let last = 0,
    lost = 0;
  for (let i = 0; i < 5; i++) {
    const e = await fresh();
    const resume = existsSync(join(out, 'checkpoint.safetensors')) ? out : undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const err = await train(options(data, out, { resume }), {
      ...quiet,
      engine: e,
      onStep: () => {
        timer ??= setTimeout(() => e.device.destroy(), random() * 250);
      },
    }).then(
      () => undefined,
      (x) => x,
    );
    clearTimeout(timer);
    if (err === undefined) break; // finished first
    lost++;
    assert.ok(err instanceof DeviceError, `round ${i}: ${err?.stack ?? err}`);
    const ck = await loadCheckpoint(join(out, 'checkpoint.safetensors'));
    assert.ok(ck.state!.step >= last);
    last = ck.state!.step;
  }
  assert.ok(lost >= 3, `only ${lost} runs lost their device`);
  await train(options(data, out, { resume: out }), { ...quiet, engine: await fresh() });
  assert.equal(await weightsDiffer(join(ref, 'final.safetensors'), join(out, 'final.safetensors')), []);
  console.log(`  ${lost} devices destroyed at random moments, each a DeviceError; resumed from step ${last}`);
});

test('trainRecovering re-creates the device and resumes by itself, a bounded number of times', async () => {
  let current: Engine | undefined,
    made = 0,
    stepsHere = 0;
  const make = async () => {
    made++;
    stepsHere = 0;
    current = await createEngine();
    return current;
  };
  const out = join(dir, 'recover');
  const warnings: string[] = [];
  // the first two devices are lost after 4 steps each; the third survives
  const r = await trainRecovering(
    options(data, out),
    {
      log: () => {},
      warn: (w) => warnings.push(w),
      onStep: () => {
        if (++stepsHere === 4 && made <= 2) current!.device.destroy();
      },
    },
    { retries: 2, createEngine: make },
  );
  assert.is(r.state.step, 12);
  assert.is(made, 3);
  assert.is(
    warnings.filter((w) => /device lost[\s\S]*re-creating the device and resuming from/.test(w)).length,
    2,
    warnings.join('\n'),
  );
  assert.equal(await weightsDiffer(join(ref, 'final.safetensors'), join(out, 'final.safetensors')), []);

  // retries used up: the DeviceError comes through
  made = 0;
  const err = await trainRecovering(
    options(data, join(dir, 'recover-none')),
    {
      ...quiet,
      onStep: () => {
        if (++stepsHere === 2) current!.device.destroy();
      },
    },
    { retries: 0, createEngine: make },
  ).then(
    () => undefined,
    (e) => e,
  );
  assert.ok(err instanceof DeviceError, String(err));
  assert.is(made, 1);
});

test.run();
