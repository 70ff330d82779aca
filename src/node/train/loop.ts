// The epochs of a run: each step (trainer's step, its health, the sums, the progress line), the end
// of each epoch (validation, the schedule, metrics, the checkpoint, the pictures) and the end of the
// run (the final checkpoint, weights and evaluation). trainer.ts sets a Loop up and runs it.
import { join } from 'node:path';
import type { Engine } from '../../gpu/engine.js';
import type { Batch } from '../../data/loader.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { BadTensor, NumericsMonitor } from '../../tensor/numerics.js';
import { evaluate } from '../../train/evaluate.js';
import { topkHits } from '../../train/metrics.js';
import { batchInput } from '../../train/input.js';
import type { RecordedStep } from '../../train/recorded_step.js';
import type { StepResult } from '../../train/step.js';
import { tuneQueued } from '../../train/tune.js';
import { type DataWaitWatch, numericalFailure, type StuckLossWatch } from '../../train/watchdog.js';
import { saveCheckpoint } from '../files/checkpoint.js';
import type { CheckpointPolicy } from './checkpoints.js';
import type { MetricsLog } from './metrics_log.js';
import type { TrainIO, TrainOptions, TrainSummary } from './options.js';
import { writeTrainingPictures } from './pictures.js';
import { runState, type Run } from './setup.js';

/** A run in progress: its parts, the device buffers it steps with, and this process's timings. */
export interface Loop {
  o: TrainOptions;
  io: TrainIO;
  engine: Engine;
  run: Run;
  x: Tensor;
  y: Tensor;
  /** The training step, recorded once and replayed (falls back to trainStep by itself). */
  steps: RecordedStep;
  /** Steps of this process that replayed the recording. */
  replayedSteps: number;
  /** Steps launched before the previous one was looked at. */
  stepsRunAhead: number;
  numerics: NumericsMonitor;
  checkpoints: CheckpointPolicy;
  metrics: MetricsLog;
  stuck: StuckLossWatch;
  dataWait: DataWaitWatch;
  /** Images, milliseconds and data wait of the progress interval (not run state: timings are this process's). */
  timing: { images: number; ms: number; dataMs: number; steps: number };
  lastT: number;
  /** The loader's and the decoding threads' counters at the last progress line (--verbose's rates). */
  seen: LoaderCounters;
}

export interface LoaderCounters {
  images: number;
  busyMs: number;
  poolBusyMs: number;
  poolWallMs: number;
}

/** The loader's own images/s and the share of the decoding threads' time spent decoding, since `l.seen`. */
function loaderRates(l: Loop): { loaderImagesPerSecond: number; workerUse?: number; workers?: number } {
  const s = l.run.loader.stats,
    p = l.run.data.pool?.stats(),
    prev = l.seen;
  l.seen = { images: s.images, busyMs: s.busyMs, poolBusyMs: p?.busyMs ?? 0, poolWallMs: p?.wallMs ?? 0 };
  const loaderImagesPerSecond = (1000 * (s.images - prev.images)) / Math.max(1e-6, s.busyMs - prev.busyMs);
  if (!p?.images) return { loaderImagesPerSecond }; // no file decoded: the threads never started
  const workerUse = (p.busyMs - prev.poolBusyMs) / ((p.wallMs - prev.poolWallMs) * p.workers);
  return { loaderImagesPerSecond, workerUse, workers: p.workers };
}

/** The epochs from where the run stands; true if it was interrupted (and checkpointed). */
export async function epochs(l: Loop): Promise<boolean> {
  const { o, run } = l,
    p = run.progress;
  for (let epoch = p.epoch; epoch < o.epochs && p.step < run.total; epoch++) {
    const batches = run.loader.epoch(epoch, p.batch)[Symbol.asyncIterator]();
    try {
      let next = await batches.next();
      let cur: Launched | undefined;
      while (cur || !next.done) {
        if (!cur) {
          cur = launch(l, next.value as Batch, p.step + 1);
          next = await batches.next();
        }
        // Run ahead: encode the next step before reading this one's loss, so the device is never
        // idle while the host reads and encodes; only where nothing in between needs this step's state.
        let ahead: Launched | undefined;
        if (!next.done && mayRunAhead(l, cur.n)) {
          ahead = launch(l, next.value, cur.n + 1);
          l.stepsRunAhead++;
          next = await batches.next();
        }
        await settle(l, epoch, cur);
        const stop = l.io.stopRequested?.() ?? false;
        if (stop && ahead) {
          await settle(l, epoch, ahead); // the step in flight finishes, then the checkpoint
          ahead = undefined;
        }
        if (o.checkpointEvery && p.step % o.checkpointEvery === 0 && !stop) await save(l, false);
        if (stop) await save(l, true);
        l.io.onStep?.(runState(run));
        if (stop) return true;
        if (p.step >= run.total) break;
        cur = ahead;
      }
    } finally {
      await batches.return?.(undefined);
    }
    if (p.batch < run.loader.batchesPerEpoch) break; // stopped by --steps inside the epoch
    await endEpoch(l, epoch);
  }
  return false;
}

/**
 * Whether step n+1 may be encoded before step n is looked at: not when a checkpoint follows step n
 * (it must hold step n's weights), at the run's last step, while shapes wait to be tuned (the step
 * is recorded again after), or when a test hook watches the steps one by one.
 */
function mayRunAhead(l: Loop, n: number): boolean {
  const { o, io } = l;
  if (io.beforeStep || io.beforeUpdate) return false;
  if (o.checkpointEvery && n % o.checkpointEvery === 0) return false;
  return n < l.run.total && l.engine.tuner.pending.length === 0;
}

const save = (l: Loop, required: boolean): Promise<void> =>
  l.checkpoints.save(l.run.model, l.run.meta, l.run.opt, runState(l.run), required);

/** A step encoded, with the reads of its loss, logits and health flags issued but not awaited. */
interface Launched {
  n: number;
  batch: Batch;
  r: StepResult;
  reads: Promise<[Float32Array, Float32Array, BadTensor | undefined]>;
  watched: number;
}

/**
 * Step n on a batch, encoded: the batch written in, the update, the reads issued. Their copies are
 * encoded right behind the step, so the values are step n's even if step n+1 is encoded next.
 */
function launch(l: Loop, batch: Batch, n: number): Launched {
  const { o, io, run, numerics } = l,
    model = run.model;
  batchInput(run.model.engine, batch, l.x.shape, l.x);
  l.y.write(batch.labels);
  io.beforeStep?.(n, model);
  numerics.reset();
  numerics.watch(l.x, 'input batch');
  // recorded on the first step and replayed after, unless a test hook looks inside the step
  const hook = io.beforeUpdate;
  const r = l.steps.step({
    lr: run.schedule.lr,
    seed: o.seed,
    step: n - 1,
    numerics: o.checkNumerics ? numerics : undefined,
    watch: numerics,
    beforeUpdate: hook && (() => hook(n, model)),
  });
  if (l.steps.mode === 'replayed') l.replayedSteps++;
  const reads = Promise.all([r.loss.readF32(), r.logits.readF32(), numerics.firstBad()]);
  reads.catch(() => {}); // settle() awaits it and throws; until then a lost device must not count as unhandled
  return { n, batch, r, reads, watched: numerics.watched };
}

/** A launched step looked at: its health, the sums, the progress line, tuning of new shapes. */
async function settle(l: Loop, epoch: number, s: Launched): Promise<void> {
  const { o, io, run } = l,
    { model, progress: p, sums } = run,
    B = o.batchSize,
    { n, batch, r } = s;
  const [lv, lg, bad] = await s.reads;
  r.release();
  const loss = lv[0];
  const failure = numericalFailure(
    { bad, watched: s.watched, loss, images: batch.images, indices: batch.indices, dataset: run.train },
    `step ${n} (epoch ${epoch + 1}, batch ${batch.index})`,
    l.checkpoints.lastGoodText,
    !!o.checkNumerics,
  );
  if (failure) throw failure;
  const hits = topkHits(lg, batch.labels, model.classes).top1;
  p.step = n;
  p.batch = batch.index + 1;
  const now = performance.now();
  const slow = l.dataWait.observe(batch.dataMs, now - l.lastT);
  if (slow) io.warn(slow);
  p.elapsedMs += now - l.lastT;
  l.timing.ms += now - l.lastT;
  l.lastT = now;
  l.timing.images += B;
  l.timing.dataMs += batch.dataMs;
  l.timing.steps++;
  sums.windowLoss += loss;
  sums.windowHits += hits;
  sums.windowSteps++;
  sums.epochLoss += loss * B;
  sums.epochHits += hits;
  sums.epochSeen += B;
  const warning = l.stuck.observe(loss);
  if (warning) io.warn(warning);
  // Intervals end at multiples of logEvery, so a resumed run logs the same steps.
  if (p.step % o.logEvery === 0 || p.step === run.total) await progressLine(l, epoch);
  if (l.engine.tuner.pending.length && !io.stopRequested?.()) {
    // shapes used for the first time on this adapter: time their variants, then record the step anew
    // (not when a stop was asked for: the shapes stay untuned, to be tuned by a later run)
    await tuneQueued(l.engine, io.log);
    l.steps.reset();
    l.lastT = performance.now(); // the next step's time leaves the tuning out
  }
}

async function progressLine(l: Loop, epoch: number): Promise<void> {
  const { o, run, timing: t } = l,
    { progress: p, sums } = run;
  const ips = t.images / (t.ms / 1000);
  const eta = ((run.total - p.step) * o.batchSize) / ips;
  const loss = sums.windowLoss / sums.windowSteps,
    top1 = sums.windowHits / (sums.windowSteps * o.batchSize);
  const rates = o.verbose ? loaderRates(l) : undefined;
  const verbose = !rates
    ? ''
    : `  loader ${rates.loaderImagesPerSecond.toFixed(0)} img/s` +
      (rates.workers ? `  decoding ${(100 * rates.workerUse!).toFixed(0)}% of ${rates.workers} thread(s)` : '');
  l.io.log(
    `epoch ${epoch + 1}/${o.epochs}  step ${p.step}/${run.total}  loss ${loss.toFixed(4)}  ` +
      `top-1 ${(100 * top1).toFixed(1)}%  ${ips.toFixed(1)} img/s  data ${(t.dataMs / t.steps).toFixed(0)} ms/batch  ETA ${fmtTime(eta)}${verbose}`,
  );
  await l.metrics.write({
    kind: 'step',
    epoch: epoch + 1,
    step: p.step,
    loss,
    top1,
    imagesPerSecond: ips,
    dataMs: t.dataMs / t.steps,
    ...rates,
    lr: run.schedule.lr,
    time: p.elapsedMs / 1000,
  });
  l.timing = { images: 0, ms: 0, dataMs: 0, steps: 0 };
  sums.windowLoss = sums.windowHits = sums.windowSteps = 0;
}

/** End of an epoch: validation, the schedule, the metrics line, the checkpoint, the pictures. */
async function endEpoch(l: Loop, epoch: number): Promise<void> {
  const { o, io, run } = l,
    { progress: p, sums, schedule } = run;
  const m: Record<string, unknown> = {
    kind: 'epoch',
    epoch: epoch + 1,
    step: p.step,
    trainLoss: sums.epochLoss / sums.epochSeen,
    trainTop1Error: 1 - sums.epochHits / sums.epochSeen,
    lr: schedule.lr,
    time: p.elapsedMs / 1000,
  };
  sums.epochLoss = sums.epochHits = sums.epochSeen = 0;
  let valError: number | undefined;
  if (run.val) {
    const r = await evaluate(run.model, run.val, { ...evalOptions(l), tenCrop: false });
    Object.assign(m, { valTop1Error: r.top1Error, valTop5Error: r.top5Error });
    valError = r.top1Error;
    io.log(
      `epoch ${epoch + 1}: validation top-1 error ${(100 * r.top1Error).toFixed(2)}%, top-5 error ${(100 * r.top5Error).toFixed(2)}% (${r.samples} images, centre crop)`,
    );
  }
  if (schedule.endEpoch(epoch + 1, valError)) io.log(`learning rate divided by 10 → ${schedule.lr}`);
  p.epoch = epoch + 1;
  p.batch = 0;
  await l.metrics.write(m);
  await save(l, false);
  l.lastT = performance.now();
  if (o.pictures !== false) await writeTrainingPictures(o.out, l.metrics.path, run.model, io.warn);
}

const evalOptions = (l: Loop) => ({ batchSize: Math.min(l.o.batchSize, 256), ...l.run.preprocessing });

/** The end of a run that was not interrupted: the last checkpoint, the final weights, the final evaluation. */
export async function finish(l: Loop, started: number): Promise<TrainSummary> {
  const { o, io, run } = l,
    p = run.progress;
  await save(l, true);
  const finalPath = join(o.out, 'final.safetensors');
  await saveCheckpoint(finalPath, run.model, run.meta, undefined, undefined, o.fs);
  let summary: TrainSummary['val'];
  if (run.val) {
    const c = await evaluate(run.model, run.val, { ...evalOptions(l), tenCrop: false });
    summary = { top1Error: c.top1Error, top5Error: c.top5Error };
    if (o.tenCrop) {
      const t = await evaluate(run.model, run.val, {
        ...evalOptions(l),
        batchSize: Math.max(1, Math.floor(evalOptions(l).batchSize / 10)),
        tenCrop: true,
      });
      summary.tenCrop = { top1Error: t.top1Error, top5Error: t.top5Error };
    }
    io.log(
      `final: validation top-1 error ${(100 * c.top1Error).toFixed(2)}% (accuracy ${(100 - 100 * c.top1Error).toFixed(2)}%), top-5 error ${(100 * c.top5Error).toFixed(2)}%` +
        (summary.tenCrop
          ? `; 10-crop top-1 ${(100 * summary.tenCrop.top1Error).toFixed(2)}%, top-5 ${(100 * summary.tenCrop.top5Error).toFixed(2)}%`
          : ''),
    );
    await l.metrics.write({
      kind: 'final',
      step: p.step,
      valTop1Error: c.top1Error,
      valTop5Error: c.top5Error,
      tenCrop: summary.tenCrop,
      time: p.elapsedMs / 1000,
    });
  }
  if (o.pictures !== false) await writeTrainingPictures(o.out, l.metrics.path, run.model, io.warn);
  return {
    interrupted: false,
    state: runState(run),
    checkpoint: l.checkpoints.path,
    final: finalPath,
    val: summary,
    imagesPerSecond: (p.step * o.batchSize) / (p.elapsedMs / 1000),
    wallMs: performance.now() - started,
    replayedSteps: l.replayedSteps,
    stepsRunAhead: l.stepsRunAhead,
  };
}

/** Seconds as 42s, 7m00s or 1h05m (rounded once, so 419.6 s is 7m00s, never 6m60s). */
export function fmtTime(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const t = Math.round(s); // round once, so 419.6 s is 7m00s, never 6m60s
  const m = Math.floor(t / 60),
    h = Math.floor(m / 60);
  return h ? `${h}h${String(m % 60).padStart(2, '0')}m` : m ? `${m}m${String(t % 60).padStart(2, '0')}s` : `${t}s`;
}
