// One training step, the same for the trainer, the profiler, the bench and the browser demo:
// forward and the loss recorded on a tape, backward, the paper's update. Nothing is read back: the
// loss and the logits stay on the device until the caller reads them (once per step, or less).
import { scope } from '../gpu/scope.js';
import type { Model } from '../models/model.js';
import type { SGD } from '../optim.js';
import { softmaxCrossEntropy } from '../ops/softmax.js';
import { Tape } from '../tape.js';
import type { NumericsMonitor } from '../tensor/numerics.js';
import type { Tensor } from '../tensor/tensor.js';

export interface StepOptions {
  /** Learning rate of this step (the schedule's). */
  lr: number;
  /** Dropout masks are a function of (seed, step): reproducible, resumable. */
  seed: number;
  step: number;
  /** Watch every op's output and gradient on the tape (--check-numerics). */
  numerics?: NumericsMonitor;
  /** Called once the loss is encoded, before backward (the trainer's NaN watch takes it there). */
  afterForward?: (loss: Tensor) => void;
  /** Called between backward and the update, when every parameter has its .grad (checks, fault tests). */
  beforeUpdate?: () => void;
}

/** What a step leaves on the device: its loss [1] and logits [B, K], valid until release(). */
export interface StepResult {
  loss: Tensor;
  logits: Tensor;
  /** Free the step's tape (loss and logits with it) and the gradients. */
  release(): void;
}

/** x [B, C, S, S] with labels y [B] (i32): forward, softmax cross-entropy, backward, update. */
export function trainStep(model: Model, opt: SGD, x: Tensor, y: Tensor, o: StepOptions): StepResult {
  const tape = new Tape(model.engine, { numerics: o.numerics });
  const { logits, loss } = tape.run(() => {
    const logits = tape.retain(model.forward(x, { training: true, seed: o.seed, step: o.step }));
    return { logits, loss: tape.retain(scope('loss', () => softmaxCrossEntropy(logits, y))) };
  });
  o.afterForward?.(loss);
  tape.backward(loss);
  o.beforeUpdate?.();
  opt.step(o.lr);
  return {
    loss,
    logits,
    release: () => {
      tape.dispose();
      opt.zeroGrad();
    },
  };
}
