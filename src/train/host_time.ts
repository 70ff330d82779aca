// Host time to encode a training step, unrecorded (the tape, the ops, a uniform and a bind group per
// dispatch) against replayed (recorded_step.ts), on one model and batch in the same run: from the
// call until the step is submitted, without waiting for the device. Device memory beside it: the
// pool's peak for the unrecorded steps, what stays allocated once the replay has its arenas.
import type { Engine } from '../gpu/engine.js';
import type { Model } from '../models/model.js';
import type { SGD } from '../optim.js';
import type { Tensor } from '../tensor/tensor.js';
import { median } from '../util/stats.js';
import { RecordedStep } from './recorded_step.js';
import { type StepResult, trainStep } from './step.js';

export interface HostTimes {
  /** Host ms per step, call to submit. */
  ms: number[];
  dispatches: number;
  /** Submits per step, the read of the loss and logits included. */
  submits: number;
  /** Each step's loss (the bench refuses non-finite ones). */
  losses: number[];
}

export interface HostComparison {
  unrecorded: HostTimes;
  /** Absent when the step cannot be replayed (`reason`). */
  replayed?: HostTimes;
  reason?: string;
  /** Device bytes allocated: the pool's peak over the unrecorded steps; after the replayed ones. */
  memory: { unrecordedPeak: number; replayed: number; plan?: { plannedBytes: number; minimumBytes: number } };
}

interface Timed {
  ms: number;
  dispatches: number;
  submits: number;
  loss: number;
}

async function timed(e: Engine, run: () => StepResult): Promise<Timed> {
  const d0 = e.dispatchCount,
    s0 = e.submits;
  const t0 = performance.now();
  const r = run();
  e.flush();
  const ms = performance.now() - t0;
  const dispatches = e.dispatchCount - d0;
  const [loss] = await Promise.all([r.loss.readF32(), r.logits.read()]);
  r.release();
  return { ms, dispatches, submits: e.submits - s0, loss: loss[0] };
}

const summary = (runs: readonly Timed[]): HostTimes => ({
  ms: runs.map((r) => r.ms),
  dispatches: runs[runs.length - 1].dispatches,
  submits: runs[runs.length - 1].submits,
  losses: runs.map((r) => r.loss),
});

/** `steps` unrecorded then `steps` replayed steps on x/y as they are (after one untimed step each). */
export async function compareHostTime(
  model: Model,
  opt: SGD,
  x: Tensor,
  y: Tensor,
  steps = 3,
  firstStep = 0,
): Promise<HostComparison> {
  const e = model.engine;
  let k = firstStep;
  const o = () => ({ lr: 0.01, seed: 1, step: k++ });
  await e.sync();
  e.pool.trim();
  const before = e.counters.bytesAllocated;
  let peak = before;
  const plain = [];
  for (let i = 0; i <= steps; i++) {
    const r = await timed(e, () => trainStep(model, opt, x, y, o()));
    if (i > 0) plain.push(r); // the first compiles pipelines and fills the pool
    peak = Math.max(peak, e.counters.bytesAllocated);
  }
  const rec = new RecordedStep(model, opt, x, y);
  try {
    await timed(e, () => rec.step(o())); // its release trims the pool: the replay has its own buffers
    const replays = [];
    if (!rec.reason) {
      for (let i = 0; i < steps; i++) replays.push(await timed(e, () => rec.step(o())));
    }
    return {
      unrecorded: summary(plain),
      replayed: replays.length ? summary(replays) : undefined,
      reason: rec.reason,
      memory: { unrecordedPeak: peak, replayed: e.counters.bytesAllocated, plan: rec.plan },
    };
  } finally {
    rec.dispose();
  }
}

/** `host: X ms to encode a step, N dispatches (Y µs each), replayed|unrecorded` (the profile's last line). */
export function hostLine(t: HostTimes, how: 'replayed' | 'unrecorded'): string {
  const ms = median(t.ms);
  return `host: ${ms.toFixed(3)} ms to encode a step, ${t.dispatches} dispatches (${((1000 * ms) / t.dispatches).toFixed(1)} µs each), ${how}`;
}
