// End-to-end training throughput: the trainer's step (src/train/trainer.ts) — forward on the tape,
// softmax cross-entropy, backward, the paper's SGD, then the loss and logits read back (the step's
// one sync point) — timed by wall clock, images/s = batch / step time.
//   synthetic  one fixed batch written once: data loading excluded
//   loader     BatchLoader as the trainer drives it (shuffle, augmentation, mean, prefetch 2) with
//              x.write/y.write every step: Fashion-MNIST for mini; for paper/torchvision an
//              in-memory uint8 dataset of random 256×256 RGB images (crop 227/224, mirror, PCA
//              lighting). The loader is primed (first batch fetched) before the timed steps.
// One engine per architecture (batches in ascending order, the pool trimmed in between), so the
// peak of engine.counters.bytesAllocated during a batch size's steps is that configuration's
// peak device memory. It is set against the minimum the plan needs: parameters + gradients +
// momentum + the activations the backward reads (see minimumBytes).
import { createEngine } from '../../src/node/dawn.js';
import type { Engine } from '../../src/gpu/engine.js';
import { ArrayDataset, type Dataset } from '../../src/data/dataset.js';
import { BatchLoader } from '../../src/data/loader.js';
import { computePcaLighting } from '../../src/data/augment.js';
import { loadFashionMnist } from '../../src/node/data/fashion_mnist.js';
import { Model } from '../../src/models/model.js';
import { archs, type Arch, type ArchName, type Layer } from '../../src/models/spec.js';
import { inputPreprocessing } from '../../src/data/preprocess.js';
import { SGD } from '../../src/optim.js';
import { batchInput } from '../../src/train/input.js';
import { trainStep } from '../../src/train/step.js';
import { queueStepShapes, tuneQueued } from '../../src/train/tune.js';
import type { AutotuneMode } from '../../src/gpu/tuner.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { median, random, type Report, type Row } from './common.js';
import { cpuSample, othersShare, waitIdle } from './gpu_timer.js';

/** The peers' 28×28 net (shared/peers/shapes.json "small") as a layer table of our engine. */
const T = { kind: 'torch' } as const;
const conv = (name: string, out: number, kernel: number, pad: number): Layer => ({
  kind: 'conv',
  name,
  out,
  kernel,
  stride: 1,
  pad,
  groups: 1,
  relu: true,
  init: T,
  bias: 'init',
});
const pool: Layer = { kind: 'maxpool', kernel: 3, stride: 2 };
export const small28: Arch = {
  name: 'small28' as Arch['name'],
  channels: 1,
  inputSize: 28,
  pixelScale: 1 / 255,
  layers: [
    conv('conv1', 32, 5, 2),
    pool,
    conv('conv2', 64, 5, 2),
    pool,
    conv('conv3', 96, 3, 1),
    conv('conv4', 96, 3, 1),
    conv('conv5', 64, 3, 1),
    pool,
    { kind: 'flatten' },
    { kind: 'linear', name: 'fc6', out: 256, relu: true, init: T, bias: 'init' },
    { kind: 'dropout' },
    { kind: 'linear', name: 'fc7', out: 256, relu: true, init: T, bias: 'init' },
    { kind: 'dropout' },
    { kind: 'linear', name: 'fc8', out: 'classes', relu: false, init: T, bias: 'init' },
  ],
};

export type E2eArch = 'paper' | 'torchvision' | 'mini' | 'small28';
const ARCHS: Record<E2eArch, { arch: Arch; classes: number; peer?: (b: number) => string; data: string }> = {
  paper: { arch: archs.paper, classes: 1000, data: 'synthetic uint8 256×256 RGB, crop 227' },
  torchvision: {
    arch: archs.torchvision,
    classes: 1000,
    peer: (b) => `alexnet train b${b}`,
    data: 'synthetic uint8 256×256 RGB, crop 224',
  },
  mini: { arch: archs.mini, classes: 10, data: 'Fashion-MNIST' },
  small28: { arch: small28, classes: 10, peer: (b) => `small28 train b${b}`, data: 'none' },
};

export interface E2eCase {
  arch: E2eArch;
  batch: number;
  /** untimed first steps (pipeline compiles, first allocations) */
  warmup: number;
  /** timed steps on the fixed batch; 0 skips */
  synthetic: number;
  /** timed steps through the BatchLoader; 0 skips */
  loader: number;
}

/** Device bytes the plan needs at batch B: 3 × parameters (w, grad, momentum) + saved activations. */
export function minimumBytes(
  model: Model,
  B: number,
): { params: number; activations: number; total: number; detail: string } {
  const P = model.parameterCount * 4;
  // tensors the backward reads: conv input (dW) and output (ReLU mask); linear input (dW) and
  // output when ReLU; LRN input; max-pool argmax; the loss's saved dlogits. Flatten is a view.
  let id = 0,
    cur = 0;
  const size = new Map<number, number>([[0, model.channels * model.inputSize ** 2]]);
  const needed = new Set<number>();
  let extra = model.classes; // dlogits saved by softmax cross-entropy
  model.arch.layers.forEach((l, i) => {
    const s = model.shapes[i],
      out = s.c * s.h * s.w;
    if (l.kind === 'flatten') return;
    const next = ++id;
    size.set(next, out);
    if (l.kind === 'conv') {
      needed.add(cur);
      needed.add(next);
    }
    if (l.kind === 'linear') {
      needed.add(cur);
      if (l.relu) needed.add(next);
    }
    if (l.kind === 'lrn') needed.add(cur);
    if (l.kind === 'maxpool') extra += out;
    cur = next;
  });
  let act = extra;
  for (const t of needed) act += size.get(t)!;
  act *= 4 * B;
  return {
    params: P,
    activations: act,
    total: 3 * P + act,
    detail: `3 × ${(P / 2 ** 20).toFixed(0)} MiB parameters + ${(act / 2 ** 20).toFixed(0)} MiB saved activations`,
  };
}

/** Synthetic uint8 HWC images (the stored 256×256 of the paper) with labels, in memory. */
function syntheticDataset(n: number, side: number, classes: number, seed: number): ArrayDataset {
  const images = new Uint8Array(n * side * side * 3);
  let s = seed >>> 0;
  for (let i = 0; i < images.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    images[i] = s >>> 24;
  }
  const labels = Int32Array.from({ length: n }, (_, i) => (i * 7919 + seed) % classes);
  return new ArrayDataset({ name: 'synthetic', images, shape: [n, 3, side, side], labels, classes });
}

interface Step {
  ms: number;
  loss: number;
  dataMs: number;
}

/** The trainer's step on x/y (already written); wall ms from forward to the read loss. */
async function step(
  _e: Engine,
  model: Model,
  opt: SGD,
  x: Tensor,
  y: Tensor,
  k: number,
): Promise<{ loss: number; ms: number }> {
  const t0 = performance.now();
  const r = trainStep(model, opt, x, y, { lr: 0.01, seed: 1, step: k });
  const [lv] = await Promise.all([r.loss.read(), r.logits.read()]);
  r.release();
  return { loss: lv[0], ms: performance.now() - t0 };
}

export interface E2eOptions {
  dawnFlags?: string[];
  /** 'cached' or 'full': each case's shapes are tuned before its steps (the GPU profile). */
  autotune?: AutotuneMode;
  waitIdleS?: number;
  log: (s: string) => void;
}

/** Run the cases of one architecture in one engine; one row per (batch, mode). */
export async function e2eArch(report: Report, archName: E2eArch, cases: E2eCase[], o: E2eOptions): Promise<Row[]> {
  const spec = ARCHS[archName];
  const e = await createEngine({ dawnFlags: o.dawnFlags, autotune: o.autotune ?? 'off' });
  const rows: Row[] = [];
  let model: Model | undefined, opt: SGD | undefined;
  try {
    const t0 = performance.now();
    model = new Model(e, spec.arch, { classes: spec.classes, seed: 1 });
    opt = new SGD(model.params, { momentum: 0.9, weightDecay: 0.0005 });
    o.log(
      `${archName}: ${model.parameterCount.toLocaleString('en')} parameters, model built in ${(performance.now() - t0).toFixed(0)} ms`,
    );
    const C = model.channels,
      S = model.inputSize;
    // data for the loader runs
    let train: Dataset | undefined,
      pre: Awaited<ReturnType<typeof inputPreprocessing>> | undefined,
      lighting = null as Awaited<ReturnType<typeof computePcaLighting>> | null;
    const needLoader = cases.some((c) => c.loader > 0);
    if (needLoader) {
      const t1 = performance.now();
      if (archName === 'mini') train = (await loadFashionMnist({ download: false })).train;
      else train = syntheticDataset(Math.max(...cases.map((c) => c.batch * (c.loader + 3))), 256, spec.classes, 7);
      pre = await inputPreprocessing(archName as ArchName, train); // the trainer's scale, mean and std
      if (C === 3) lighting = await computePcaLighting(train, { maxImages: 200 });
      o.log(
        `${archName}: loader data ${train.name} (${train.length} images) ready in ${(performance.now() - t1).toFixed(0)} ms`,
      );
    }
    for (const c of [...cases].sort((a, b) => a.batch - b.batch)) {
      const B = c.batch;
      await e.sync();
      e.pool.trim(); // free buffers of the previous batch size: bytesAllocated now only counts live tensors
      const base = e.counters.bytesAllocated;
      let peak = base;
      const x = new Tensor(e, [B, C, S, S], 'f32', { name: 'input' });
      const y = new Tensor(e, [B], 'i32', { name: 'labels' });
      x.write(random(B * C * S * S, 60 + B));
      y.write(Int32Array.from({ length: B }, (_, i) => (i * 31 + 5) % spec.classes));
      if (e.tuner.mode !== 'off') {
        queueStepShapes(model, B);
        await tuneQueued(e, o.log);
      }
      let k = 0;
      const warm: number[] = [];
      const losses: number[] = [];
      for (let i = 0; i < c.warmup; i++) {
        const s = await step(e, model, opt, x, y, k++);
        warm.push(s.ms);
        losses.push(s.loss);
        peak = Math.max(peak, e.counters.bytesAllocated);
      }
      const syn: Step[] = [];
      const busy = { syn: [0, 0], lod: [0, 0] };
      const meter = async <T>(which: 'syn' | 'lod', f: () => Promise<T>): Promise<T> => {
        const a = cpuSample();
        const r = await f();
        const b = cpuSample();
        if (a && b) {
          busy[which][0] += othersShare(a, b) * (b.total - a.total);
          busy[which][1] += b.total - a.total;
        }
        return r;
      };
      for (let i = 0; i < c.synthetic; i++) {
        if (o.waitIdleS) await waitIdle(o.waitIdleS);
        const s = await meter('syn', () => step(e, model!, opt!, x, y, k++));
        syn.push({ ...s, dataMs: 0 });
        losses.push(s.loss);
        peak = Math.max(peak, e.counters.bytesAllocated);
      }
      const lod: Step[] = [];
      if (c.loader > 0 && train) {
        const loader = new BatchLoader(train, {
          batchSize: B,
          inputSize: S,
          shuffle: true,
          augment: true,
          seed: 1,
          ...pre,
          lighting,
          dropLast: true,
          onDevice: true,
        });
        let epoch = 0;
        let it = loader.epoch(epoch);
        const next = async () => {
          let r = await it.next();
          if (r.done) {
            it = loader.epoch(++epoch);
            r = await it.next();
          }
          return r.value!;
        };
        let batch = await next(); // primes the prefetch queue (untimed)
        for (let i = 0; i < c.loader; i++) {
          if (o.waitIdleS) await waitIdle(o.waitIdleS);
          await meter('lod', async () => {
            const t1 = performance.now();
            batchInput(e, batch, x.shape, x);
            y.write(batch.labels);
            const s = await step(e, model!, opt!, x, y, k++);
            const t2 = performance.now();
            batch = await next();
            const waited = performance.now() - t2;
            lod.push({ ms: performance.now() - t1, loss: s.loss, dataMs: waited });
            losses.push(s.loss);
          });
          peak = Math.max(peak, e.counters.bytesAllocated);
        }
        await it.return(undefined);
      }
      x.dispose();
      y.dispose();
      const bad = losses.find((l) => !Number.isFinite(l));
      if (bad !== undefined)
        o.log(`WARNING: e2e ${archName} b${B}: the loss became ${bad} (timings kept, flagged in the row)`);
      const mem = minimumBytes(model, B);
      const MiB = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
      const memNote = `peak ${MiB(peak)} allocated vs minimum ${MiB(mem.total)} (${(peak / mem.total).toFixed(2)}×)`;
      const extra = {
        arch: archName,
        batch: B,
        first_steps_ms: warm,
        losses,
        peak_bytes_allocated: peak,
        engine_peak_bytes_allocated: e.counters.peakBytesAllocated,
        peak_bytes_in_use: e.counters.peakBytesInUse,
        min_bytes: mem.total,
        min_bytes_params: 3 * mem.params,
        min_bytes_activations: mem.activations,
      };
      if (syn.length) {
        rows.push(
          report.add({
            test: `e2e ${archName} b${B} synthetic`,
            group: 'e2e',
            unit: 'img/s',
            work: B,
            ms: syn.map((s) => s.ms),
            timing: 'wall',
            alias: spec.peer?.(B),
            note:
              `${bad !== undefined ? 'LOSS NOT FINITE; ' : ''}fixed batch, no data loading; first step ${warm.length ? `${(warm[0] / 1000).toFixed(1)} s` : '-'}; ` +
              `loss ${losses[0].toFixed(3)} → ${losses[warm.length + syn.length - 1].toFixed(3)}; ${memNote}`,
            extra: { ...extra, mode: 'synthetic' },
            othersCpu: busy.syn[1] ? busy.syn[0] / busy.syn[1] : NaN,
          }),
        );
      }
      if (lod.length) {
        rows.push(
          report.add({
            test: `e2e ${archName} b${B} loader`,
            group: 'e2e',
            unit: 'img/s',
            work: B,
            ms: lod.map((s) => s.ms),
            timing: 'wall',
            note:
              `BatchLoader on ${spec.data} (shuffle, augment, prefetch 2), median wait for the next batch ${median(lod.map((s) => s.dataMs)).toFixed(0)} ms; ` +
              `loss ${lod[0].loss.toFixed(3)} → ${lod[lod.length - 1].loss.toFixed(3)}`,
            extra: { ...extra, mode: 'loader', data_wait_ms: lod.map((s) => s.dataMs) },
            othersCpu: busy.lod[1] ? busy.lod[0] / busy.lod[1] : NaN,
          }),
        );
      }
    }
  } finally {
    opt?.dispose();
    model?.dispose();
    e.dispose();
  }
  return rows;
}
