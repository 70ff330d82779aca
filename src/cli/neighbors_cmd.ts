// `alexnet-wgsl neighbors`: the paper's figure 4 (right). Validation images are matched to the
// training images whose 4096-d (or the net's) fc7 activations are closest in Euclidean distance.
import { flag, helpText, parseArgs, UsageError, workersFlag } from './args.js';
import { openData, type OpenedData } from '../node/data/source.js';
import { openModel } from '../node/files/checkpoint.js';
import { evalBatches } from '../data/loader.js';
import { sampleSize, takeDataset, type Dataset } from '../data/dataset.js';
import { neighborsFigure, type Img } from '../node/pictures/index.js';
import type { Model } from '../models/model.js';
import { batchInput } from '../train/input.js';
import { ARCH_NAMES } from '../models/spec.js';
import type { CliEnv } from './env.js';

const flags = {
  arch: flag.choiceOpt('network (checked against the checkpoint)', ARCH_NAMES),
  checkpoint: flag.stringOpt('weights (safetensors)'),
  data: flag.string('dataset: queries from its validation split, neighbours from train', 'fashion-mnist'),
  queries: flag.int('query images (the first N of the validation split)', 5, { min: 1 }),
  k: flag.int('neighbours per query', 6, { min: 1 }),
  'train-limit': flag.int('search the first N training images', 5000, { min: 1 }),
  figure: flag.string('output picture', 'neighbors.png'),
  workers: workersFlag,
  help: flag.boolean('show this help'),
};

async function features(
  model: Model,
  d: Dataset,
  mean: Float32Array,
  scale: number,
  std?: ArrayLike<number>,
): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for await (const b of evalBatches(d, {
    batchSize: 100,
    inputSize: model.inputSize,
    mean,
    scale,
    std,
    tenCrop: false,
    onDevice: true,
  })) {
    const n = b.labels.length;
    const x = batchInput(model.engine, b, [n, model.channels, model.inputSize, model.inputSize]);
    const f = model.forward(x, { training: false, until: 'fc7' });
    const v = (await f.read()) as Float32Array;
    const dim = v.length / n;
    for (let i = 0; i < n; i++) out.push(v.slice(i * dim, (i + 1) * dim));
    x.dispose();
    f.dispose();
  }
  return out;
}

async function picture(d: Dataset, i: number): Promise<Img> {
  const c = d.channels,
    hw = d.height * d.width;
  const chw = new Float32Array(sampleSize(d));
  await d.get(i, chw);
  let lo = Infinity,
    hi = -Infinity;
  if (!d.pixels)
    for (const v of chw) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
  const img = new Uint8Array(c * hw);
  for (let k = 0; k < c; k++)
    for (let p = 0; p < hw; p++) {
      const v = chw[k * hw + p];
      img[p * c + k] = Math.max(0, Math.min(255, Math.round(d.pixels ? v : (255 * (v - lo)) / (hi - lo || 1))));
    }
  return { image: img, width: d.width, height: d.height, channels: c };
}

export async function neighborsCommand(argv: string[], env: CliEnv): Promise<number> {
  const { flags: f } = parseArgs(argv, flags);
  if (f.help) {
    console.log(helpText('neighbors', 'nearest neighbours in fc7 space', flags));
    return 0;
  }
  if (!f.checkpoint) throw new UsageError('neighbors needs --checkpoint FILE');
  const engine = await env.createEngine();
  let data: OpenedData | undefined;
  try {
    const { model, meta } = await openModel(engine, f.checkpoint, f.arch);
    const warn = (w: string) => console.error(`warning: ${w}`);
    data = await openData(f.data, { warn, resample: model.arch.resample, workers: f.workers });
    const train = takeDataset(data.train, Math.min(f.trainLimit, data.train.length));
    const queries = takeDataset(data.val ?? data.train, f.queries);
    const mean = Float32Array.from(meta.mean),
      scale = train.pixels ? meta.pixelScale : 1;
    const [qf, tf] = [
      await features(model, queries, mean, scale, meta.std),
      await features(model, train, mean, scale, meta.std),
    ];
    const rows = [];
    for (let q = 0; q < qf.length; q++) {
      const dist = tf.map((t) => t.reduce((s, v, j) => s + (v - qf[q][j]) ** 2, 0));
      const nearest = [...dist.keys()].sort((a, b) => dist[a] - dist[b]).slice(0, f.k);
      console.log(
        `query ${q} (label ${queries.labels[q]}): ${nearest.map((i) => `#${i} (label ${train.labels[i]}, d=${Math.sqrt(dist[i]).toFixed(2)})`).join(', ')}`,
      );
      rows.push({
        query: await picture(queries, q),
        neighbors: await Promise.all(nearest.map((i) => picture(train, i))),
      });
    }
    await neighborsFigure(f.figure, rows);
    console.log(`picture: ${f.figure}`);
    model.dispose();
    return 0;
  } finally {
    await data?.close();
    engine.dispose();
  }
}
