// Runs an experiment (definitions.ts): every variant for every seed with the engine's own trainer,
// then writes <out>/<name>/ — result.json (every run, every claim, the top-level "verdict"), table.md
// and figure.png (training and validation error per epoch, mean over seeds) — and returns the result.
// Runs are sized for the 2-core lavapipe machine (README, "Experiments"): mini on crops of the
// data's side − 4 (24 of Fashion-MNIST's 28, as the paper's 224 of 256), a subset, a few epochs.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Engine } from '../../gpu/engine.js';
import { archOf, towers } from '../../models/spec.js';
import { openData } from '../data/source.js';
import { atomicWrite } from '../files/atomic.js';
import { readSafetensors } from '../files/safetensors.js';
import { plotCurves } from '../pictures/index.js';
import { train } from '../train/trainer.js';
import type { TrainOptions } from '../train/options.js';
import type { Claim, Experiment, RunResult } from './definitions.js';
import { colourShare, decide, spread, type Spread, type Verdict } from './verdict.js';

export interface ExperimentOptions {
  data: string;
  seeds: number;
  epochs: number;
  /** training images per run (the data's first N) and validation images */
  trainLimit: number;
  valLimit: number;
  /** a few steps on a few images: proves the machinery, decides nothing */
  quick: boolean;
  out: string;
  workers?: number;
  engine?: Engine;
  log(line: string): void;
}

export interface ClaimResult extends Omit<Claim, 'measure'> {
  values: number[];
  diff: Spread;
  verdict: Verdict;
  why: string;
}

export interface ExperimentResult {
  experiment: string;
  title: string;
  verdict: Verdict;
  reason?: string;
  data: string;
  settings: Record<string, unknown>;
  claims: ClaimResult[];
  runs: RunResult[];
  /** the learning-rate sweep's runs (seed 1), when the experiment has one; the picked ones are in runs */
  sweep?: RunResult[];
  seconds: number;
}

export async function runExperiment(x: Experiment, o: ExperimentOptions): Promise<ExperimentResult> {
  const t0 = performance.now();
  const dir = join(o.out, x.name);
  await mkdir(dir, { recursive: true });
  const probe = await openData(o.data, { workers: 0 });
  const { channels, height } = probe.train;
  await probe.close();
  const base = baseOptions(o, height);
  const settings = { ...base, arch: 'mini', seeds: o.seeds, out: undefined, seed: undefined };
  const result = (verdict: Verdict, claims: ClaimResult[], runs: RunResult[], reason?: string) => ({
    experiment: x.name,
    title: x.title,
    verdict,
    reason,
    data: o.data,
    settings,
    claims,
    runs,
    seconds: (performance.now() - t0) / 1000,
  });
  if (x.rgb && channels !== 3) {
    const r = result('skipped', [], [], `${o.data} has ${channels} channel(s): the claim is about colour (RGB data)`);
    await writeOutputs(dir, r);
    return r;
  }
  const runs: RunResult[] = [],
    swept: RunResult[] = [];
  const run = async (v: Experiment['variants'][number], seed: number, lr = base.lr) => {
    const tag = x.sweep ? `-lr${lr}` : '';
    const r = { ...(await cachedRun(v.apply({ ...base, seed, lr }), v.label, o)), lr };
    const how = r.reused ? 'the same run as before, reused' : `${r.seconds.toFixed(0)} s`;
    o.log(`${x.name}: ${v.label}${tag}, seed ${seed}: top-1 error ${pct(r.top1Error)} (${how})`);
    return r;
  };
  // a learning-rate sweep (seed 1) picks each variant's rate by the same rule: the lowest final training error
  const lrOf = new Map<string, number>();
  for (const v of x.variants) {
    if (!x.sweep) continue;
    for (const lr of x.sweep) swept.push(await run(v, 1, lr));
    const mine = swept.filter((r) => r.variant === v.label);
    const best = mine.reduce((a, b) => (b.trainError < a.trainError ? b : a));
    lrOf.set(v.label, best.lr!);
    runs.push(best);
  }
  for (let seed = x.sweep ? 2 : 1; seed <= o.seeds; seed++)
    for (const v of x.variants) runs.push(await run(v, seed, lrOf.get(v.label)));
  const perSeed = (seed: number) => x.variants.map((v) => runs.find((r) => r.seed === seed && r.variant === v.label)!);
  const claims = x.claims.map(({ measure, ...c }) => {
    const values = Array.from({ length: o.seeds }, (_, k) => measure(perSeed(k + 1)));
    return { ...c, values, ...decide(values, c.expect) };
  });
  const r = { ...result(claims[0].verdict, claims, runs), sweep: swept.length ? swept : undefined };
  await writeOutputs(dir, r);
  return r;
}

function baseOptions(o: ExperimentOptions, side: number): TrainOptions {
  return {
    arch: 'mini',
    data: o.data,
    epochs: o.quick ? 1 : o.epochs,
    steps: o.quick ? 2 : undefined,
    batchSize: o.quick ? 16 : 128,
    lr: 0.05,
    momentum: 0.9,
    weightDecay: 0.0005,
    dropout: 0.5,
    augment: true,
    shuffle: true,
    seed: 1,
    out: o.out,
    lrPatience: 1,
    logEvery: o.quick ? 1 : 10,
    inputSize: side > 8 ? side - 4 : side,
    trainLimit: o.quick ? 64 : o.trainLimit,
    valLimit: o.quick ? 32 : o.valLimit,
    pictures: false,
    workers: o.workers,
  };
}

/**
 * A run by its options: training is deterministic, so the same options (many experiments' baseline is
 * plain mini with the same seed) give the same run, trained once under <out>/runs/<hash>/ and read back
 * from its run.json after that (reused: true), by this experiment or another.
 */
async function cachedRun(t: Omit<TrainOptions, 'out'>, variant: string, o: ExperimentOptions): Promise<RunResult> {
  const { workers: _, ...what } = t; // how images are decoded does not change a run
  const key = createHash('sha256').update(JSON.stringify(what)).digest('hex').slice(0, 16);
  const out = join(o.out, 'runs', key),
    file = join(out, 'run.json');
  if (existsSync(file)) return { ...JSON.parse(await readFile(file, 'utf8')), variant, reused: true };
  const r = await runOne({ ...t, out }, variant, o);
  await atomicWrite(file, new TextEncoder().encode(JSON.stringify(r)));
  return r;
}

/** One training run, and what it gave (its metrics.jsonl, its summary, its final weights). */
async function runOne(t: TrainOptions, variant: string, o: ExperimentOptions): Promise<RunResult> {
  const s = await train(t, { log: () => {}, warn: (w) => o.log(`  warning: ${w}`), engine: o.engine });
  const lines = (await readFile(join(t.out, 'metrics.jsonl'), 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
  const epochs = lines
    .filter((m) => m.kind === 'epoch')
    .map((m) => ({ epoch: m.epoch, trainError: m.trainTop1Error, valError: m.valTop1Error }));
  const windows: Array<[number, number]> = lines.filter((m) => m.kind === 'step').map((m) => [m.step, 1 - m.top1]);
  let colour: number[][] | undefined;
  if (t.pictures) {
    const w = (await readSafetensors(s.final!)).tensors['conv1.weight'];
    const data = w.data as Float32Array; // weights are always F32 (saveCheckpoint)
    const [out, c, k] = w.shape,
      per = out / towers(archOf(t.arch));
    const shares = Array.from({ length: out }, (_, i) => colourShare(data.subarray(i * c * k * k), c, k * k));
    colour = Array.from({ length: out / per }, (_, g) => shares.slice(g * per, (g + 1) * per) as number[]);
  }
  return {
    variant,
    seed: t.seed,
    top1Error: s.val!.top1Error,
    top5Error: s.val!.top5Error,
    tenCrop: s.val!.tenCrop,
    trainError: epochs.at(-1)?.trainError ?? windows.at(-1)?.[1] ?? Number.NaN,
    epochs,
    windows,
    colour,
    seconds: s.wallMs / 1000,
  };
}

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;

/** A claim's mean ± sd as shown: points of error, or a ratio. */
export function shown(c: Pick<ClaimResult, 'unit' | 'diff'>): string {
  const { mean, sd, n } = c.diff;
  return c.unit === 'ratio'
    ? `${(1 + mean).toFixed(2)}× ± ${sd.toFixed(2)} (n=${n})`
    : `${(100 * mean).toFixed(2)} ± ${(100 * sd).toFixed(2)} points (n=${n})`;
}

async function writeOutputs(dir: string, r: ExperimentResult): Promise<void> {
  await atomicWrite(join(dir, 'result.json'), new TextEncoder().encode(`${JSON.stringify(r, null, 2)}\n`));
  const rows = r.claims.map((c) => `| ${c.what} | ${c.paper} | ${shown(c)} | **${c.verdict}** (${c.why}) |`);
  const md = [
    `### ${r.experiment}: ${r.title}`,
    '',
    `Verdict: **${r.verdict}**${r.reason ? ` — ${r.reason}` : ''}. Data ${r.data}, ${r.runs.length} runs, ${r.seconds.toFixed(0)} s.`,
    '',
    ...(rows.length ? ['| claim | paper | ours (mean ± sd over seeds) | verdict |', '|---|---|---|---|', ...rows] : []),
    '',
  ].join('\n');
  await writeFile(join(dir, 'table.md'), md);
  await experimentFigure(join(dir, 'figure.png'), r);
}

/**
 * The figure: running training error per progress window against steps, and validation error per
 * epoch, each the mean over seeds of every variant.
 */
export async function experimentFigure(path: string, r: ExperimentResult): Promise<void> {
  const variants = [...new Set(r.runs.map((x) => x.variant))];
  const mean = (rs: RunResult[], pick: (x: RunResult) => Array<[number, number]>) =>
    (rs.length ? pick(rs[0]) : []).map(([x], i): [number, number] => [
      x,
      100 * spread(rs.map((q) => pick(q)[i]?.[1] ?? Number.NaN)).mean,
    ]);
  const lines = (pick: (x: RunResult) => Array<[number, number]>) =>
    variants.map((v) => ({
      name: v,
      points: mean(
        r.runs.filter((x) => x.variant === v),
        pick,
      ),
    }));
  await plotCurves(path, [
    {
      title: `${r.experiment}: training error (running, per ${r.settings.logEvery} steps)`,
      xLabel: 'step',
      yLabel: 'top-1 error %',
      lines: lines((x) => x.windows),
    },
    {
      title: `${r.experiment}: validation error`,
      xLabel: 'epoch',
      yLabel: 'top-1 error %',
      lines: lines((x) => x.epochs.map((e): [number, number] => [e.epoch, e.valError ?? Number.NaN])),
    },
  ]);
}
