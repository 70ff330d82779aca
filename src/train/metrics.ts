// Classification metrics on scores [B, K] (logits or probabilities): argmax, the top-k classes, and
// top-k hits and accuracy against labels. A tie ranks the lower class index first, on both sides:
// argmax and topk return it first, and a labelled class tied with a lower one counts as ranked
// below it, so a constant output is never "lucky".
import { ShapeError, fmtShape } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';

function rows(scores: ArrayLike<number>, classes: number, op: string): number {
  if (!Number.isInteger(classes) || classes < 1 || scores.length % classes !== 0) {
    throw new ShapeError(`${op}: ${scores.length} scores are not rows of ${classes} classes`);
  }
  return scores.length / classes;
}

/** Classes ranked above `label` in row n. */
function above(scores: ArrayLike<number>, n: number, classes: number, label: number): number {
  const base = n * classes,
    target = scores[base + label];
  let higher = 0;
  for (let k = 0; k < classes; k++) {
    const v = scores[base + k];
    if (v > target || (v === target && k < label)) higher++;
  }
  return higher;
}

/** Index of the largest score of each row (the first one on ties). */
export function argmax(scores: ArrayLike<number>, classes: number): Int32Array {
  const n = rows(scores, classes, 'argmax');
  const out = new Int32Array(n);
  for (let r = 0; r < n; r++) {
    let best = 0;
    for (let k = 1; k < classes; k++) if (scores[r * classes + k] > scores[r * classes + best]) best = k;
    out[r] = best;
  }
  return out;
}

/** The k highest-scoring classes of each row, best first: [rows × k] row-major. */
export function topk(scores: ArrayLike<number>, classes: number, k: number): Int32Array {
  const n = rows(scores, classes, 'topk');
  if (!Number.isInteger(k) || k < 1 || k > classes) throw new ShapeError(`topk: k = ${k} must be in 1..${classes}`);
  const out = new Int32Array(n * k);
  const order = Array.from({ length: classes }, (_, i) => i);
  for (let r = 0; r < n; r++) {
    const row = (i: number) => scores[r * classes + i];
    order.sort((a, b) => row(b) - row(a) || a - b);
    for (let j = 0; j < k; j++) out[r * k + j] = order[j];
  }
  return out;
}

/** Count top-1/top-5 hits of scores [B, K] against labels. */
export function topkHits(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  classes: number,
): { top1: number; top5: number } {
  const n = rows(scores, classes, 'topkHits');
  if (labels.length !== n) throw new ShapeError(`topkHits: ${labels.length} labels for ${n} rows`);
  let top1 = 0,
    top5 = 0;
  for (let r = 0; r < n; r++) {
    const higher = above(scores, r, classes, checkLabel(labels[r], classes, r));
    if (higher === 0) top1++;
    if (higher < 5) top5++;
  }
  return { top1, top5 };
}

function checkLabel(l: number, classes: number, at: number): number {
  if (!Number.isInteger(l) || l < 0 || l >= classes)
    throw new ShapeError(`label ${l} at index ${at} is outside [0, ${classes})`);
  return l;
}

/** Share of rows of `logits` [B, K] whose label is among the k highest scores (reads the tensor). */
export async function accuracy(logits: Tensor, labels: ArrayLike<number>, k = 1): Promise<number> {
  if (logits.shape.length !== 2) throw new ShapeError(`accuracy: logits ${fmtShape(logits.shape)} are not [B, K]`);
  const [B, K] = logits.shape;
  if (labels.length !== B)
    throw new ShapeError(`accuracy: ${labels.length} labels for logits ${fmtShape(logits.shape)}`);
  if (!Number.isInteger(k) || k < 1 || k > K) throw new ShapeError(`accuracy: k = ${k} must be in 1..${K}`);
  const scores = await logits.readF32();
  let hits = 0;
  for (let r = 0; r < B; r++) if (above(scores, r, K, checkLabel(labels[r], K, r)) < k) hits++;
  return B ? hits / B : NaN;
}
