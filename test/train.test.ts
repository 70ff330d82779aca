// The trainer and the CLI on small data the test makes: steps lower the loss, resume reproduces an
// uninterrupted run bit for bit, checkpoints round-trip, and bad input exits 2 with one line.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { train, type TrainOptions } from '../src/node/train/trainer.js';
import { fmtTime } from '../src/node/train/loop.js';
import { readNpy, writeNpy } from '../src/node/files/npy.js';
import { loadCheckpoint, openModel } from '../src/node/files/checkpoint.js';
import { tensor, tidy } from '../src/index.js';
import { makeData, options, quiet, weightsDiffer } from './fixtures/faults.js';
import { close, disposeGpu, fails, gpu, rand } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'train-test-'));
test.after(() => {
  disposeGpu();
  rmSync(dir, { recursive: true, force: true });
});

/** The fault tests' small mini run, here at batch 16, seed 3, a checkpoint only at epoch ends. */
const base = (out: string, extra: Partial<TrainOptions> = {}): TrainOptions =>
  options(join(dir, 'data'), out, { batchSize: 16, seed: 3, checkpointEvery: undefined, ...extra });

test.before(async () => {
  try {
    await makeData(join(dir, 'data'), 96, 32);
  } catch (e) {
    console.error('before failed', e);
    throw e;
  }
});

test('a few steps lower the loss, metrics and pictures are written', async () => {
  const e = await gpu();
  const out = join(dir, 'learn');
  const lines: string[] = [];
  const r = await train(base(out, { epochs: 3, lr: 0.03, dropout: 0, pictures: true }), {
    log: (l) => lines.push(l),
    warn: () => {},
    engine: e,
  });
  assert.is(r.state.step, 18);
  const metrics = readFileSync(join(out, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  const losses = metrics.filter((m) => m.kind === 'step').map((m) => m.loss);
  const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
  const first = mean(losses.slice(0, 3)),
    last = mean(losses.slice(-6));
  assert.ok(last < first * 0.6, `loss fell: ${losses.map((l: number) => l.toFixed(3)).join(' ')}`);
  assert.ok(
    lines.some((l) => /epoch 1\/3 +step 1\/18 +loss [\d.]+ +top-1 [\d.]+% .* img\/s +data \d+ ms\/batch +ETA/.test(l)),
    lines[1],
  );
  for (const f of ['final.safetensors', 'checkpoint.safetensors', 'curves.png', 'conv1-kernels.png'])
    assert.ok(existsSync(join(out, f)), f);
  assert.ok(metrics.some((m) => m.kind === 'epoch' && typeof m.valTop1Error === 'number'));
});

test('resume reaches the same weights, bit for bit, as an uninterrupted run', async () => {
  const e = await gpu();
  const a = join(dir, 'a'),
    b = join(dir, 'b');
  await train(base(a, { steps: 9 }), { ...quiet, engine: e });
  await train(base(b, { steps: 4 }), { ...quiet, engine: e }); // stops inside epoch 1
  let polls = 0;
  const r = await train(base(b, { steps: 9, resume: b }), { ...quiet, engine: e, stopRequested: () => ++polls === 3 }); // interrupted at step 7
  assert.ok(r.interrupted);
  await train(base(b, { steps: 9, resume: b }), { ...quiet, engine: e });
  const wa = (await loadCheckpoint(join(a, 'final.safetensors'))).weights;
  const wb = (await loadCheckpoint(join(b, 'final.safetensors'))).weights;
  for (const [name, t] of wa)
    assert.ok(
      Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).equals(
        Buffer.from(wb.get(name)!.data.buffer, wb.get(name)!.data.byteOffset, wb.get(name)!.data.byteLength),
      ),
      `${name} differs`,
    );
  const ck = await loadCheckpoint(join(b, 'checkpoint.safetensors'));
  assert.is(ck.state!.step, 9);
  assert.ok(ck.velocities && ck.velocities.size === wa.size);
});

test('the trainer replays its recorded step and runs a step ahead: the same weights, metrics and velocities as steps run one by one, unrecorded', async () => {
  const e = await gpu();
  const a = join(dir, 'replayed'),
    b = join(dir, 'unrecorded');
  const ra = await train(base(a, { steps: 8 }), { ...quiet, engine: e });
  assert.is(ra.replayedSteps, 7, 'the first step records, the seven after it replay');
  // 6 steps an epoch: steps 2–6 and 8 were encoded before the step before them was read
  assert.is(ra.stepsRunAhead, 6);
  // a beforeUpdate hook looks inside the step, so every step of this run is unrecorded
  let hooked = 0;
  const rb = await train(base(b, { steps: 8 }), { ...quiet, engine: e, beforeUpdate: () => void hooked++ });
  assert.is(hooked, 8);
  assert.is(rb.replayedSteps, 0);
  assert.is(rb.stepsRunAhead, 0, 'a hook that looks inside the steps keeps them one by one');
  assert.equal(await weightsDiffer(join(a, 'final.safetensors'), join(b, 'final.safetensors')), []);
  const ca = await loadCheckpoint(join(a, 'checkpoint.safetensors')),
    cb = await loadCheckpoint(join(b, 'checkpoint.safetensors'));
  for (const [name, v] of ca.velocities!) assert.equal([...v.data], [...cb.velocities!.get(name)!.data], name);
  const losses = (d: string) =>
    readFileSync(join(d, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((m) => m.kind === 'step')
      .map((m) => m.loss);
  assert.equal(losses(a), losses(b));
});

const cli = (...args: string[]) =>
  spawnSync(process.execPath, ['dist/cli.js', ...args], {
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, XDG_RUNTIME_DIR: '/tmp' },
  });

test('CLI: eval and predict a trained checkpoint; bad input exits 2 with one line', async () => {
  const ck = join(dir, 'learn', 'final.safetensors');
  const ev = cli('eval', '--checkpoint', ck, '--data', join(dir, 'data'));
  assert.is(ev.status, 0, ev.stderr);
  assert.match(ev.stdout, /centre crop +top-1 error [\d.]+% +top-5 error [\d.]+%/);
  assert.match(ev.stdout, /10-crop/);
  // logits of an .npy batch: 5 different images in batches of 2 (the last one short), each row equal
  // to the model's own forward of that image alone (measured difference 0: same kernels, same order;
  // 1e-5 leaves room for a different batch geometry)
  const x = Float32Array.from(rand(5 * 28 * 28, 3), (v) => 2 * v);
  await writeNpy(join(dir, 'x.npy'), x, [5, 1, 28, 28]);
  const pr = cli(
    'predict',
    '--checkpoint',
    ck,
    '--input',
    join(dir, 'x.npy'),
    '--output',
    join(dir, 'y.npy'),
    '--batch-size',
    '2',
  );
  assert.is(pr.status, 0, pr.stderr);
  const y = await readNpy(join(dir, 'y.npy'));
  assert.is(y.dtype, '<f4');
  assert.equal(y.shape, [5, 4]);
  const { model } = await openModel(await gpu(), ck);
  for (let i = 0; i < 5; i++) {
    const img = tensor(model.engine, x.subarray(i * 784, (i + 1) * 784), [1, 1, 28, 28]);
    const want = await tidy(model.engine, () => model.forward(img, { training: false })).readF32();
    img.dispose();
    const got = (y.data as Float32Array).subarray(i * 4, i * 4 + 4);
    close(got, want, 1e-5, 0, `predict --input: image ${i}`);
    if (i > 0)
      assert.ok(
        fails(() => close(got, (y.data as Float32Array).subarray(0, 4), 1e-5, 0, 'control')),
        `image ${i}'s logits equal image 0's`,
      );
  }
  model.dispose();

  // image files → top-5 lines and the figure; fc7 neighbours → the figure
  const sharp = (await import('sharp')).default;
  await sharp(Buffer.alloc(40 * 30 * 3, 200), { raw: { width: 40, height: 30, channels: 3 } })
    .png()
    .toFile(join(dir, 'img.png'));
  const pi = cli('predict', '--checkpoint', ck, '--figure', join(dir, 'pred.png'), join(dir, 'img.png'));
  assert.is(pi.status, 0, pi.stderr);
  assert.is(pi.stdout.split('\n').filter((l) => /^ +[\d.]+% +class \d$/.test(l)).length, 4); // 4 classes: top-4
  assert.ok(existsSync(join(dir, 'pred.png')));
  const nb = cli(
    'neighbors',
    '--checkpoint',
    ck,
    '--data',
    join(dir, 'data'),
    '--queries',
    '2',
    '--k',
    '3',
    '--figure',
    join(dir, 'nb.png'),
  );
  assert.is(nb.status, 0, nb.stderr);
  assert.is(
    nb.stdout.split('\n').filter((l) => /^query \d \(label \d\): (#\d+ \(label \d, d=[\d.]+\)(, )?){3}$/.test(l))
      .length,
    2,
    nb.stdout,
  );
  assert.ok(existsSync(join(dir, 'nb.png')));

  const bad = (args: string[], re: RegExp) => {
    const r = cli(...args);
    assert.is(r.status, 2, `${args.join(' ')} → ${r.status}: ${r.stderr}`);
    // lavapipe's driver prints two 'Warning: max…Dynamic…' lines of its own when a device is made
    const ours = r.stderr
      .trim()
      .split('\n')
      .filter((l) => !/^Warning: maxDynamic/.test(l));
    assert.is(ours.length, 1, r.stderr);
    assert.match(ours[0], re);
  };
  bad(['train', '--bogus'], /unknown flag --bogus/);
  bad(['train', '--epochs', 'x'], /--epochs must be an integer/);
  await writeNpy(join(dir, 'x64.npy'), new Float32Array(4), [4]);
  writeFileSync(join(dir, 'x64.npy'), readFileSync(join(dir, 'x64.npy'), 'latin1').replace('<f4', '<f8'), 'latin1');
  bad(['predict', '--checkpoint', ck, '--input', join(dir, 'x64.npy'), '--output', join(dir, 'z.npy')], /x64\.npy/);
  bad(
    ['train', '--data', join(dir, 'data'), '--classes', '3', '--out', join(dir, 'c3')],
    /label.*3.*classes|outside \[0, 3\)/,
  );
  const trunc = join(dir, 'trunc.safetensors');
  writeFileSync(trunc, readFileSync(ck).subarray(0, 1000));
  bad(['eval', '--checkpoint', trunc, '--data', join(dir, 'data')], /trunc\.safetensors/);
  bad(['eval', '--arch', 'paper', '--checkpoint', ck, '--data', join(dir, 'data')], /arch mini, not paper/);
});

test('CLI predict over many files: every readable one is predicted, each unreadable one named with its reason, exit 2 at the end', async () => {
  const ck = join(dir, 'learn', 'final.safetensors');
  const sharp = (await import('sharp')).default;
  const image = (name: string, level: number) =>
    sharp(Buffer.alloc(40 * 30 * 3, level), { raw: { width: 40, height: 30, channels: 3 } })
      .png()
      .toFile(join(dir, name));
  await image('a.png', 40);
  await image('b.png', 220);
  writeFileSync(join(dir, 'corrupt.png'), Buffer.from('not an image at all'));
  const files = ['a.png', 'missing.png', 'corrupt.png', 'b.png'].map((f) => join(dir, f));
  const r = cli('predict', '--checkpoint', ck, '--figure', join(dir, 'many.png'), ...files);
  assert.is(r.status, 2, r.stderr);
  for (const f of [files[0], files[3]]) assert.ok(r.stdout.includes(`${f}\n`), `${f} predicted:\n${r.stdout}`);
  assert.is(
    r.stdout.split('\n').filter((l) => /^ +[\d.]+% +class \d$/.test(l)).length,
    8,
    'top-4 of both readable files',
  );
  const ours = r.stderr
    .trim()
    .split('\n')
    .filter((l) => !/^Warning: maxDynamic/.test(l));
  assert.match(ours[0], /missing\.png: not a readable image \(.+\)/);
  assert.match(ours[1], /corrupt\.png: not a readable image \(.+\)/);
  assert.match(ours[2], /2 of 4 image\(s\) could not be read: .*missing\.png, .*corrupt\.png$/);
  assert.ok(existsSync(join(dir, 'many.png')), 'the picture of the readable ones');
});

test('progress times: rounded once (419.6 s is 7m00s, not 6m60s), hours past 60 minutes', () => {
  assert.is(fmtTime(419.6), '7m00s');
  assert.is(fmtTime(59.7), '1m00s');
  assert.is(fmtTime(42.4), '42s');
  assert.is(fmtTime(3600 + 5 * 60 + 3), '1h05m');
  assert.is(fmtTime(NaN), '?');
});

test.run();
