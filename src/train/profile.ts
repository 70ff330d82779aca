// One training step broken down by layer and direction from GPU timestamps: where the time goes,
// each part's share of the step, and GFLOP/s for the layers that multiply (conv, linear).
import type { Engine } from '../gpu/engine.js';
import { Model } from '../models/model.js';
import type { Arch, ArchName } from '../models/spec.js';
import { SGD } from '../optim.js';
import { compareHostTime, type HostComparison, hostLine } from './host_time.js';
import { trainStep } from './step.js';
import { tuneQueued } from './tune.js';
import { Tensor } from '../tensor/tensor.js';

export interface ProfileRow {
  label: string;
  ms: number;
  share: number;
  dispatches: number;
  gflops?: number;
  kernels: string[];
}
export interface StepProfile {
  rows: ProfileRow[];
  gpuMs: number;
  wallMs: number;
  imagesPerSecond: number;
  dispatches: number;
  /** Host time to encode a step, unrecorded against replayed (host_time.ts). */
  host: HostComparison;
}

/** Run `warmup` plain steps, then one profiled step of `arch` on a synthetic batch. */
export async function profileStep(
  engine: Engine,
  arch: ArchName | Arch,
  batch: number,
  classes: number,
  warmup = 1,
  log: (line: string) => void = () => {},
): Promise<StepProfile> {
  const model = new Model(engine, arch, { classes, seed: 1 });
  const S = model.inputSize,
    C = model.channels;
  const x = new Tensor(engine, [batch, C, S, S]).write(
    Float32Array.from({ length: batch * C * S * S }, (_, i) => Math.sin(i) * 50),
  );
  const y = new Tensor(engine, [batch], 'i32').write(Int32Array.from({ length: batch }, (_, i) => i % classes));
  const opt = new SGD(model.params);
  const step = async (k: number) => {
    const r = trainStep(model, opt, x, y, { lr: 0.01, seed: 1, step: k });
    await r.loss.read();
    r.release();
  };
  try {
    for (let k = 0; k < warmup; k++) await step(k);
    if (engine.tuner.pending.length) await tuneQueued(engine, log); // shapes new to the tuner: profile the winners
    engine.startProfile();
    const t0 = performance.now();
    await step(warmup);
    const wallMs = performance.now() - t0;
    const entries = await engine.stopProfile();
    const host = await compareHostTime(model, opt, x, y, 3, warmup + 1);
    const byLabel = new Map<string, ProfileRow>();
    for (const e of entries) {
      const label = e.label || '(other)';
      const row = byLabel.get(label) ?? { label, ms: 0, share: 0, dispatches: 0, kernels: [] };
      row.ms += e.ms;
      row.dispatches++;
      if (!row.kernels.includes(e.kernel)) row.kernels.push(e.kernel);
      byLabel.set(label, row);
    }
    const gpuMs = entries.reduce((s, e) => s + e.ms, 0);
    const macs = new Map(model.layerInfo.map((l) => [l.label, l.macs * batch]));
    for (const row of byLabel.values()) {
      row.share = row.ms / gpuMs;
      const base = row.label.replace(/ backward$/, '');
      const m = macs.get(base);
      if (m) {
        // backward computes dW and (except for the first layer) dX: one or two products of the forward's size
        const products = row.label.endsWith(' backward') ? (base === model.layerInfo[0].label ? 1 : 2) : 1;
        row.gflops = (2 * m * products) / (row.ms / 1000) / 1e9;
      }
    }
    return {
      rows: [...byLabel.values()],
      gpuMs,
      wallMs,
      imagesPerSecond: batch / (wallMs / 1000),
      dispatches: entries.length,
      host,
    };
  } finally {
    x.dispose();
    y.dispose();
    opt.dispose();
    model.dispose();
  }
}

export function formatProfile(p: StepProfile, title: string): string {
  const lines = [
    title,
    `${'part'.padEnd(24)} ${'ms'.padStart(9)} ${'share'.padStart(7)} ${'GFLOP/s'.padStart(8)}  dispatches  kernels`,
  ];
  for (const r of p.rows) {
    lines.push(
      `${r.label.padEnd(24)} ${r.ms.toFixed(2).padStart(9)} ${(100 * r.share).toFixed(1).padStart(6)}% ${(r.gflops ? r.gflops.toFixed(2) : '').padStart(8)}  ${String(r.dispatches).padStart(10)}  ${r.kernels.join(', ')}`,
    );
  }
  lines.push(`${'total (GPU)'.padEnd(24)} ${p.gpuMs.toFixed(2).padStart(9)}   100.0%`);
  lines.push(
    `step wall time ${p.wallMs.toFixed(1)} ms (${p.imagesPerSecond.toFixed(1)} images/s), ${p.dispatches} dispatches`,
  );
  const h = p.host;
  const MiB = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
  lines.push(
    `device memory: ${MiB(h.memory.unrecordedPeak)} unrecorded (pool peak), ${MiB(h.memory.replayed)} replayed` +
      (h.memory.plan ? ` (arenas ${MiB(h.memory.plan.plannedBytes)}, least ${MiB(h.memory.plan.minimumBytes)})` : ''),
  );
  if (!h.replayed) return [...lines, `not replayed: ${h.reason}`, hostLine(h.unrecorded, 'unrecorded')].join('\n');
  lines.push(`${hostLine(h.unrecorded, 'unrecorded')} (${h.unrecorded.submits} submits a step with the read)`);
  lines.push(`${hostLine(h.replayed, 'replayed')} (${h.replayed.submits} submits a step with the read)`);
  return lines.join('\n');
}
