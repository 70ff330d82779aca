// The autograd tape: ops append nodes in execution order to an explicit array; backward() walks
// it in reverse, handing each node the gradient of its output and accumulating (+=) the
// gradients it returns into its inputs. Intermediates are freed as soon as the reverse walk has
// passed their producer, so gradient buffers are recycled by liveness within the step.
// With setCheckNumerics() on, every output and gradient is also checked for NaN/Inf (numerics.ts).
import { AlexnetError, ShapeError, fmtShape } from './errors.js';
import type { Engine } from './gpu/engine.js';
import { Tensor } from './tensor.js';
import { accumulate, fill } from './ops/elementwise.js';
import { checkNumericsOf, type NumericsMonitor } from './numerics.js';

export interface Node {
  readonly op: string;
  readonly inputs: readonly Tensor[];
  readonly output: Tensor;
  /** Given dL/d(output), return dL/d(input) per input (undefined where not needed). */
  backward(gradOutput: Tensor): Array<Tensor | undefined>;
  /** Extra tensors the backward needs (argmax, masks); freed after the node's backward. */
  readonly saved?: readonly Tensor[];
}

export class Tape {
  readonly nodes: Node[] = [];
  /** engine.label when each node was recorded: the backward runs under '<label> backward'. */
  private labels: string[] = [];
  private owned = new Set<Tensor>();
  private retained = new Set<Tensor>();
  private done = false;
  /** Set while --check-numerics is on: every output and gradient is watched (looked up once per tape). */
  private readonly numerics: NumericsMonitor | undefined;

  constructor(readonly engine: Engine) {
    this.numerics = checkNumericsOf(engine);
  }

  /** Called by ops: record a node if any input requires a gradient. */
  record(node: Node): void {
    if (this.done) throw new AlexnetError('tape: record after backward/dispose; start a new tape');
    this.owned.add(node.output);
    if (this.numerics) this.numerics.watch(node.output, this.engine.label ? `${this.engine.label} (${node.op}) output` : `${node.op} output`);
    if (node.inputs.some((t) => t.requiresGrad)) {
      node.output.requiresGrad = true;
      this.nodes.push(node);
      this.labels.push(this.engine.label || node.op);
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
    if (seed && seed.size !== output.size) throw new ShapeError(`backward: seed ${fmtShape(seed.shape)} does not match output ${fmtShape(output.shape)}`);
    const grads = new Map<Tensor, Tensor>();
    if (seed) grads.set(output, seed);
    else {
      const one = new Tensor(this.engine, output.shape, 'f32', { name: 'seed' });
      fill(one, 1);
      grads.set(output, one);
    }
    for (let k = this.nodes.length - 1; k >= 0; k--) {
      const node = this.nodes[k];
      const g = grads.get(node.output);
      this.engine.label = `${this.labels[k]} backward`;
      if (g) {
        grads.delete(node.output);
        const inGrads = node.backward(g);
        if (this.numerics) {
          inGrads.forEach((gi, i) => gi && this.numerics!.watch(gi, `${this.labels[k]} backward: gradient of ${node.inputs[i].name !== 'tensor' ? node.inputs[i].name : `input ${i} of ${node.op}`}`));
        }
        if (g !== seed) g.dispose();
        node.inputs.forEach((input, i) => {
          const gi = inGrads[i];
          if (!gi) return;
          if (!input.requiresGrad) return gi.dispose();
          if (this.owned.has(input)) {
            const prev = grads.get(input);
            if (prev) { accumulate(prev, gi); gi.dispose(); } else grads.set(input, gi);
          } else if (input.grad) { accumulate(input.grad, gi); gi.dispose(); } else input.grad = gi;
        });
      }
      node.saved?.forEach((t) => t.dispose());
      if (!this.retained.has(node.output)) { node.output.dispose(); this.owned.delete(node.output); }
    }
    for (const g of grads.values()) if (g !== seed) g.dispose();
    this.engine.label = '';
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
    if (this.engine.tape === this) this.engine.tape = undefined;
  }
}

/** Start recording ops of `engine` on a new tape (replacing any active one). */
export function record(engine: Engine): Tape {
  engine.tape?.dispose();
  const tape = new Tape(engine);
  engine.tape = tape;
  return tape;
}
