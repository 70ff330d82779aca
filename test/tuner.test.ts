// The autotuner: a shape's default is used until it is timed; a challenger wins only by more than the
// margin; modes off / cached / full; winners persist through a store (the Node file store keyed by
// adapter and version, atomic, a corrupt file read as empty); a real conv tuned in-process keeps
// its numbers; a training run with tuning on ends with the weights of one with tuning off, and a
// stop asked for in the first step is not held up by tuning.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Tensor, fill, type Engine, type TuneStore } from '../src/index.js';
import { MARGIN, Tuner, winnerOf } from '../src/gpu/tuner.js';
import { createEngine } from '../src/node/dawn.js';
import { fileTuneStore } from '../src/node/tune_cache.js';
import { train } from '../src/node/train/trainer.js';
import { conv2dForward } from '../src/ops/conv2d.js';
import { makeData, options, quiet, weightsDiffer } from './fixtures/faults.js';
import { disposeGpu, gpu, rand } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'tuner-test-'));
test.after(() => {
  disposeGpu();
  rmSync(dir, { recursive: true, force: true });
});

/** Candidates that cost `k` fills of a 1 MiB tensor each: more fills, slower. */
function fills(e: Engine) {
  const t = new Tensor(e, [1 << 18]);
  return { run: (k: number) => Array.from({ length: k }, () => fill(t, 1)), dispose: () => t.dispose() };
}
const memory = (init: Record<string, string> = {}): TuneStore & { saved: Record<string, string>[] } => {
  const saved: Record<string, string>[] = [];
  return { saved, load: () => init, save: (w) => void saved.push({ ...w }) };
};

test('the default until timed, then the winner; a challenger must beat the default by the margin', async () => {
  const e = await gpu();
  const store = memory();
  const tuner = new Tuner('cached', store);
  const label = (k: number) => `k${k}`;
  assert.is(
    tuner.pick('a', [8, 1, 16], label, () => fills(e)),
    8,
    'untimed: the default',
  );
  assert.is(
    tuner.pick('b', [1, 20], label, () => fills(e)),
    1,
  );
  assert.equal(tuner.pending, ['a', 'b']);
  const rows = await tuner.tunePending(e, { reps: 3 });
  assert.equal(tuner.pending, []);
  assert.equal(
    rows.map((r) => r.winner),
    ['k1', 'k1'],
    JSON.stringify(rows),
  );
  assert.ok(rows[0].trials[2].ms > rows[0].trials[1].ms, 'sixteen fills take longer than one');
  assert.is(
    tuner.pick('a', [8, 1, 16], label, () => fills(e)),
    1,
    'the winner from now on',
  );
  // stored under the key and the candidates that ran
  assert.equal(store.saved.at(-1), { 'a [k8 k1 k16]': 'k1', 'b [k1 k20]': 'k1' });
  // the margin: 2% faster keeps the default, 5% faster wins, the fastest of several wins
  const t = (...ms: number[]) => ms.map((m, i) => ({ label: `c${i}`, ms: m }));
  assert.is(winnerOf(t(10, 9.8)), 'c0');
  assert.is(winnerOf(t(10, 9.5)), 'c1');
  assert.is(winnerOf(t(10, 9.5, 7, 8)), 'c2');
  assert.is(winnerOf(t(10, 11, 12)), 'c0');
  assert.is(MARGIN, 0.03);
});

test('modes: off never queues; cached trusts the store; full times every shape again', async () => {
  const e = await gpu();
  const l = (k: number) => `k${k}`;
  const stored = { 'a [k8 k1]': 'k1' };
  const off = new Tuner('off', memory(stored));
  assert.is(
    off.pick('a', [8, 1], l, () => fills(e)),
    8,
  );
  assert.equal(off.pending, []);
  const cached = new Tuner('cached', memory(stored));
  assert.is(
    cached.pick('a', [8, 1], l, () => fills(e)),
    1,
    'the stored winner, untimed',
  );
  assert.equal(cached.pending, []);
  // a candidate the stored race did not have (a release added a variant): timed again
  const grown = new Tuner('cached', memory(stored));
  assert.is(
    grown.pick('a', [8, 1, 2], l, () => fills(e)),
    8,
    'a new candidate: the default until timed',
  );
  assert.equal(grown.pending, ['a']);
  const full = new Tuner('full', memory(stored));
  assert.is(
    full.pick('a', [8, 1], l, () => fills(e)),
    8,
    'full: not trusted until timed this run',
  );
  assert.equal(full.pending, ['a']);
  cached.force((key) => (key === 'a' ? 'k8' : undefined));
  assert.is(
    cached.pick('a', [8, 1], l, () => fills(e)),
    8,
    'forced',
  );
  assert.throws(() => cached.pick('a', [1, 2], l, () => fills(e)), /no candidate 'k8'/);
});

test('the file store: per adapter and version, atomic, a corrupt file read as empty', () => {
  const a = { vendor: 'v', architecture: 'a', device: 'd', description: 'one' };
  const s1 = fileTuneStore(a, dir),
    s2 = fileTuneStore({ ...a, description: 'two' }, dir);
  s1.save({ k: 'x' });
  s2.save({ k: 'y' });
  assert.equal(fileTuneStore(a, dir).load(), { k: 'x' });
  assert.equal(s2.load(), { k: 'y' });
  const all = JSON.parse(readFileSync(s1.file, 'utf8'));
  assert.ok(
    Object.keys(all).every((k) => /\| alexnet-wgsl \d+\.\d+\.\d+/.test(k)),
    Object.keys(all).join('; '),
  );
  writeFileSync(s1.file, '{ not json');
  assert.equal(s1.load(), {});
  s1.save({ k: 'z' });
  assert.equal(s1.load(), { k: 'z' });
});

test('a conv tuned in-process gives the same output as with today’s tile', async () => {
  const e = await createEngine({ autotune: 'full', tuneStore: () => memory() });
  try {
    const x = new Tensor(e, [2, 5, 9, 9]).write(Float32Array.from(rand(2 * 5 * 81, 1))),
      w = new Tensor(e, [7, 5, 3, 3]).write(Float32Array.from(rand(7 * 45, 2)));
    const before = await conv2dForward(x, w, undefined, { padding: 1 }).readF32();
    assert.is(e.tuner.pending.length, 1);
    const [row] = await e.tuner.tunePending(e, { reps: 1 });
    assert.ok(row.trials.length >= 2, JSON.stringify(row));
    const after = await conv2dForward(x, w, undefined, { padding: 1 }).readF32();
    assert.ok(
      after.every((v, i) => Object.is(v, before[i])),
      `winner ${row.winner}`,
    );
  } finally {
    e.dispose();
  }
});

test('training with tuning on ends with the weights of training with it off', async () => {
  await makeData(join(dir, 'data'), 48, 16);
  const run = async (name: string, autotune: 'off' | 'cached') => {
    const e = await createEngine({ autotune, tuneStore: () => memory() });
    const lines: string[] = [];
    try {
      await train(options(join(dir, 'data'), join(dir, name), { batchSize: 8, seed: 3, steps: 4 }), {
        ...quiet,
        log: (l) => lines.push(l),
        engine: e,
      });
    } finally {
      e.dispose();
    }
    return lines;
  };
  const tunedLog = await run('tuned', 'cached');
  assert.ok(
    tunedLog.some((l) => /^autotune: timing the variants of \d+ new kernel shape/.test(l)),
    tunedLog.join('\n'),
  );
  await run('plain', 'off');
  assert.equal(
    await weightsDiffer(join(dir, 'tuned', 'final.safetensors'), join(dir, 'plain', 'final.safetensors')),
    [],
  );
  // a stop asked for during the first step is not held up by tuning: the shapes stay for a later run
  const e = await createEngine({ autotune: 'cached', tuneStore: () => memory() });
  const lines: string[] = [];
  try {
    const r = await train(options(join(dir, 'data'), join(dir, 'stopped'), { batchSize: 8, seed: 3, steps: 4 }), {
      ...quiet,
      log: (l) => lines.push(l),
      engine: e,
      stopRequested: () => true,
    });
    assert.ok(r.interrupted);
    assert.is(r.state.step, 1);
    assert.not.ok(
      lines.some((l) => l.startsWith('autotune:')),
      lines.join('\n'),
    );
    assert.ok(e.tuner.pending.length > 0, 'the shapes are still queued');
  } finally {
    e.dispose();
  }
});

test.run();
