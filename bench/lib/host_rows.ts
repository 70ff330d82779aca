// Host time to encode a training step, recorded (replayed) against unrecorded in the same run
// (src/train/host_time.ts), with dispatches and submits per step and device memory against the
// computed minimum (e2e.ts minimumBytes: 3 × parameters + the activations the backward reads).
// The replay's numbers equal the unrecorded step's bit for bit (test/recorded_step.test.ts); here
// each row checks that both paths' losses are finite before it reports.
import { createEngine } from '../../src/node/dawn.js';
import { Model } from '../../src/models/model.js';
import { archs } from '../../src/models/spec.js';
import { SGD } from '../../src/optim.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { compareHostTime, type HostComparison } from '../../src/train/host_time.js';
import { queueStepShapes, tuneQueued } from '../../src/train/tune.js';
import type { AutotuneMode } from '../../src/gpu/tuner.js';
import { median, random } from './common.js';
import { minimumBytes } from './e2e.js';

export interface HostCase {
  arch: 'paper' | 'torchvision' | 'mini';
  batch: number;
}

export const HOST_CASES: HostCase[] = [
  { arch: 'mini', batch: 128 },
  { arch: 'paper', batch: 32 },
  { arch: 'torchvision', batch: 32 },
  { arch: 'paper', batch: 128 },
  { arch: 'torchvision', batch: 128 },
];
export const hostName = (c: HostCase): string => `host ${c.arch} b${c.batch}`;

export interface HostResult extends HostCase {
  comparison: HostComparison;
  minimumBytes: number;
  /** Bytes of the parameters, their momentum and the input batch: what both paths hold besides the step. */
  persistentBytes: number;
}

/** One case in its own engine: `steps` unrecorded and `steps` replayed steps. */
export async function hostCase(
  c: HostCase,
  steps: number,
  dawnFlags: string[],
  autotune: AutotuneMode = 'off',
): Promise<HostResult> {
  const e = await createEngine({ dawnFlags, autotune });
  try {
    const classes = c.arch === 'mini' ? 10 : 1000;
    const model = new Model(e, archs[c.arch], { classes, seed: 1 });
    const opt = new SGD(model.params);
    const C = model.channels,
      S = model.inputSize,
      B = c.batch;
    const x = new Tensor(e, [B, C, S, S], 'f32', { name: 'input' }).write(random(B * C * S * S, 60 + B));
    const y = new Tensor(e, [B], 'i32', { name: 'labels' }).write(
      Int32Array.from({ length: B }, (_, i) => (i * 31 + 5) % classes),
    );
    if (autotune !== 'off') {
      queueStepShapes(model, B);
      await tuneQueued(e, () => {});
    }
    const comparison = await compareHostTime(model, opt, x, y, steps);
    const losses = [...comparison.unrecorded.losses, ...(comparison.replayed?.losses ?? [])];
    if (!losses.every(Number.isFinite)) throw new Error(`${hostName(c)}: a loss is not finite (${losses.join(', ')})`);
    const persistentBytes = 2 * model.parameterCount * 4 + x.bytes + y.bytes;
    return { ...c, comparison, minimumBytes: minimumBytes(model, B).total, persistentBytes };
  } finally {
    e.dispose();
  }
}

/** The section's table: one line per case. */
export function hostLines(rs: readonly HostResult[]): string[] {
  const MiB = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
  const out = [
    `${'case'.padEnd(22)} ${'unrecorded ms'.padStart(14)} ${'replayed ms'.padStart(12)} ${'ratio'.padStart(7)} ${'dispatches'.padStart(10)} ${'µs/dispatch'.padStart(16)} ${'submits'.padStart(8)}  memory (unrecorded / replayed / minimum)`,
  ];
  for (const r of rs) {
    const h = r.comparison,
      u = median(h.unrecorded.ms),
      p = h.replayed ? median(h.replayed.ms) : NaN;
    const per = (ms: number, n: number) => ((1000 * ms) / n).toFixed(1);
    const m = h.memory;
    out.push(
      `${hostName(r).padEnd(22)} ${u.toFixed(2).padStart(14)} ${(h.replayed ? p.toFixed(3) : `- (${h.reason})`).padStart(12)} ${(h.replayed ? `${(u / p).toFixed(1)}×` : '-').padStart(7)} ` +
        `${String(h.unrecorded.dispatches).padStart(10)} ${`${per(u, h.unrecorded.dispatches)} → ${h.replayed ? per(p, h.replayed.dispatches) : '-'}`.padStart(16)} ` +
        `${`${h.unrecorded.submits}/${h.replayed?.submits ?? '-'}`.padStart(8)}  ` +
        `${MiB(m.unrecordedPeak)} (${(m.unrecordedPeak / r.minimumBytes).toFixed(2)}×) / ${MiB(m.replayed)} (${(m.replayed / r.minimumBytes).toFixed(2)}×) / ${MiB(r.minimumBytes)}`,
    );
  }
  return out;
}
