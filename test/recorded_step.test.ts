// The recorded step: replaying gives trainStep's numbers bit for bit (loss, logits, every weight and
// velocity) over steps with new batches, learning rates and dropout masks; the controls show a
// wrong step counter or learning rate would be caught. The arena plan never overlaps two buffers
// live at once and stays within 1.15× the least memory on mini's step. Steps that cannot be
// replayed run unrecorded and say why.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Model, RecordedStep, SGD, Tensor, planArenas, peakLive, trainStep, type Virtual } from '../src/index.js';
import { disposeGpu, fails, gpu, rand, rng } from './helpers.js';

test.after(disposeGpu);

const B = 6,
  SEED = 7;
const LRS = [0.01, 0.03, 0.005, 0.02];

interface Net {
  model: Model;
  opt: SGD;
  x: Tensor;
  y: Tensor;
}

async function net(): Promise<Net> {
  const e = await gpu();
  const model = new Model(e, 'mini', { classes: 10, seed: 3 });
  const S = model.inputSize;
  return {
    model,
    opt: new SGD(model.params),
    x: new Tensor(e, [B, 1, S, S], 'f32', { name: 'x' }),
    y: new Tensor(e, [B], 'i32', { name: 'y' }),
  };
}

function batch(n: Net, k: number): void {
  const S = n.model.inputSize;
  n.x.write(Float32Array.from(rand(B * S * S, 100 + k)));
  const r = rng(200 + k);
  n.y.write(Int32Array.from({ length: B }, () => Math.floor(r() * 10)));
}

/** Losses and logits of `steps` steps, each on its own batch; `run` takes the step there. */
async function train(n: Net, steps: number, run: (k: number) => ReturnType<typeof trainStep>) {
  const out: Float32Array[] = [];
  for (let k = 0; k < steps; k++) {
    batch(n, k);
    const r = run(k);
    out.push(await r.loss.readF32(), await r.logits.readF32());
    r.release();
  }
  return out;
}

async function state(n: Net): Promise<Float32Array[]> {
  return Promise.all([...n.model.params, ...n.opt.velocities].map((t) => t.readF32()));
}

const same = (a: Float32Array[], b: Float32Array[]) =>
  a.length === b.length &&
  a.every(
    (x, i) =>
      x.length === b[i].length && new Uint32Array(x.buffer).every((w, j) => w === new Uint32Array(b[i].buffer)[j]),
  );

function dispose(n: Net): void {
  n.opt.dispose();
  n.model.dispose();
  n.x.dispose();
  n.y.dispose();
}

test('replayed steps equal unrecorded ones bit for bit; a wrong step counter or rate would show', async () => {
  const plain = await net();
  const ref = await train(plain, 4, (k) =>
    trainStep(plain.model, plain.opt, plain.x, plain.y, { lr: LRS[k], seed: SEED, step: k }),
  );
  const refState = await state(plain);

  const rec = await net();
  const steps = new RecordedStep(rec.model, rec.opt, rec.x, rec.y);
  const modes: string[] = [];
  const got = await train(rec, 4, (k) => {
    const r = steps.step({ lr: LRS[k], seed: SEED, step: k });
    modes.push(steps.mode!);
    return r;
  });
  assert.equal(modes, ['recorded', 'replayed', 'replayed', 'replayed'], steps.reason);
  assert.ok(same(got, ref), 'losses and logits');
  assert.ok(same(await state(rec), refState), 'weights and velocities');
  const plan = steps.plan!;
  assert.ok(
    plan.plannedBytes <= 1.15 * plan.minimumBytes,
    `arena ${plan.plannedBytes} B, least ${plan.minimumBytes} B`,
  );

  // controls: replaying with the step counter or the learning rate off gives other numbers
  for (const off of [{ step: 1 }, { lr: 2 }]) {
    const c = await net();
    const cs = new RecordedStep(c.model, c.opt, c.x, c.y);
    const out = await train(c, 4, (k) =>
      cs.step({ lr: LRS[k] * (k === 2 ? (off.lr ?? 1) : 1), seed: SEED, step: k + (k === 2 ? (off.step ?? 0) : 0) }),
    );
    assert.ok(
      fails(() => assert.ok(same(out, ref))),
      `control ${JSON.stringify(off)} must differ`,
    );
    cs.dispose();
    dispose(c);
  }
  steps.dispose();
  dispose(rec);
  dispose(plain);
});

test("once the recorded step is released, the engine holds the replay's arenas, not the recording's buffers too", async () => {
  const n = await net();
  const e = n.model.engine;
  await e.sync();
  e.trimPool();
  const before = e.counters.bytesAllocated;
  const steps = new RecordedStep(n.model, n.opt, n.x, n.y);
  await train(n, 3, (k) => steps.step({ lr: LRS[k], seed: SEED, step: k }));
  await e.sync();
  const velocities = n.opt.velocities.reduce((s, v) => s + v.bytes, 0);
  const held = e.counters.bytesAllocated - before;
  const expected = steps.replayBytes + velocities;
  // loss and logits of the last step sit in the pool: a few KiB
  assert.ok(held <= expected + 64 * 1024, `${held} B held, ${expected} B for the replay and the velocities`);
  steps.dispose();
  dispose(n);
});

test('steps with hooks, another seed or a read inside run unrecorded and say why', async () => {
  const n = await net();
  batch(n, 0);
  const steps = new RecordedStep(n.model, n.opt, n.x, n.y);
  steps.step({ lr: 0.01, seed: SEED, step: 0, beforeUpdate: () => {} }).release();
  assert.is(steps.mode, 'unrecorded');
  steps.step({ lr: 0.01, seed: SEED, step: 1 }).release();
  assert.is(steps.mode, 'recorded');
  steps.step({ lr: 0.01, seed: SEED + 1, step: 2 }).release();
  assert.is(steps.mode, 'unrecorded', 'the recording holds the seed in its dropout uniforms');
  steps.dispose();

  const e = n.model.engine;
  e.startRecording();
  await n.x.read();
  assert.match(e.stopRecording().unreplayable ?? '', /read back/);
  dispose(n);
});

test('a replay refuses a disposed input', async () => {
  const n = await net();
  batch(n, 0);
  const steps = new RecordedStep(n.model, n.opt, n.x, n.y);
  steps.step({ lr: 0.01, seed: SEED, step: 0 }).release();
  n.x.dispose();
  assert.throws(() => steps.step({ lr: 0.01, seed: SEED, step: 1 }), /tensor 'x' was disposed/);
  steps.dispose();
  n.y.dispose();
  n.opt.dispose();
  n.model.dispose();
});

test('arena plans never overlap live buffers, respect the arena cap and track the least memory', () => {
  const r = rng(5);
  for (let trial = 0; trial < 50; trial++) {
    const vs: Virtual[] = Array.from({ length: 40 }, () => {
      const first = Math.floor(r() * 60);
      return { size: 16 * (1 + Math.floor(r() * 64)), first, last: first + Math.floor(r() * 20) };
    });
    vs.push({ size: 64, first: -1, last: -1 }); // never bound: no place
    const cap = 4096;
    const pairs: Array<[number, number]> = [];
    for (let k = 0; k < 30; k++) {
      const at = Math.floor(r() * 60);
      const live = vs.flatMap((v, id) => (v.first <= at && at <= v.last ? [id] : []));
      if (live.length > 1) pairs.push([live[0], live[live.length - 1]]);
    }
    const p = planArenas(vs, 256, cap, pairs);
    for (const [a, b] of pairs) assert.ok(p.place[a]!.arena !== p.place[b]!.arena, `${a} and ${b} apart`);
    assert.is(p.place[vs.length - 1], undefined);
    assert.ok(p.arenas.every((a) => a <= cap));
    for (let i = 0; i < vs.length - 1; i++)
      for (let j = i + 1; j < vs.length - 1; j++) {
        const a = p.place[i]!,
          b = p.place[j]!;
        const liveTogether = vs[i].first <= vs[j].last && vs[j].first <= vs[i].last;
        const overlap = a.arena === b.arena && a.offset < b.offset + vs[j].size && b.offset < a.offset + vs[i].size;
        assert.ok(!(liveTogether && overlap), `trial ${trial}: buffers ${i} and ${j} overlap while both live`);
        assert.is(a.offset % 256, 0);
      }
    assert.is(p.minimumBytes, peakLive(vs));
    assert.ok(p.arenas.reduce((s, a) => s + a, 0) >= p.minimumBytes);
  }
});

test.run();
