// The autograd tape: ops run inside tape.run(fn) append nodes in execution order to an explicit
// array; backward() walks it in reverse, handing each node the gradient of its output and
// accumulating (+=) the gradients it returns into its inputs. Intermediates are freed as soon as the
// reverse walk has passed their producer, so gradient buffers are recycled by liveness within the
// step. Recording is scoped: there is a tape only inside run(), restored in `finally`, so nothing is
// left recording by accident. With a NumericsMonitor every output and gradient is also checked for
// NaN/Inf (tensor/numerics.ts).
import { AlexnetError, ShapeError, fmtShape } from './errors.js';
import type { Engine } from './gpu/engine.js';
import { currentLabel, scope } from './gpu/scope.js';
import { Tensor } from './tensor/tensor.js';
import { accumulate, fill } from './tensor/elementwise.js';
import type { NumericsMonitor } from './tensor/numerics.js';

export interface Node {
  readonly op: string;
  readonly inputs: readonly Tensor[];
  readonly output: Tensor;
  /** Given dL/d(output), return dL/d(input) per input (undefined where not needed). */
  backward(gradOutput: Tensor): Array<Tensor | undefined>;
  /** Extra tensors the backward needs (argmax, masks); freed after the node's backward. */
  readonly saved?: readonly Tensor[];
}

export interface TapeOptions {
  /** Watch every op's output and every gradient for NaN/Inf (debugging: slower; names the op). */
  numerics?: NumericsMonitor;
}

/** The tape ops record onto while a tape.run() is in progress (innermost), if any. */
let active: Tape | undefined;

export class Tape {
  readonly nodes: Node[] = [];
  /** The label (scope) each node was recorded under: its backward runs under '<label> backward'. */
  private labels: string[] = [];
  private owned = new Set<Tensor>();
  private retained = new Set<Tensor>();
  private done = false;
  private readonly numerics?: NumericsMonitor;

  constructor(
    readonly engine: Engine,
    opts: TapeOptions = {},
  ) {
    this.numerics = opts.numerics;
  }

  /** Run `fn` recording the ops it runs on this tape; returns what fn returns. fn must be synchronous. */
  run<T>(fn: () => T): T {
    if (this.done) throw new AlexnetError('tape: run after backward/dispose; start a new tape');
    const outer = active;
    active = this;
    try {
      const r = fn();
      if (r instanceof Promise)
        throw new AlexnetError(
          'tape.run: fn returned a Promise; ops encode synchronously, so record them in a synchronous function',
        );
      return r;
    } finally {
      active = outer;
    }
  }

  /** Record a node if any input requires a gradient (ops reach it through recordOp). */
  record(node: Node): void {
    if (this.done) throw new AlexnetError('tape: record after backward/dispose; start a new tape');
    if (node.output.engine !== this.engine)
      throw new AlexnetError(`tape: op ${node.op} runs on another engine than the tape's`);
    const label = currentLabel();
    this.owned.add(node.output);
    this.numerics?.watch(node.output, label ? `${label} (${node.op}) output` : `${node.op} output`);
    if (node.inputs.some((t) => t.requiresGrad)) {
      node.output.requiresGrad = true;
      this.nodes.push(node);
      this.labels.push(label || node.op);
    } else node.saved?.forEach((t) => t.dispose());
  }

  /** Keep `t` alive past backward() until dispose() (e.g. logits for accuracy). */
  retain(t: Tensor): Tensor {
    this.retained.add(t);
    return t;
  }

  /**
   * Backpropagate from `output` (a scalar loss, or any tensor with `seed` = dL/d(output)).
   * Parameters (leaves with requiresGrad) receive `.grad`, accumulated if already present.
   */
  backward(output: Tensor, seed?: Tensor): void {
    if (this.done) throw new AlexnetError('tape: backward called twice');
    this.done = true;
    if (seed && seed.size !== output.size)
      throw new ShapeError(`backward: seed ${fmtShape(seed.shape)} does not match output ${fmtShape(output.shape)}`);
    const grads = new Map<Tensor, Tensor>();
    grads.set(output, seed ?? fill(new Tensor(this.engine, output.shape, 'f32', { name: 'seed' }), 1));
    for (let k = this.nodes.length - 1; k >= 0; k--) {
      const node = this.nodes[k];
      const g = grads.get(node.output);
      if (g) {
        grads.delete(node.output);
        scope(`${this.labels[k]} backward`, () => this.backwardNode(node, this.labels[k], g, grads));
        if (g !== seed) g.dispose();
      }
      node.saved?.forEach((t) => t.dispose());
      if (!this.retained.has(node.output)) {
        node.output.dispose();
        this.owned.delete(node.output);
      }
    }
    for (const g of grads.values()) if (g !== seed) g.dispose();
  }

  /** One node's backward: its input gradients, accumulated into what the walk holds or into .grad. */
  private backwardNode(node: Node, label: string, g: Tensor, grads: Map<Tensor, Tensor>): void {
    const inGrads = node.backward(g);
    inGrads.forEach(
      (gi, i) =>
        gi &&
        this.numerics?.watch(
          gi,
          `${label} backward: gradient of ${node.inputs[i].name !== 'tensor' ? node.inputs[i].name : `input ${i} of ${node.op}`}`,
        ),
    );
    node.inputs.forEach((input, i) => {
      const gi = inGrads[i];
      if (!gi) return;
      if (!input.requiresGrad) return gi.dispose();
      if (this.owned.has(input)) {
        const prev = grads.get(input);
        if (prev) {
          accumulate(prev, gi);
          gi.dispose();
        } else grads.set(input, gi);
      } else if (input.grad) {
        accumulate(input.grad, gi);
        gi.dispose();
      } else input.grad = gi;
    });
  }

  /** Free every intermediate this tape still holds (retained ones too). */
  dispose(): void {
    this.done = true;
    for (const n of this.nodes) n.saved?.forEach((t) => t.dispose());
    for (const t of this.owned) t.dispose();
    this.owned.clear();
    this.retained.clear();
    this.nodes.length = 0;
    this.labels.length = 0;
  }
}

/** Called by ops after computing their output: record `node` on the tape of the run in progress, if any. */
export function recordOp(node: Node): void {
  if (active) active.record(node);
  else node.saved?.forEach((t) => t.dispose());
}

/** Whether ops on `engine` are being recorded right now (inference frees intermediates when not). */
export const isRecording = (engine: Engine): boolean => active?.engine === engine;

/** Run `fn` with no tape recording, whatever run() it is inside (evaluation in a training step, tidy). */
export function withoutTape<T>(fn: () => T): T {
  const outer = active;
  active = undefined;
  try {
    return fn();
  } finally {
    active = outer;
  }
}
