// The training loop: the paper's SGD on a model built from a layer table, batches prepared ahead
// of the GPU, a progress line per interval, metrics as JSON lines, atomic checkpoints every epoch
// (and on request), the plateau or step learning-rate schedule, exact resume, and pictures.
import { appendFileSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { AlexnetError, FormatError, NumericalError } from '../errors.js';
import { createEngine, type Engine } from '../gpu/engine.js';
import { acquireLock } from '../checkpoint/lock.js';
import { takeDataset, type Dataset } from '../data/dataset.js';
import { BatchLoader } from '../data/loader.js';
import { channelMean, computePcaLighting } from '../data/augment.js';
import { Model } from '../models/model.js';
import { archs, type ArchName } from '../models/spec.js';
import { SGD } from '../optim.js';
import { softmaxCrossEntropy } from '../ops/softmax.js';
import { record } from '../tape.js';
import { Tensor } from '../tensor.js';
import { loadCheckpoint, loadVelocities, loadWeightsOnly, saveCheckpoint, type ModelMeta, type RunState } from './checkpoint.js';
import { openData } from './data_source.js';
import { evaluate, topkHits } from './evaluate.js';
import { writeTrainingPictures } from './pictures.js';

export interface TrainOptions {
  arch: ArchName;
  data: string;
  epochs: number;
  steps?: number;
  batchSize: number;
  lr: number;
  momentum: number;
  weightDecay: number;
  dropout: number;
  augment: boolean;
  shuffle: boolean;
  seed: number;
  classes?: number;
  init?: string;
  resume?: string;
  out: string;
  /** Plateau schedule: epochs without validation improvement before lr ÷ 10 (at most maxReductions times). */
  lrPatience: number;
  /** Step schedule instead: epochs at which lr ÷ 10. */
  lrSteps?: number[];
  maxReductions?: number;
  logEvery: number;
  /** Also checkpoint every N steps (0: only every epoch, on interrupt and at the end). */
  checkpointEvery?: number;
  inputSize?: number;
  trainLimit?: number;
  valLimit?: number;
  /** Final evaluation also with the paper's 10 crops. */
  tenCrop?: boolean;
  pictures?: boolean;
}

export interface TrainIO {
  log(line: string): void;
  warn(line: string): void;
  /** Polled after every step: true asks the loop to checkpoint and return. */
  stopRequested?(): boolean;
  engine?: Engine;
}

export interface TrainSummary {
  interrupted: boolean;
  state: RunState;
  checkpoint: string;
  final?: string;
  val?: { top1Error: number; top5Error: number; tenCrop?: { top1Error: number; top5Error: number } };
  imagesPerSecond: number;
  wallMs: number;
}

export async function train(o: TrainOptions, io: TrainIO): Promise<TrainSummary> {
  mkdirSync(o.out, { recursive: true });
  const lock = await acquireLock(o.out);
  if (lock.tookOver) io.warn(`took over a stale lock of process ${lock.tookOver.pid} in ${o.out}`);
  const engine = io.engine ?? (await createEngine());
  try {
    return await run(o, io, engine);
  } finally {
    if (!io.engine) engine.dispose();
    await lock.release();
  }
}

async function run(o: TrainOptions, io: TrainIO, engine: Engine): Promise<TrainSummary> {
  const started = performance.now();
  const data = await openData(o.data, io.warn);
  const train: Dataset = o.trainLimit ? takeDataset(data.train, o.trainLimit) : data.train;
  const val: Dataset | undefined = data.val && (o.valLimit ? takeDataset(data.val, o.valLimit) : data.val);

  const resumePath = o.resume && existsSync(o.resume) && statSync(o.resume).isDirectory() ? join(o.resume, 'checkpoint.safetensors') : o.resume;
  const resumed = resumePath ? await loadCheckpoint(resumePath) : undefined;
  if (resumed && resumed.meta.arch !== o.arch) throw new FormatError(`${resumePath}: a checkpoint of arch ${resumed.meta.arch}, not ${o.arch}`);
  if (resumed && !resumed.state) throw new FormatError(`${resumePath}: holds weights only, no run state to resume (use --init)`);
  const initWeights = !resumed && o.init ? await loadWeightsOnly(o.init) : undefined;
  const classes = o.classes ?? resumed?.meta.classes ?? classesOf(initWeights, o.arch) ?? train.classes;
  for (const d of [train, val]) {
    if (d && d.classes > classes) throw new FormatError(`${d.name}: labels reach ${d.classes - 1}, outside [0, ${classes}) (--classes ${classes})`);
  }
  const arch = archs[o.arch];
  const inputSize = o.inputSize ?? resumed?.meta.inputSize ?? (o.arch === 'mini' ? Math.max(train.height, train.width) : arch.inputSize);
  const model = new Model(engine, o.arch, { classes, channels: train.channels, inputSize, dropout: o.dropout, seed: o.seed });
  const scale = train.pixels ? arch.pixelScale : 1;
  const mean = resumed ? Float32Array.from(resumed.meta.mean) : (await channelMean(train)).map((m) => m * scale);
  const lighting = o.augment && train.pixels && train.channels === 3 ? await computePcaLighting(train) : null;
  const meta: ModelMeta = {
    arch: o.arch, classes, channels: train.channels, inputSize, mean: [...mean], pixelScale: scale,
    classNames: train.classNames, config: { ...o },
  };
  const opt = new SGD(model.params, { lr: o.lr, momentum: o.momentum, weightDecay: o.weightDecay });
  const state: RunState = resumed?.state ?? { epoch: 0, batch: 0, step: 0, lr: o.lr, bestValError: 1, sinceImprove: 0, reductions: 0, elapsedMs: 0 };
  if (resumed) {
    model.load(resumed.weights, resumePath);
    if (!resumed.velocities) throw new FormatError(`${resumePath}: optimizer velocities missing`);
    loadVelocities(opt, resumed.velocities, resumePath!);
    io.log(`resuming ${resumePath} at epoch ${state.epoch + 1}, batch ${state.batch}, step ${state.step}`);
  } else if (initWeights) model.load(initWeights, o.init);
  opt.lr = state.lr;

  const B = o.batchSize;
  const loader = new BatchLoader(train, { batchSize: B, inputSize, shuffle: o.shuffle, augment: o.augment, seed: o.seed, mean, scale, lighting, dropLast: true });
  const perEpoch = loader.batchesPerEpoch;
  if (perEpoch < 1) throw new AlexnetError(`batch size ${B} is larger than the training set (${train.length} samples)`);
  const total = Math.min(o.steps ?? Infinity, o.epochs * perEpoch);
  const ckptPath = join(o.out, 'checkpoint.safetensors');
  const metricsPath = join(o.out, 'metrics.jsonl');
  const writeMetric = (m: Record<string, unknown>) => appendFileSync(metricsPath, JSON.stringify(m) + '\n');
  io.log(`${o.arch}: ${model.parameterCount.toLocaleString('en')} parameters, input ${train.channels}×${inputSize}×${inputSize}, ` +
    `${classes} classes, ${train.length} training images, batch ${B}, ${perEpoch} steps/epoch, lr ${state.lr}`);

  const x = new Tensor(engine, [B, train.channels, inputSize, inputSize], 'f32', { name: 'input' });
  const y = new Tensor(engine, [B], 'i32', { name: 'labels' });
  const lnK = Math.log(classes);
  let window = { images: 0, ms: 0, dataMs: 0, loss: 0, hits: 0, steps: 0 };
  let stuck = 0, warnedStuck = false, interrupted = false;
  let lastT = performance.now();
  const save = async () => {
    await saveCheckpoint(ckptPath, model, meta, opt, { ...state, elapsedMs: state.elapsedMs });
  };

  try {
    outer: for (let epoch = state.epoch; epoch < o.epochs && state.step < total; epoch++) {
      let trainLoss = 0, trainHits = 0, trainSeen = 0;
      for await (const batch of loader.epoch(epoch, state.batch)) {
        x.write(batch.images);
        y.write(batch.labels);
        const tape = record(engine);
        const logits = tape.retain(model.forward(x, { training: true, seed: o.seed, step: state.step }));
        engine.label = 'loss';
        const loss = tape.retain(softmaxCrossEntropy(logits, y));
        engine.label = '';
        tape.backward(loss);
        opt.step();
        const [lv, lg] = await Promise.all([loss.read(), logits.read()]);
        tape.dispose();
        opt.zeroGrad();
        const lossValue = lv[0];
        if (!Number.isFinite(lossValue)) {
          throw new NumericalError(`loss became ${lossValue} at step ${state.step + 1} (epoch ${epoch + 1}, batch ${batch.index}); ` +
            `stopped. The last good checkpoint is ${existsSync(ckptPath) ? ckptPath : 'none (no checkpoint was written yet)'}; try a lower --lr`);
        }
        const hits = topkHits(lg as Float32Array, batch.labels, classes).top1;
        state.step++;
        state.batch = batch.index + 1;
        const now = performance.now();
        state.elapsedMs += now - lastT;
        window.ms += now - lastT; lastT = now;
        window.images += B; window.dataMs += batch.dataMs; window.loss += lossValue; window.hits += hits; window.steps++;
        trainLoss += lossValue * B; trainHits += hits; trainSeen += B;

        stuck = Math.abs(lossValue - lnK) < 0.02 * lnK ? stuck + 1 : 0;
        if (stuck >= 200 && !warnedStuck) {
          warnedStuck = true;
          io.warn(`loss has stayed at ln(${classes}) = ${lnK.toFixed(3)} for ${stuck} steps: the net is not learning ` +
            `(a known AlexNet failure: try a lower --lr, check the labels, or restart with another --seed)`);
        }
        if (window.steps === o.logEvery || state.step === total) {
          const ips = window.images / (window.ms / 1000);
          const eta = ((total - state.step) * B) / ips;
          io.log(`epoch ${epoch + 1}/${o.epochs}  step ${state.step}/${total}  loss ${(window.loss / window.steps).toFixed(4)}  ` +
            `top-1 ${((100 * window.hits) / window.images).toFixed(1)}%  ${ips.toFixed(1)} img/s  data ${(window.dataMs / window.steps).toFixed(0)} ms/batch  ` +
            `ETA ${fmtTime(eta)}`);
          writeMetric({ kind: 'step', epoch: epoch + 1, step: state.step, loss: window.loss / window.steps, top1: window.hits / window.images, imagesPerSecond: ips, dataMs: window.dataMs / window.steps, lr: opt.lr, time: state.elapsedMs / 1000 });
          window = { images: 0, ms: 0, dataMs: 0, loss: 0, hits: 0, steps: 0 };
        }
        if (o.checkpointEvery && state.step % o.checkpointEvery === 0) await save();
        if (io.stopRequested?.()) { interrupted = true; await save(); break outer; }
        if (state.step >= total) break;
      }
      if (state.batch < perEpoch) break; // stopped by --steps inside the epoch
      // end of epoch: validation, schedule, checkpoint
      const m: Record<string, unknown> = { kind: 'epoch', epoch: epoch + 1, step: state.step, trainLoss: trainLoss / trainSeen, trainTop1Error: 1 - trainHits / trainSeen, lr: opt.lr, time: state.elapsedMs / 1000 };
      if (val) {
        const r = await evaluate(model, val, { batchSize: Math.min(B, 256), mean, scale, tenCrop: false });
        Object.assign(m, { valTop1Error: r.top1Error, valTop5Error: r.top5Error });
        io.log(`epoch ${epoch + 1}: validation top-1 error ${(100 * r.top1Error).toFixed(2)}%, top-5 error ${(100 * r.top5Error).toFixed(2)}% (${r.samples} images, centre crop)`);
        schedule(o, state, opt, r.top1Error, epoch + 1, io);
      } else schedule(o, state, opt, undefined, epoch + 1, io);
      state.epoch = epoch + 1;
      state.batch = 0;
      state.lr = opt.lr;
      writeMetric(m);
      await save();
      lastT = performance.now();
      if (o.pictures !== false) await writeTrainingPictures(o.out, metricsPath, model, io.warn);
    }
    state.lr = opt.lr;
    if (interrupted) {
      return { interrupted, state, checkpoint: ckptPath, imagesPerSecond: 0, wallMs: performance.now() - started };
    }
    await save();
    const finalPath = join(o.out, 'final.safetensors');
    await saveCheckpoint(finalPath, model, meta);
    let summary: TrainSummary['val'];
    if (val) {
      const c = await evaluate(model, val, { batchSize: Math.min(B, 256), mean, scale, tenCrop: false });
      summary = { top1Error: c.top1Error, top5Error: c.top5Error };
      if (o.tenCrop) {
        const t = await evaluate(model, val, { batchSize: Math.max(1, Math.floor(Math.min(B, 256) / 10)), mean, scale, tenCrop: true });
        summary.tenCrop = { top1Error: t.top1Error, top5Error: t.top5Error };
      }
      io.log(`final: validation top-1 error ${(100 * c.top1Error).toFixed(2)}% (accuracy ${(100 - 100 * c.top1Error).toFixed(2)}%), top-5 error ${(100 * c.top5Error).toFixed(2)}%` +
        (summary.tenCrop ? `; 10-crop top-1 ${(100 * summary.tenCrop.top1Error).toFixed(2)}%, top-5 ${(100 * summary.tenCrop.top5Error).toFixed(2)}%` : ''));
      writeMetric({ kind: 'final', step: state.step, valTop1Error: c.top1Error, valTop5Error: c.top5Error, tenCrop: summary.tenCrop, time: state.elapsedMs / 1000 });
    }
    if (o.pictures !== false) await writeTrainingPictures(o.out, metricsPath, model, io.warn);
    const wallMs = performance.now() - started;
    return { interrupted: false, state, checkpoint: ckptPath, final: finalPath, val: summary, imagesPerSecond: (state.step * B) / (state.elapsedMs / 1000), wallMs };
  } finally {
    x.dispose(); y.dispose(); opt.dispose(); model.dispose();
    await train.close?.(); await val?.close?.();
  }
}

/** The paper's schedule (÷10 when validation error stops improving, at most 3×) or fixed steps. */
function schedule(o: TrainOptions, state: RunState, opt: SGD, valError: number | undefined, epochsDone: number, io: TrainIO): void {
  const max = o.maxReductions ?? 3;
  let reduce = false;
  if (o.lrSteps?.length) reduce = o.lrSteps.includes(epochsDone);
  else if (valError !== undefined) {
    if (valError < state.bestValError - 1e-9) { state.bestValError = valError; state.sinceImprove = 0; }
    else if (++state.sinceImprove >= o.lrPatience) { reduce = state.reductions < max; state.sinceImprove = 0; }
  }
  if (reduce) {
    opt.lr /= 10;
    state.reductions++;
    io.log(`learning rate divided by 10 → ${opt.lr}`);
  }
}

/** Classes of an init file from its last layer's bias. */
function classesOf(weights: Map<string, { shape: number[] }> | undefined, arch: ArchName): number | undefined {
  if (!weights) return undefined;
  const last = arch === 'torchvision' ? 'classifier.6.bias' : 'fc8.bias';
  return weights.get(last)?.shape[0];
}

export function fmtTime(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const m = Math.floor(s / 60), h = Math.floor(m / 60);
  return h ? `${h}h${String(m % 60).padStart(2, '0')}m` : m ? `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${Math.round(s)}s`;
}
