// Evaluation: top-1 and top-5 error of a model on a dataset, from the centre crop or from the
// paper's 10-crop average (four corners + centre and their mirrors, softmax averaged).
import { takeDataset, type Dataset } from '../data/dataset.js';
import { evalBatches } from '../data/loader.js';
import type { Model } from '../models/model.js';
import { softmax } from '../ops/softmax.js';
import { batchInput } from './input.js';
import { topkHits } from './metrics.js';

export interface EvalResult {
  top1Error: number;
  top5Error: number;
  samples: number;
}

export interface EvalOptions {
  batchSize: number;
  mean: Float32Array;
  scale: number;
  std?: ArrayLike<number>;
  tenCrop: boolean;
  limit?: number;
}

export async function evaluate(model: Model, data: Dataset, o: EvalOptions): Promise<EvalResult> {
  const e = model.engine;
  const K = model.classes,
    crops = o.tenCrop ? 10 : 1;
  let hits1 = 0,
    hits5 = 0,
    seen = 0;
  const set = o.limit !== undefined && o.limit < data.length ? takeDataset(data, o.limit) : data;
  for await (const b of evalBatches(set, {
    batchSize: o.batchSize,
    inputSize: model.inputSize,
    mean: o.mean,
    scale: o.scale,
    std: o.std,
    tenCrop: o.tenCrop,
    onDevice: true,
  })) {
    const n = b.labels.length;
    const x = batchInput(e, b, [n * crops, model.channels, model.inputSize, model.inputSize]);
    const logits = model.forward(x, { training: false });
    const probs = softmax(logits);
    const p = (await probs.read()) as Float32Array;
    x.dispose();
    logits.dispose();
    probs.dispose();
    let scores = p;
    if (crops > 1) {
      // average the softmax over each sample's crops (sample-major order)
      scores = new Float32Array(n * K);
      for (let s = 0; s < n; s++)
        for (let c = 0; c < crops; c++)
          for (let k = 0; k < K; k++) scores[s * K + k] += p[(s * crops + c) * K + k] / crops;
    }
    const h = topkHits(scores, b.labels, K);
    hits1 += h.top1;
    hits5 += h.top5;
    seen += n;
  }
  return { top1Error: seen ? 1 - hits1 / seen : NaN, top5Error: seen ? 1 - hits5 / seen : NaN, samples: seen };
}
