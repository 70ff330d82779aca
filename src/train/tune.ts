// Tuning a model's kernels ahead of time (`alexnet-wgsl tune`) and the tuning table: one forward
// and backward on a synthetic batch queues every (op, shape) the training step uses, then the
// engine's tuner times their variants (src/gpu/tuner.ts). The weights are not updated.
import type { Engine } from '../gpu/engine.js';
import type { TuneRow } from '../gpu/tuner.js';
import type { Model } from '../models/model.js';
import { softmaxCrossEntropy } from '../ops/softmax.js';
import { Tape } from '../tape.js';
import { Tensor } from '../tensor/tensor.js';

/** Queue the shapes of a training step of `model` at `batch` (forward, loss, backward; no update). */
export function queueStepShapes(model: Model, batch: number): void {
  const e = model.engine,
    S = model.inputSize,
    n = batch * model.channels * S * S;
  const x = new Tensor(e, [batch, model.channels, S, S]).write(Float32Array.from({ length: n }, (_, i) => Math.sin(i)));
  const y = new Tensor(e, [batch], 'i32').write(Int32Array.from({ length: batch }, (_, i) => i % model.classes));
  const tape = new Tape(e);
  try {
    const loss = tape.run(() => softmaxCrossEntropy(model.forward(x, { training: true, seed: 1, step: 0 }), y));
    tape.backward(loss);
  } finally {
    tape.dispose();
    for (const p of model.params) {
      p.grad?.dispose();
      p.grad = undefined;
    }
    x.dispose();
    y.dispose();
  }
}

/** Time every queued shape's variants, logging each as it is done; returns the table's rows. */
export function tuneQueued(e: Engine, log: (line: string) => void): Promise<TuneRow[]> {
  const n = e.tuner.pending.length;
  if (n) log(`autotune: timing the variants of ${n} new kernel shape(s) on this adapter (once; remembered)`);
  return e.tuner.tunePending(e, { onDone: (r, k) => log(`  ${k + 1}/${n} ${tuneRowText(r)}`) });
}

export function tuneRowText(r: TuneRow): string {
  const trials = r.trials.map((t) => `${t.label} ${t.ms.toFixed(2)} ms`).join(', ');
  const gain = r.trials[0].ms / r.trials.find((t) => t.label === r.winner)!.ms;
  return `${r.key}: ${trials} → ${r.winner}${r.winner === r.trials[0].label ? ' (the default)' : ` (${gain.toFixed(2)}× the default)`}`;
}
