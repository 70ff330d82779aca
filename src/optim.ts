// The paper's SGD: v ← μ·v − λ·ε·w − ε·g; w ← w + v (momentum 0.9 and weight decay 0.0005 by
// default), one fused kernel per parameter tensor (per chunk for tensors larger than one storage
// binding, e.g. fc6). The learning rate ε is the schedule's (it changes as training goes) and is
// given to each step.
import { AlexnetError } from './errors.js';
import { f32, lrParam } from './gpu/engine.js';
import { ceilDiv } from './gpu/grid.js';
import { defineKernel } from './gpu/kernel.js';
import { dispatchChunked } from './tensor/chunked.js';
import { scope } from './gpu/scope.js';
import sgdWgsl from '../kernels/sgd_momentum.wgsl';
import { zeros } from './tensor/create.js';
import type { Tensor } from './tensor/tensor.js';

const sgdKernel = defineKernel('sgd_momentum', sgdWgsl);

export interface SgdOptions {
  momentum?: number;
  weightDecay?: number;
  /** Names of parameters excluded from weight decay (default: none, as the paper states no exception). */
  noDecay?: (p: Tensor) => boolean;
}

/** The learning rate must be a finite number ≥ 0. */
export function checkLearningRate(op: string, lr: number): void {
  if (!(lr >= 0 && Number.isFinite(lr)))
    throw new AlexnetError(`${op}: learning rate ${lr} is not a non-negative number`);
}

export class SGD {
  momentum: number;
  weightDecay: number;
  /** One velocity per parameter, same shape, zero at start; saved in checkpoints. */
  readonly velocities: Tensor[];
  private noDecay: (p: Tensor) => boolean;

  constructor(
    readonly params: Tensor[],
    opts: SgdOptions = {},
  ) {
    this.momentum = opts.momentum ?? 0.9;
    this.weightDecay = opts.weightDecay ?? 0.0005;
    this.noDecay = opts.noDecay ?? (() => false);
    this.velocities = params.map((p) => zeros(p.engine, p.shape, `${p.name}.velocity`));
  }

  /** Apply one update with learning rate `lr` from each parameter's .grad (parameters without one are left alone). */
  step(lr: number): void {
    checkLearningRate('SGD', lr);
    scope('update', () => this.params.forEach((w, k) => this.update(w, k, lr)));
  }

  private update(w: Tensor, k: number, lr: number): void {
    const g = w.grad;
    if (!g) return;
    if (g.size !== w.size)
      throw new AlexnetError(`SGD: gradient of ${w.name} has ${g.size} elements, parameter ${w.size}`);
    const v = this.velocities[k];
    const decay = this.noDecay(w) ? 0 : this.weightDecay;
    dispatchChunked(w, {
      kernel: sgdKernel,
      params: (c) => ({
        n: ceilDiv(c.count, 4),
        mu: f32(this.momentum),
        decay_lr: lrParam(lr, decay),
        lr: lrParam(lr),
        gscale: f32(1),
      }),
      buffers: (c) => [
        g.bindingVec4(c.start, c.count),
        w.bindingVec4(c.start, c.count),
        v.bindingVec4(c.start, c.count),
      ],
      perInvocation: 4,
    });
  }

  /** Drop every parameter's gradient (their buffers return to the pool for the next step). */
  zeroGrad(): void {
    for (const p of this.params) {
      p.grad?.dispose();
      p.grad = undefined;
    }
  }

  dispose(): void {
    this.velocities.forEach((v) => v.dispose());
  }
}
