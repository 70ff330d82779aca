// The experiments: the verdict rule and the colour measures on values whose answer is known, then
// every experiment in --quick mode on greyscale and on RGB data, its outputs present and well formed
// (the verdicts of two-step runs mean nothing and are not asserted), the colour ones skipped with a
// reason on greyscale.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { colourShare, decide } from '../src/node/experiments/verdict.js';
import { EXPERIMENTS, towerContrast } from '../src/node/experiments/definitions.js';
import { runExperiment, type ExperimentOptions, type ExperimentResult } from '../src/node/experiments/runner.js';
import type { Engine } from '../src/gpu/engine.js';
import { writeNpy } from '../src/node/files/npy.js';
import { cli } from '../src/cli/main.js';
import { makeData } from './fixtures/faults.js';
import { disposeGpu, gpu } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'experiments-test-'));
test.after(() => {
  disposeGpu();
  rmSync(dir, { recursive: true, force: true });
});

test('the verdict: the paper’s sign by a paired t-test at 95%, the opposite sign, not significant, one seed', () => {
  assert.is(decide([-0.01, -0.012, -0.009], -1).verdict, 'reproduced');
  assert.is(decide([0.01, 0.012, 0.009], -1).verdict, 'not reproduced');
  assert.is(decide([-0.01, 0.012, -0.003], -1).verdict, 'inconclusive');
  assert.is(decide([-0.5], -1).verdict, 'inconclusive');
  // beyond 2 standard errors (t = 2.05) but not past Student's t for 2 degrees of freedom (4.30)
  assert.is(decide([-0.01, -0.02, -0.002], -1).verdict, 'inconclusive');
  const d = decide([1, 2, 3], 1).diff;
  assert.equal([d.mean, d.sd, d.n], [2, 1, 3]);
});

test('colour shares: a grey kernel has none, a pure red one two thirds; specialised towers stand out', () => {
  const plane = 4;
  const grey = Float32Array.from({ length: 3 * plane }, (_, i) => (i % plane) - 1.5);
  const red = Float32Array.from({ length: 3 * plane }, (_, i) => (i < plane ? 1 : 0));
  assert.ok(colourShare(grey, 3, plane) < 1e-12);
  assert.ok(Math.abs(colourShare(red, 3, plane) - 2 / 3) < 1e-12);
  const agnostic = Array.from({ length: 12 }, (_, i) => 0.05 + 0.01 * (i % 3));
  const specific = Array.from({ length: 12 }, (_, i) => 0.6 + 0.01 * (i % 3));
  assert.ok(towerContrast([agnostic, specific]) > 0.4);
  // the control: the same kernels in both towers differ no more than random halves
  const mixed = [...agnostic.slice(0, 6), ...specific.slice(0, 6)];
  assert.ok(towerContrast([mixed, [...agnostic.slice(6), ...specific.slice(6)]]) <= 0);
});

/** 3-channel 28×28 uint8 data: four classes told apart by which colour carries a stripe pattern. */
async function rgbData(root: string): Promise<void> {
  mkdirSync(root, { recursive: true });
  const make = async (n: number, split: string) => {
    const img = new Uint8Array(n * 28 * 28 * 3),
      lab = Int32Array.from({ length: n }, (_, k) => k % 4);
    for (let k = 0; k < n; k++)
      for (let p = 0; p < 784; p++)
        for (let c = 0; c < 3; c++) img[(k * 784 + p) * 3 + c] = (p >> 2) % 2 && c === lab[k] % 3 ? 200 : 40;
    await writeNpy(join(root, `${split}_images.npy`), img, [n, 28, 28, 3]);
    await writeNpy(join(root, `${split}_labels.npy`), lab, [n]);
  };
  await make(64, 'train');
  await make(32, 'val');
}

/** --quick on `data`, one seed, decoding on this thread. */
const quick = (data: string, out: string, engine: Engine): ExperimentOptions => ({
  data,
  seeds: 1,
  epochs: 1,
  trainLimit: 64,
  valLimit: 32,
  quick: true,
  out,
  workers: 0,
  engine,
  log: () => {},
});

const check = (r: ExperimentResult, out: string) => {
  const x = EXPERIMENTS.find((e) => e.name === r.experiment)!;
  const file = JSON.parse(readFileSync(join(out, x.name, 'result.json'), 'utf8'));
  assert.is(file.verdict, r.verdict);
  assert.ok(['reproduced', 'not reproduced', 'inconclusive', 'skipped'].includes(file.verdict));
  assert.ok(existsSync(join(out, x.name, 'table.md')) && existsSync(join(out, x.name, 'figure.png')));
  assert.match(readFileSync(join(out, x.name, 'table.md'), 'utf8'), new RegExp(`Verdict: \\*\\*${r.verdict}`));
  if (r.verdict === 'skipped') return assert.ok(r.reason && r.runs.length === 0, x.name);
  assert.is(file.runs.length, x.variants.length, x.name);
  // a sweep tries each rate on seed 1 for each variant and keeps, per variant, the lowest final training error
  assert.is(file.sweep?.length, x.sweep && x.sweep.length * x.variants.length);
  for (const run of file.runs.filter(() => x.sweep)) {
    const tried = file.sweep.filter((s: { variant: string }) => s.variant === run.variant);
    assert.is(run.trainError, Math.min(...tried.map((s: { trainError: number }) => s.trainError)));
  }
  assert.is(file.claims.length, x.claims.length);
  for (const c of file.claims) assert.ok(c.values.length === 1 && c.paper && c.why, `${x.name}: ${c.what}`);
  for (const run of file.runs) assert.ok(run.top1Error >= 0 && run.top1Error <= 1 && run.windows.length === 2);
};

test('every experiment runs in --quick mode on greyscale; the colour ones say why they skip', async () => {
  const data = join(dir, 'grey'),
    out = join(dir, 'out-grey');
  await makeData(data, 64, 32);
  const engine = await gpu();
  const results = new Map<string, ExperimentResult>();
  for (const x of EXPERIMENTS) {
    const r = await runExperiment(x, quick(data, out, engine));
    results.set(x.name, r);
    check(r, out);
    assert.is(r.verdict === 'skipped', !!x.rgb, x.name);
    if (x.rgb) assert.match(r.reason!, /1 channel\(s\)/);
  }
  // plain mini with seed 1 is overlap-pool's 3/2 and lrn's LRN variant: trained once, then reused as it was
  const [pool, lrn] = [results.get('overlap-pool')!.runs, results.get('lrn')!.runs];
  assert.ok(!pool[1].reused && lrn[1].reused && !lrn[0].reused);
  const same = (r: (typeof pool)[number]) => JSON.stringify({ ...r, variant: '', reused: undefined });
  assert.is(same(lrn[1]), same(pool[1]));
});

test('on RGB data the colour experiments run: conv1’s kernels measured per tower', async () => {
  const data = join(dir, 'rgb'),
    out = join(dir, 'out-rgb');
  await rgbData(data);
  const engine = await gpu();
  for (const x of EXPERIMENTS.filter((e) => e.rgb)) {
    const r = await runExperiment(x, quick(data, out, engine));
    check(r, out);
    if (x.name === 'conv1-colour') {
      const colour = r.runs[0].colour!;
      assert.equal(
        colour.map((t) => t.length),
        [12, 12],
      );
      assert.ok(colour.flat().every((s) => s >= 0 && s <= 1));
    }
  }
});

test('the CLI: a bad name exits 2; one experiment in --quick mode writes SUMMARY.md', async () => {
  assert.is(await cli(['experiment', 'no-such']), 2);
  const out = join(dir, 'out-cli');
  assert.is(
    await cli(['experiment', 'lrn', '--quick', '--data', join(dir, 'grey'), '--out', out, '--workers', '0']),
    0,
  );
  assert.match(readFileSync(join(out, 'SUMMARY.md'), 'utf8'), /### lrn: /);
});

test.run();
