// The training loop: the paper's SGD on a model built from a layer table, batches prepared ahead
// of the GPU, a progress line per interval, metrics as JSON lines, atomic checkpoints every epoch
// (and on request), the plateau or step learning-rate schedule, exact resume, and pictures.
// Faults (see README, "What survives what"): NaN/Inf stop the run before anything is saved, failed
// checkpoint writes are retried, device loss is a DeviceError (trainRecovering resumes on a new device).
import { appendFileSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AlexnetError, DeviceError, FormatError, NumericalError } from '../../errors.js';
import { createEngine } from '../dawn.js';
import { type Engine } from '../../gpu/engine.js';
import { acquireLock } from '../files/lock.js';
import { atomicWrite, CheckpointWriteError, removeStaleTemps, type AtomicFs } from '../files/atomic.js';
import { firstNonFinite, NumericsMonitor, setCheckNumerics } from '../../numerics.js';
import { takeDataset, type Dataset } from '../../data/dataset.js';
import { BatchLoader } from '../../data/loader.js';
import { channelMean, computePcaLighting } from '../../data/augment.js';
import { Model } from '../../models/model.js';
import { archs, lastLayerName, type ArchName } from '../../models/spec.js';
import { inputPreprocessing } from '../../data/preprocess.js';
import { SGD } from '../../optim.js';
import { softmaxCrossEntropy } from '../../ops/softmax.js';
import { record } from '../../tape.js';
import { Tensor } from '../../tensor.js';
import { loadCheckpoint, loadWeightsOnly, saveCheckpoint } from '../files/checkpoint.js';
import { loadVelocities, type ModelMeta, type RunState, type RunSums } from '../../checkpoint/checkpoint.js';
import { openData } from '../data/source.js';
import { evaluate } from '../../train/evaluate.js';
import { topkHits } from '../../train/metrics.js';
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
  /** Also watch every op's output and every gradient for NaN/Inf (debugging: slower; names the op). */
  checkNumerics?: boolean;
  /** Periodic checkpoint writes that may fail in a row (warned, retried at the next one) before the run stops; default 3. */
  maxCheckpointFailures?: number;
  /** File-system calls of checkpoint and metrics rewrites (tests make them fail). */
  fs?: AtomicFs;
  /** Test hook: at update `step` (1-based) write `value` (default NaN) into a parameter's gradient (or, into: 'weight', the parameter). */
  faultInjection?: { step: number; tensor: string; into?: 'grad' | 'weight'; value?: number };
}

export interface TrainIO {
  log(line: string): void;
  warn(line: string): void;
  /** Polled after every step: true asks the loop to checkpoint and return. */
  stopRequested?(): boolean;
  /** Called after every step, once its checkpoint (if any) is written. */
  onStep?(state: Readonly<RunState>): void;
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
  // process.exit() (a second Ctrl-C) skips the finally below; the lock must not outlive us then.
  const onExit = () => lock.releaseSync();
  process.once('exit', onExit);
  let engine: Engine | undefined;
  try {
    if (lock.tookOver) io.warn(`took over a stale lock of process ${lock.tookOver.pid} in ${o.out}`);
    // Under the lock no live writer can own a temp file here: these are from a killed run.
    const stale = await removeStaleTemps(o.out);
    if (stale.length) io.warn(`removed ${stale.length} unfinished file(s) a killed run left in ${o.out}: ${stale.join(', ')}`);
    engine = io.engine ?? (await createEngine());
    return await run(o, io, engine);
  } finally {
    if (!io.engine) engine?.dispose();
    process.off('exit', onExit);
    await lock.release();
  }
}

/**
 * train() on a device of its own that, when the device is lost (DeviceError), is re-created and the
 * run resumed from its last checkpoint (started over if there is none yet), at most `retries` times.
 */
export async function trainRecovering(o: TrainOptions, io: Omit<TrainIO, 'engine'>, opts: { retries: number; createEngine?: () => Promise<Engine> }): Promise<TrainSummary> {
  let options = o;
  for (let attempt = 0; ; attempt++) {
    const engine = await (opts.createEngine ?? createEngine)();
    try {
      return await train(options, { ...io, engine });
    } catch (e) {
      if (!(e instanceof DeviceError) || attempt >= opts.retries) throw e;
      const resume = existsSync(join(o.out, 'checkpoint.safetensors')) ? o.out : o.resume;
      io.warn(`${e.message}\nre-creating the device and ${resume ? `resuming from ${resume}` : 'starting over (no checkpoint yet)'} (recovery ${attempt + 1} of ${opts.retries})`);
      options = { ...o, resume };
    } finally {
      engine.dispose();
    }
  }
}

async function run(o: TrainOptions, io: TrainIO, engine: Engine): Promise<TrainSummary> {
  const started = performance.now();
  const data = await openData(o.data, io.warn, archs[o.arch].resample);
  const train: Dataset = o.trainLimit ? takeDataset(data.train, o.trainLimit) : data.train;
  const val: Dataset | undefined = data.val && (o.valLimit ? takeDataset(data.val, o.valLimit) : data.val);

  const resumePath = o.resume && existsSync(o.resume) && statSync(o.resume).isDirectory() ? join(o.resume, 'checkpoint.safetensors') : o.resume;
  if (resumePath && !existsSync(resumePath)) throw new FormatError(`--resume ${o.resume}: no checkpoint there (${resumePath} does not exist)`);
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
  const { scale, mean, std } = await inputPreprocessing(o.arch, train, resumed?.meta);
  if (!mean.every(Number.isFinite)) throw await nonFiniteData(train);
  const lighting = o.augment && train.pixels && train.channels === 3 ? await computePcaLighting(train) : null;
  const meta: ModelMeta = {
    arch: o.arch, classes, channels: train.channels, inputSize, mean: [...mean], pixelScale: scale, std,
    classNames: train.classNames, config: { ...o, fs: undefined },
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
  const loader = new BatchLoader(train, { batchSize: B, inputSize, shuffle: o.shuffle, augment: o.augment, seed: o.seed, mean, scale, std, lighting, dropLast: true });
  const perEpoch = loader.batchesPerEpoch;
  if (perEpoch < 1) throw new AlexnetError(`batch size ${B} is larger than the training set (${train.length} samples)`);
  const total = Math.min(o.steps ?? Infinity, o.epochs * perEpoch);
  const ckptPath = join(o.out, 'checkpoint.safetensors');
  const metricsPath = join(o.out, 'metrics.jsonl');
  // Lines written after the checkpoint we start from (the run was killed later) are dropped: the
  // resumed run writes them again, so metrics.jsonl ends up as an uninterrupted run's.
  const dropped = await truncateMetrics(metricsPath, resumed ? state : undefined, o.fs);
  if (dropped) io.log(`${metricsPath}: dropped ${dropped} line(s) written after the checkpoint${resumed ? ` of step ${state.step}` : ' (a fresh run starts a fresh file)'}`);
  // A line that cannot be appended (disk full) is kept and appended with the next one.
  let pendingMetrics = '', warnedMetrics = false;
  const writeMetric = (m: Record<string, unknown>) => {
    pendingMetrics += JSON.stringify(m) + '\n';
    try {
      appendFileSync(metricsPath, pendingMetrics);
      pendingMetrics = '';
    } catch (e) {
      if (!warnedMetrics) io.warn(`cannot append to ${metricsPath} (${(e as Error).message}); lines are kept and appended once it works again`);
      warnedMetrics = true;
    }
  };
  io.log(`${o.arch}: ${model.parameterCount.toLocaleString('en')} parameters, input ${train.channels}×${inputSize}×${inputSize}, ` +
    `${classes} classes, ${train.length} training images, batch ${B}, ${perEpoch} steps/epoch, lr ${state.lr}`);

  const x = new Tensor(engine, [B, train.channels, inputSize, inputSize], 'f32', { name: 'input' });
  const y = new Tensor(engine, [B], 'i32', { name: 'labels' });
  const lnK = Math.log(classes);
  // Loss and hit sums of the epoch and of the progress interval are run state (saved, resumed);
  // timings are this process's own.
  const sums: RunSums = { epochLoss: 0, epochHits: 0, epochSeen: 0, windowLoss: 0, windowHits: 0, windowSteps: 0, ...state.sums };
  delete state.sums;
  let timing = { images: 0, ms: 0, dataMs: 0, steps: 0 };
  let stuck = 0, warnedStuck = false, interrupted = false;
  let lastT = performance.now();
  let lastGood: { step: number } | undefined = resumed && resolve(resumePath!) === resolve(ckptPath) ? { step: state.step } : undefined;
  let failedSaves = 0;
  const maxFailures = o.maxCheckpointFailures ?? 3;
  const lastGoodText = () => (lastGood ? `${ckptPath} (step ${lastGood.step})` : 'none (no checkpoint was written yet)');
  // `required`: the run cannot go on without it (interrupt, end). Otherwise a failed write is
  // warned about and retried at the next checkpoint, up to maxFailures in a row.
  const save = async (required: boolean) => {
    try {
      await saveCheckpoint(ckptPath, model, meta, opt, { ...state, sums: { ...sums } }, o.fs);
      lastGood = { step: state.step };
      failedSaves = 0;
    } catch (e) {
      if (!(e instanceof CheckpointWriteError)) throw e;
      failedSaves++;
      if (required || failedSaves >= maxFailures) {
        const why = required ? 'this checkpoint is required' : `${failedSaves} checkpoint writes failed in a row`;
        throw new CheckpointWriteError(e.path, e.code, `${e.message}; ${why}, so training stopped at step ${state.step}. The last good checkpoint is ${lastGoodText()}`, e);
      }
      io.warn(`${e.message}; training goes on and the next checkpoint tries again (${failedSaves} of ${maxFailures} allowed in a row). The last good checkpoint is ${lastGoodText()}`);
    }
  };
  const numerics = new NumericsMonitor(engine);
  if (o.checkNumerics) setCheckNumerics(engine, numerics);
  const fault = o.faultInjection;
  const poison = (t: Tensor | undefined, what: string) => {
    if (!t) throw new AlexnetError(`faultInjection: no ${what}; parameters are ${model.params.map((p) => p.name).join(', ')}`);
    engine.writeBuffer(t.buffer, 0, Float32Array.of(fault!.value ?? NaN));
  };

  try {
    outer: for (let epoch = state.epoch; epoch < o.epochs && state.step < total; epoch++) {
      for await (const batch of loader.epoch(epoch, state.batch)) {
        x.write(batch.images);
        y.write(batch.labels);
        const faultNow = fault?.step === state.step + 1 ? model.params.find((p) => p.name === fault.tensor) : undefined;
        if (fault?.step === state.step + 1 && fault.into === 'weight') poison(faultNow, `parameter '${fault.tensor}'`);
        numerics.reset();
        numerics.watch(x, 'input batch');
        const tape = record(engine);
        const logits = tape.retain(model.forward(x, { training: true, seed: o.seed, step: state.step }));
        engine.label = 'loss';
        const loss = tape.retain(softmaxCrossEntropy(logits, y));
        engine.label = '';
        numerics.watch(loss, 'loss');
        tape.backward(loss);
        if (fault?.step === state.step + 1 && fault.into !== 'weight') poison(faultNow?.grad, `gradient of '${fault.tensor}'`);
        // Gradients in the order the backward pass produced them (last layer first).
        for (let k = model.params.length - 1; k >= 0; k--) if (model.params[k].grad) numerics.watch(model.params[k].grad!, `gradient of ${model.params[k].name}`);
        opt.step();
        const [lv, lg, bad] = await Promise.all([loss.read(), logits.read(), numerics.firstBad()]);
        tape.dispose();
        opt.zeroGrad();
        const lossValue = lv[0];
        if (bad || !Number.isFinite(lossValue)) {
          const input = bad?.label === 'input batch';
          const what = bad ? `${bad.label} is ${bad.kind}` : `loss is ${lossValue}`;
          const where = input ? nonFiniteSample(batch.images, batch.indices, train) : '';
          const others = bad && bad.count > 1 ? `; ${bad.count} of the ${numerics.watched} tensors checked this step are non-finite, this is the first` : '';
          const hint = input ? 'The training data must be finite' : `Try a lower --lr${o.checkNumerics ? '' : ', or --check-numerics to find the op that produced it'}`;
          throw new NumericalError(`step ${state.step + 1} (epoch ${epoch + 1}, batch ${batch.index}): ${what}${where}${others}. Training stopped; ` +
            `the last good checkpoint, ${lastGoodText()}, was not touched. ${hint}`);
        }
        const hits = topkHits(lg as Float32Array, batch.labels, classes).top1;
        state.step++;
        state.batch = batch.index + 1;
        const now = performance.now();
        state.elapsedMs += now - lastT;
        timing.ms += now - lastT; lastT = now;
        timing.images += B; timing.dataMs += batch.dataMs; timing.steps++;
        sums.windowLoss += lossValue; sums.windowHits += hits; sums.windowSteps++;
        sums.epochLoss += lossValue * B; sums.epochHits += hits; sums.epochSeen += B;

        stuck = Math.abs(lossValue - lnK) < 0.02 * lnK ? stuck + 1 : 0;
        if (stuck >= 200 && !warnedStuck) {
          warnedStuck = true;
          io.warn(`loss has stayed at ln(${classes}) = ${lnK.toFixed(3)} for ${stuck} steps: the net is not learning ` +
            `(a known AlexNet failure: try a lower --lr, check the labels, or restart with another --seed)`);
        }
        // Intervals end at multiples of logEvery, so a resumed run logs the same steps.
        if (state.step % o.logEvery === 0 || state.step === total) {
          const ips = timing.images / (timing.ms / 1000);
          const eta = ((total - state.step) * B) / ips;
          const loss = sums.windowLoss / sums.windowSteps, top1 = sums.windowHits / (sums.windowSteps * B);
          io.log(`epoch ${epoch + 1}/${o.epochs}  step ${state.step}/${total}  loss ${loss.toFixed(4)}  ` +
            `top-1 ${(100 * top1).toFixed(1)}%  ${ips.toFixed(1)} img/s  data ${(timing.dataMs / timing.steps).toFixed(0)} ms/batch  ` +
            `ETA ${fmtTime(eta)}`);
          writeMetric({ kind: 'step', epoch: epoch + 1, step: state.step, loss, top1, imagesPerSecond: ips, dataMs: timing.dataMs / timing.steps, lr: opt.lr, time: state.elapsedMs / 1000 });
          timing = { images: 0, ms: 0, dataMs: 0, steps: 0 };
          sums.windowLoss = sums.windowHits = sums.windowSteps = 0;
        }
        const stop = io.stopRequested?.() ?? false;
        if (o.checkpointEvery && state.step % o.checkpointEvery === 0 && !stop) await save(false);
        if (stop) { interrupted = true; await save(true); }
        io.onStep?.(state);
        if (stop) break outer;
        if (state.step >= total) break;
      }
      if (state.batch < perEpoch) break; // stopped by --steps inside the epoch
      // end of epoch: validation, schedule, checkpoint
      const m: Record<string, unknown> = { kind: 'epoch', epoch: epoch + 1, step: state.step, trainLoss: sums.epochLoss / sums.epochSeen, trainTop1Error: 1 - sums.epochHits / sums.epochSeen, lr: opt.lr, time: state.elapsedMs / 1000 };
      sums.epochLoss = sums.epochHits = sums.epochSeen = 0;
      if (val) {
        const r = await evaluate(model, val, { batchSize: Math.min(B, 256), mean, scale, std, tenCrop: false });
        Object.assign(m, { valTop1Error: r.top1Error, valTop5Error: r.top5Error });
        io.log(`epoch ${epoch + 1}: validation top-1 error ${(100 * r.top1Error).toFixed(2)}%, top-5 error ${(100 * r.top5Error).toFixed(2)}% (${r.samples} images, centre crop)`);
        schedule(o, state, opt, r.top1Error, epoch + 1, io);
      } else schedule(o, state, opt, undefined, epoch + 1, io);
      state.epoch = epoch + 1;
      state.batch = 0;
      state.lr = opt.lr;
      writeMetric(m);
      await save(false);
      lastT = performance.now();
      if (o.pictures !== false) await writeTrainingPictures(o.out, metricsPath, model, io.warn);
    }
    state.lr = opt.lr;
    if (interrupted) {
      return { interrupted, state, checkpoint: ckptPath, imagesPerSecond: 0, wallMs: performance.now() - started };
    }
    await save(true);
    const finalPath = join(o.out, 'final.safetensors');
    await saveCheckpoint(finalPath, model, meta, undefined, undefined, o.fs);
    let summary: TrainSummary['val'];
    if (val) {
      const c = await evaluate(model, val, { batchSize: Math.min(B, 256), mean, scale, std, tenCrop: false });
      summary = { top1Error: c.top1Error, top5Error: c.top5Error };
      if (o.tenCrop) {
        const t = await evaluate(model, val, { batchSize: Math.max(1, Math.floor(Math.min(B, 256) / 10)), mean, scale, std, tenCrop: true });
        summary.tenCrop = { top1Error: t.top1Error, top5Error: t.top5Error };
      }
      io.log(`final: validation top-1 error ${(100 * c.top1Error).toFixed(2)}% (accuracy ${(100 - 100 * c.top1Error).toFixed(2)}%), top-5 error ${(100 * c.top5Error).toFixed(2)}%` +
        (summary.tenCrop ? `; 10-crop top-1 ${(100 * summary.tenCrop.top1Error).toFixed(2)}%, top-5 ${(100 * summary.tenCrop.top5Error).toFixed(2)}%` : ''));
      writeMetric({ kind: 'final', step: state.step, valTop1Error: c.top1Error, valTop5Error: c.top5Error, tenCrop: summary.tenCrop, time: state.elapsedMs / 1000 });
    }
    if (o.pictures !== false) await writeTrainingPictures(o.out, metricsPath, model, io.warn);
    const wallMs = performance.now() - started;
    return { interrupted: false, state, checkpoint: ckptPath, final: finalPath, val: summary, imagesPerSecond: (state.step * B) / (state.elapsedMs / 1000), wallMs };
  } catch (e) {
    // Say where the run stands: the device error alone does not tell what survived it.
    if (e instanceof DeviceError) {
      const d = new DeviceError(`${e.message}\ntraining stopped at step ${state.step}; the last good checkpoint is ${lastGoodText()}; continue with --resume ${o.out}`);
      d.cause = e;
      throw d;
    }
    throw e;
  } finally {
    if (o.checkNumerics) setCheckNumerics(engine, undefined);
    numerics.dispose(); x.dispose(); y.dispose(); opt.dispose(); model.dispose();
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
  return weights?.get(`${lastLayerName(archs[arch])}.bias`)?.shape[0];
}

export function fmtTime(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const t = Math.round(s);   // round once, so 419.6 s is 7m00s, never 6m60s
  const m = Math.floor(t / 60), h = Math.floor(m / 60);
  return h ? `${h}h${String(m % 60).padStart(2, '0')}m` : m ? `${m}m${String(t % 60).padStart(2, '0')}s` : `${t}s`;
}

/**
 * Cut metrics.jsonl back to the lines `state` covers (none for a fresh run): step lines up to its
 * step, epoch lines of its finished epochs; final lines and lines cut by a kill go. Returns how
 * many lines were dropped. The file is replaced atomically.
 */
export async function truncateMetrics(path: string, state: RunState | undefined, fs?: AtomicFs): Promise<number> {
  if (!existsSync(path)) return 0;
  const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l !== '');
  const keep = lines.filter((l) => {
    let m: Record<string, unknown>;
    try { m = JSON.parse(l); } catch { return false; }
    if (!state || typeof m !== 'object' || m === null) return false;
    if (m.kind === 'step') return typeof m.step === 'number' && m.step <= state.step;
    if (m.kind === 'epoch') return typeof m.epoch === 'number' && m.epoch <= state.epoch;
    return false;
  });
  if (keep.length === lines.length) return 0;
  await atomicWrite(path, Buffer.from(keep.map((l) => l + '\n').join('')), fs);
  return lines.length - keep.length;
}

/** Where a non-finite input batch comes from: the dataset sample holding the value, if the host copy has it. */
function nonFiniteSample(images: Float32Array, indices: Int32Array, ds: Dataset): string {
  const bad = firstNonFinite(images);
  if (!bad) return '';
  const per = images.length / indices.length;
  const j = Math.floor(bad.index / per);
  return `: sample ${indices[j]} of ${ds.name} holds ${bad.value} (element ${bad.index - j * per} after preprocessing)`;
}

/** The channel mean came out non-finite: name the first sample holding NaN/Inf. */
async function nonFiniteData(ds: Dataset): Promise<NumericalError> {
  const buf = new Float32Array(ds.channels * ds.height * ds.width);
  for (let i = 0; i < ds.length; i++) {
    await ds.get(i, buf);
    const bad = firstNonFinite(buf);
    if (bad) return new NumericalError(`${ds.name}: sample ${i} holds ${bad.value} (element ${bad.index}); training data must be finite`);
  }
  return new NumericalError(`${ds.name}: the channel mean is not finite (values too large?); training data must be finite`);
}
