// The paper's claims as experiments: each names its variants (a change to the run's options or to
// mini's layer table), what is measured per seed, and the sign the paper reports. runner.ts trains
// the variants with the same seeds and decides (verdict.ts). The first claim gives the verdict.
import { archOf, type Arch, type Layer } from '../../models/spec.js';
import type { TrainOptions } from '../train/options.js';

/** What one training run gave: final errors, the per-epoch and per-window curves, conv1's colour shares. */
export interface RunResult {
  variant: string;
  seed: number;
  top1Error: number;
  top5Error: number;
  tenCrop?: { top1Error: number; top5Error: number };
  /** running training error of the last epoch (dropout and augmentation on, as the paper's curves) */
  trainError: number;
  epochs: Array<{ epoch: number; trainError: number; valError?: number }>;
  /** running training error of each progress window: [step, error] */
  windows: Array<[number, number]>;
  /** conv1's kernels' shares of energy off the grey axis, per tower (RGB data only) */
  colour?: number[][];
  seconds: number;
  /** the learning rate, when a sweep chose it */
  lr?: number;
  /** read back from an earlier run with the same options (runner.ts, cachedRun) */
  reused?: boolean;
}

export interface Claim {
  what: string;
  paper: string;
  /** the sign of the measure the paper reports */
  expect: -1 | 1;
  /** how a measure is shown: a difference of error rates in points, or a ratio (measure = ratio − 1) */
  unit: 'points' | 'ratio';
  /** the per-seed measure from that seed's runs, in the experiment's variant order */
  measure(runs: RunResult[]): number;
}

export interface Variant {
  label: string;
  apply(o: TrainOptions): TrainOptions;
}

export interface Experiment {
  name: string;
  title: string;
  /** needs 3-channel data (skipped, with the reason, on greyscale) */
  rgb?: boolean;
  variants: Variant[];
  claims: Claim[];
  /** learning rates tried on seed 1 for each variant (the lowest final training error wins) */
  sweep?: number[];
}

const top1 = (r: RunResult) => r.top1Error;
const top5 = (r: RunResult) => r.top5Error;
const gap = (r: RunResult) => r.top1Error - r.trainError;
/** treatment − baseline of a per-run quantity (runs: [baseline, treatment]) */
const delta =
  (f: (r: RunResult) => number) =>
  ([a, b]: RunResult[]) =>
    f(b) - f(a);

/** A variant of mini's layer table, named after it so checkpoints say what was trained. */
const table =
  (suffix: string, change: (layers: Layer[]) => Layer[]) =>
  (o: TrainOptions): TrainOptions => {
    const a: Arch = archOf(o.arch);
    return { ...o, arch: { ...a, name: `${a.name}-${suffix}`, layers: change(a.layers) } };
  };
const same = (o: TrainOptions) => o;

/** One tower with half the kernels of every conv layer but the last (the paper's Sec. 3.2 comparison). */
function oneTower(layers: Layer[]): Layer[] {
  const convs = layers.filter((l) => l.kind === 'conv');
  const last = convs[convs.length - 1];
  return layers.map((l) =>
    l.kind === 'conv' ? { ...l, groups: 1, out: l === last ? l.out : Math.max(1, Math.round(l.out / 2)) } : l,
  );
}

/** Steps until the running training error first reaches `level` (the run's last step if never). */
function stepsTo(r: RunResult, level: number): number {
  const hit = r.windows.find(([, e]) => e <= level);
  return hit ? hit[0] : (r.windows.at(-1)?.[0] ?? Number.NaN);
}

/**
 * The paper's figure 1 net, scaled: four layers with weights (three 5×5 convs of 32, 32, 64 kernels,
 * each followed by `unit` and a 3/2 max-pool, then the classifier), no LRN, no dropout.
 */
function fourLayer(unit: 'relu' | 'tanh') {
  return (o: TrainOptions): TrainOptions => {
    const k = { kind: 'kaiming' } as const,
      relu = unit === 'relu';
    const conv = (name: string, out: number): Layer[] => [
      { kind: 'conv', name, out, kernel: 5, stride: 1, pad: 2, groups: 1, relu, init: k, bias: 0 },
      ...(relu ? [] : [{ kind: 'tanh' } as const]),
      { kind: 'maxpool', kernel: 3, stride: 2 },
    ];
    const layers: Layer[] = [
      ...conv('conv1', 32),
      ...conv('conv2', 32),
      ...conv('conv3', 64),
      { kind: 'flatten' },
      { kind: 'linear', name: 'fc', out: 'classes', relu: false, init: { kind: 'normal', std: 0.01 }, bias: 0 },
    ];
    const a = archOf(o.arch);
    // no regularisation of any kind, as the paper's figure 1
    return { ...o, arch: { ...a, name: `four-${unit}`, layers }, dropout: 0, weightDecay: 0, augment: false };
  };
}

export const EXPERIMENTS: Experiment[] = [
  {
    name: 'relu-vs-tanh',
    title: 'ReLU against tanh in a four-layer convnet without regularisation (figure 1)',
    sweep: [0.01, 0.03, 0.1],
    variants: [
      { label: 'tanh', apply: fourLayer('tanh') },
      { label: 'ReLU', apply: fourLayer('relu') },
    ],
    claims: [
      {
        what: "steps to the training error tanh ends at, tanh ÷ ReLU (the paper's 25% on CIFAR-10)",
        paper: '6× (ReLU reaches 25% six times faster)',
        expect: 1,
        unit: 'ratio',
        measure: ([tanhRun, reluRun]) =>
          stepsTo(tanhRun, tanhRun.trainError) / stepsTo(reluRun, tanhRun.trainError) - 1,
      },
    ],
  },
  {
    name: 'overlap-pool',
    title: 'Overlapping pooling (3/2) against 2/2',
    variants: [
      {
        label: 'pool 2/2',
        apply: table('pool2', (ls) => ls.map((l) => (l.kind === 'maxpool' ? { ...l, kernel: 2 } : l))),
      },
      { label: 'pool 3/2', apply: same },
    ],
    claims: [
      { what: 'top-1 error, 3/2 − 2/2', paper: '−0.4 points', expect: -1, unit: 'points', measure: delta(top1) },
      { what: 'top-5 error, 3/2 − 2/2', paper: '−0.3 points', expect: -1, unit: 'points', measure: delta(top5) },
      {
        what: 'validation − training error, 3/2 − 2/2',
        paper: '"slightly more difficult to overfit" (< 0)',
        expect: -1,
        unit: 'points',
        measure: delta(gap),
      },
    ],
  },
  {
    name: 'lrn',
    title: 'Local response normalisation after conv1 and conv2, against none',
    variants: [
      { label: 'no LRN', apply: table('nolrn', (ls) => ls.filter((l) => l.kind !== 'lrn')) },
      { label: 'LRN', apply: same },
    ],
    claims: [
      { what: 'top-1 error, LRN − none', paper: '−1.4 points', expect: -1, unit: 'points', measure: delta(top1) },
      { what: 'top-5 error, LRN − none', paper: '−1.2 points', expect: -1, unit: 'points', measure: delta(top5) },
    ],
  },
  {
    name: 'dropout',
    title: 'Dropout 0.5 in fc6 and fc7, against none',
    variants: [
      { label: 'no dropout', apply: (o) => ({ ...o, dropout: 0 }) },
      { label: 'dropout 0.5', apply: (o) => ({ ...o, dropout: 0.5 }) },
    ],
    claims: [
      {
        what: 'validation − training error, dropout − none',
        paper: 'dropout stops overfitting (< 0)',
        expect: -1,
        unit: 'points',
        measure: delta(gap),
      },
      {
        what: 'steps to the training error dropout ends at, dropout ÷ none',
        paper: '"roughly doubles the number of iterations" (2×)',
        expect: 1,
        unit: 'ratio',
        measure: ([a, b]) => stepsTo(b, b.trainError) / stepsTo(a, b.trainError) - 1,
      },
    ],
  },
  {
    name: 'towers',
    title: 'Two towers (groups 2 on conv2, conv4, conv5) against one tower with half the kernels',
    variants: [
      { label: 'one tower, half kernels', apply: table('onetower', oneTower) },
      { label: 'two towers', apply: same },
    ],
    claims: [
      { what: 'top-1 error, two towers − one', paper: '−1.7 points', expect: -1, unit: 'points', measure: delta(top1) },
      { what: 'top-5 error, two towers − one', paper: '−1.2 points', expect: -1, unit: 'points', measure: delta(top5) },
    ],
  },
  {
    name: 'ten-crop',
    title: 'Ten-crop averaging at test time against the centre crop, on the same checkpoint',
    variants: [{ label: 'trained', apply: (o) => ({ ...o, tenCrop: true }) }],
    claims: [
      {
        what: 'top-1 error, 10-crop − centre',
        paper: 'lower (ILSVRC-2010: 39.0% → 37.5%, −1.5 points)',
        expect: -1,
        unit: 'points',
        measure: ([r]) => r.tenCrop!.top1Error - r.top1Error,
      },
      {
        what: 'top-5 error, 10-crop − centre',
        paper: '18.3% → 17.0%, −1.3 points',
        expect: -1,
        unit: 'points',
        measure: ([r]) => r.tenCrop!.top5Error - r.top5Error,
      },
    ],
  },
  {
    name: 'pca-lighting',
    title: 'PCA lighting against none',
    rgb: true,
    variants: [
      { label: 'no lighting', apply: (o) => ({ ...o, lighting: false }) },
      { label: 'PCA lighting', apply: (o) => ({ ...o, lighting: true }) },
    ],
    claims: [
      {
        what: 'top-1 error, lighting − none',
        paper: '"reduces the top-1 error rate by over 1%"',
        expect: -1,
        unit: 'points',
        measure: delta(top1),
      },
    ],
  },
  {
    name: 'conv1-colour',
    title: "conv1's two towers specialise: one colour-agnostic, one colour-specific",
    rgb: true,
    variants: [{ label: 'trained', apply: (o) => ({ ...o, pictures: true }) }],
    claims: [
      {
        what: 'colour share of energy, |tower 1 − tower 2| − the same for random halves',
        paper: 'tower 1 largely colour-agnostic, tower 2 largely colour-specific (> 0)',
        expect: 1,
        unit: 'points',
        measure: ([r]) => towerContrast(r.colour!),
      },
    ],
  },
];

/**
 * How much more the towers' mean colour shares differ than two halves of the same kernels drawn at
 * random would (the average over 200 fixed pseudo-random splits): > 0 when the towers specialise.
 */
export function towerContrast(towers: number[][]): number {
  const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  const observed = Math.abs(mean(towers[0]) - mean(towers[towers.length - 1]));
  const all = towers.flat(),
    half = towers[0].length;
  let s = 12345,
    sum = 0;
  for (let t = 0; t < 200; t++) {
    const idx = all.map((_, i) => i);
    for (let i = idx.length - 1; i > 0; i--) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      const j = s % (i + 1);
      [idx[i], idx[j]] = [idx[j], idx[i]];
    }
    sum += Math.abs(mean(idx.slice(0, half).map((i) => all[i])) - mean(idx.slice(half).map((i) => all[i])));
  }
  return observed - sum / 200;
}
