// The training step recorded once and replayed (src/gpu/recording.ts): for one model, optimiser,
// input tensor and label tensor, the first step runs trainStep while the engine logs it; later
// steps replay the log, with the step's learning rate and counter patched in, and give the same
// numbers bit for bit (test/recorded_step.test.ts) for a fraction of the host time. The health
// watches (`watch`: the loss and every gradient; a tape monitor's per-op watches) are dispatches
// like any other and are replayed, their labels restored. A step that cannot be replayed (a hook
// that looks inside it, a changed seed, a monitor in another state, a step the log refuses) runs
// unrecorded, and `reason` says why.
import { DisposedError } from '../errors.js';
import type { Engine } from '../gpu/engine.js';
import { prepareReplay, type Replay } from '../gpu/replay.js';
import type { Model } from '../models/model.js';
import { checkLabels } from '../ops/softmax.js';
import { checkLearningRate, type SGD } from '../optim.js';
import type { NumericsMonitor, Watches } from '../tensor/numerics.js';
import { Tensor } from '../tensor/tensor.js';
import { type StepOptions, type StepResult, trainStep } from './step.js';

export type StepMode = 'recorded' | 'replayed' | 'unrecorded';

export interface RecordedStepOptions extends StepOptions {
  /** Watch the loss and every gradient (last layer first) on this monitor, the trainer's health check. */
  watch?: NumericsMonitor;
}

/** What replaying needs to match: the seed in the dropout uniforms, where each monitor stood. */
interface Recorded {
  replay: Replay;
  seed: number;
  monitors: Array<{ monitor: NumericsMonitor; watchedBefore: number; watches: Watches }>;
}

export class RecordedStep {
  /** How the last step ran. */
  mode?: StepMode;
  /** Why the last step ran unrecorded, or why no step can be replayed. */
  reason?: string;
  private recorded?: Recorded;
  private refused = false;
  private readonly engine: Engine;

  /** x [B, C, S, S] and y [B] are the tensors the caller writes each batch into. */
  constructor(
    readonly model: Model,
    readonly opt: SGD,
    readonly x: Tensor,
    readonly y: Tensor,
  ) {
    this.engine = model.engine;
  }

  /** Bytes of device memory the replay holds (its arenas and uniforms), 0 before it exists. */
  get replayBytes(): number {
    return this.recorded?.replay.bytes ?? 0;
  }

  /** The replay's arena plan: bytes planned against the least any plan could use. */
  get plan(): { plannedBytes: number; minimumBytes: number } | undefined {
    const p = this.recorded?.replay.plan;
    return p && { plannedBytes: p.arenas.reduce((s, b) => s + b, 0), minimumBytes: p.minimumBytes };
  }

  step(o: RecordedStepOptions): StepResult {
    const why = this.refused ? this.reason : this.mismatch(o);
    if (why) {
      if (!this.refused) this.reason = why;
      this.mode = 'unrecorded';
      return this.run(o);
    }
    return this.recorded ? this.replayed(o) : this.record(o);
  }

  /** Why this step cannot be recorded or replayed, if it cannot. */
  private mismatch(o: RecordedStepOptions): string | undefined {
    if (o.afterForward || o.beforeUpdate) return 'a hook looks inside the step';
    const r = this.recorded;
    if (!r) return undefined;
    if (o.seed !== r.seed)
      return `the seed changed (${r.seed} → ${o.seed}): the recording holds it in its dropout uniforms`;
    const now = monitorsOf(o);
    if (now.length !== r.monitors.length || r.monitors.some((m, i) => m.monitor !== now[i]))
      return 'other numerics monitors than when recorded';
    for (const m of r.monitors)
      if (m.monitor.watched !== m.watchedBefore)
        return `the monitor holds ${m.monitor.watched} watches before the step, ${m.watchedBefore} when recorded`;
    return undefined;
  }

  /** trainStep with the loss and gradient watches. */
  private run(o: RecordedStepOptions): StepResult {
    const w = o.watch;
    return trainStep(this.model, this.opt, this.x, this.y, {
      ...o,
      afterForward: (loss) => {
        o.afterForward?.(loss);
        w?.watch(loss, 'loss');
      },
      beforeUpdate: () => {
        o.beforeUpdate?.();
        const ps = this.model.params;
        // gradients in the order the backward pass produced them (last layer first)
        if (w)
          for (let k = ps.length - 1; k >= 0; k--) if (ps[k].grad) w.watch(ps[k].grad!, `gradient of ${ps[k].name}`);
      },
    });
  }

  private record(o: RecordedStepOptions): StepResult {
    const monitors = monitorsOf(o).map((monitor) => ({ monitor, mark: monitor.mark() }));
    this.engine.startRecording();
    let r: StepResult;
    try {
      r = this.run(o);
    } catch (e) {
      this.engine.stopRecording();
      throw e;
    }
    const log = this.engine.stopRecording();
    const externals = new Set<GPUBuffer>([
      ...[...this.model.params, ...this.opt.velocities, this.x, this.y].map((t) => t.root.buffer),
      ...monitors.map((m) => m.monitor.buffer),
    ]);
    const replay = prepareReplay(this.engine, log, [r.loss.buffer, r.logits.buffer], externals);
    if ('reason' in replay) {
      this.refused = true;
      this.reason = replay.reason;
    } else {
      this.recorded = {
        replay,
        seed: o.seed,
        monitors: monitors.map(({ monitor, mark }) => ({
          monitor,
          watchedBefore: mark.watched,
          watches: monitor.since(mark),
        })),
      };
      this.reason = undefined;
    }
    this.mode = 'recorded';
    if (!this.recorded) return r;
    // the recording's buffers are the replay's arenas now: once released, the pool need not keep them
    return {
      ...r,
      release: () => {
        r.release();
        this.engine.trimPool();
      },
    };
  }

  private replayed(o: RecordedStepOptions): StepResult {
    const r = this.recorded!;
    for (const t of [this.x, this.y, ...this.model.params, ...this.opt.velocities])
      if (t.disposed) throw new DisposedError(`recorded step: tensor '${t.name}' was disposed`);
    checkLabels('recorded step', this.y, this.model.classes);
    checkLearningRate('recorded step', o.lr);
    const loss = new Tensor(this.engine, [1], 'f32', { name: 'loss' });
    const logits = new Tensor(this.engine, [this.x.shape[0], this.model.classes], 'f32', { name: 'logits' });
    r.replay.run({ lr: o.lr, step: o.step }, [loss.buffer, logits.buffer]);
    for (const m of r.monitors) m.monitor.replayed(m.watches);
    this.mode = 'replayed';
    this.reason = undefined;
    return {
      loss,
      logits,
      release: () => {
        loss.dispose();
        logits.dispose();
      },
    };
  }

  /** Forget the recording (the tuner chose other variants): the next step records again. */
  reset(): void {
    this.dispose();
    this.refused = false;
    this.reason = undefined;
  }

  dispose(): void {
    this.recorded?.replay.dispose();
    this.recorded = undefined;
  }
}

/** The distinct monitors a step watches on (the tape's and the health watch may be one). */
function monitorsOf(o: RecordedStepOptions): NumericsMonitor[] {
  return [...new Set([o.numerics, o.watch].filter((m): m is NumericsMonitor => !!m))];
}
