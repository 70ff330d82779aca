// Device loss mid-run (the test destroys the WebGPU device after a step, at a dispatch, during a read or a
// checkpoint write): training stops with a DeviceError naming the cause and the last good checkpoint,
// which loads; --resume on a fresh engine, trainRecovering by itself, or the CLI with --device-retries
// ends where an uninterrupted run does, bit for bit.
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
import { nodeFs, type AtomicFs } from '../src/node/files/atomic.js';
import { cliArgs, loseDeviceAtDispatch, makeData, options, quiet, runCli, weightsDiffer } from './fixtures/faults.js';

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

// Where a device can go: in the middle of a step (at its 150th dispatch), while a read is pending, while a
// checkpoint is being written. Each point is a count, so the same cases run at any machine speed.
const LOSSES: Array<{ where: string; arm: (e: Engine) => AtomicFs | undefined }> = [
  {
    where: 'at a dispatch mid-step',
    arm: (e) => {
      loseDeviceAtDispatch(e, 150);
      return undefined;
    },
  },
  {
    where: 'during a pending read',
    arm: (e) => {
      const read = e.readBuffer.bind(e);
      let n = 0;
      e.readBuffer = (src, offset, bytes) => {
        const p = read(src, offset, bytes);
        if (++n === 5) e.device.destroy(); // the map is in flight
        return p;
      };
      return undefined;
    },
  },
  {
    where: 'inside a checkpoint write',
    arm: (e) => {
      let n = 0;
      return {
        ...nodeFs,
        async open(path, flags, mode) {
          if (/checkpoint\.safetensors\.tmp-/.test(path) && ++n === 2) e.device.destroy();
          return nodeFs.open(path, flags, mode);
        },
      };
    },
  },
];

test('lost mid-step, mid-read and mid-checkpoint-write: a DeviceError each time, the checkpoint intact, resume bit-exact', async () => {
  const out = join(dir, 'fixed');
  let last = 0;
  for (const { where, arm } of LOSSES) {
    const e = await fresh();
    const fs = arm(e);
    const resume = existsSync(join(out, 'checkpoint.safetensors')) ? out : undefined;
    const err = await train(options(data, out, { resume, fs }), { ...quiet, engine: e }).then(
      () => undefined,
      (x) => x,
    );
    assert.ok(err instanceof DeviceError, `${where}: ${err?.stack ?? err}`);
    assert.match(err.message, /WebGPU device lost/, where);
    const ck = await loadCheckpoint(join(out, 'checkpoint.safetensors')); // whole: its checksum is verified
    assert.ok(ck.state!.step >= last, `${where}: the checkpoint went back from step ${last} to ${ck.state!.step}`);
    assert.match(err.message, new RegExp(`last good checkpoint is \\S+ \\(step ${ck.state!.step}\\)`), where);
    assert.not.ok(existsSync(join(out, '.lock')), where);
    last = ck.state!.step;
  }
  assert.ok(last < 12, 'the runs got to the end');
  await train(options(data, out, { resume: out }), { ...quiet, engine: await fresh() });
  assert.equal(await weightsDiffer(join(ref, 'final.safetensors'), join(out, 'final.safetensors')), []);
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

test('the CLI re-creates a lost device --device-retries times, then gives up with exit 1', async () => {
  const cliRef = join(dir, 'cli-ref');
  const r0 = await runCli(cliArgs(data, cliRef, 2));
  assert.is(r0.code, 0, r0.stderr);
  // the first two engines are lost at their 200th dispatch (in their 3rd or 4th step); the default is 2 retries
  const out = join(dir, 'cli-recover');
  const r = await runCli(cliArgs(data, out, 2), 120_000, { loseDevices: { engines: 2, atDispatch: 200 } });
  assert.is(r.code, 0, r.stderr);
  assert.is((r.stderr.match(/re-creating the device and resuming from/g) ?? []).length, 2, r.stderr);
  assert.equal(await weightsDiffer(join(cliRef, 'final.safetensors'), join(out, 'final.safetensors')), []);

  const out1 = join(dir, 'cli-give-up');
  const r1 = await runCli(cliArgs(data, out1, 2, ['--device-retries', '1']), 120_000, {
    loseDevices: { engines: 2, atDispatch: 200 },
  });
  assert.is(r1.code, 1, r1.stderr);
  assert.is((r1.stderr.match(/re-creating the device and resuming from/g) ?? []).length, 1, r1.stderr);
  assert.match(r1.stderr, /DeviceError: WebGPU device lost[\s\S]*continue with --resume/);
  assert.ok((await loadCheckpoint(join(out1, 'checkpoint.safetensors'))).state!.step > 0);
});

test.run();
