// Training a model, the entry point: the output folder's lock, then a run set up (setup.ts) and its
// epochs run (loop.ts): the paper's SGD on a model built from a layer table, batches prepared ahead
// of the GPU, a progress line per interval, metrics as JSON lines (metrics_log.ts), atomic
// checkpoints every epoch and on request (checkpoints.ts), the schedule (train/schedule.ts), exact
// resume, and pictures. Also the run that survives device loss (trainRecovering).
// Faults (see README, "What survives what"): NaN/Inf stop the run before anything is saved, failed
// checkpoint writes are retried, device loss is a DeviceError (trainRecovering resumes on a new device).
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DeviceError } from '../../errors.js';
import type { Engine } from '../../gpu/engine.js';
import type { AutotuneMode } from '../../gpu/tuner.js';
import { Tensor } from '../../tensor/tensor.js';
import { NumericsMonitor } from '../../tensor/numerics.js';
import { RecordedStep } from '../../train/recorded_step.js';
import { DataWaitWatch, StuckLossWatch } from '../../train/watchdog.js';
import { createEngine } from '../dawn.js';
import { removeStaleTemps } from '../files/atomic.js';
import { acquireLock } from '../files/lock.js';
import { CheckpointPolicy } from './checkpoints.js';
import { MetricsLog } from './metrics_log.js';
import { prepareRun, runState } from './setup.js';
import { epochs, finish, type Loop } from './loop.js';
import type { TrainIO, TrainOptions, TrainSummary } from './options.js';

export type { TrainIO, TrainOptions, TrainSummary };

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
    if (stale.length)
      io.warn(`removed ${stale.length} unfinished file(s) a killed run left in ${o.out}: ${stale.join(', ')}`);
    engine = io.engine ?? (await createEngine({ autotune: o.autotune ?? 'cached' }));
    return await runTraining(o, io, engine);
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
export async function trainRecovering(
  o: TrainOptions,
  io: Omit<TrainIO, 'engine'>,
  opts: { retries: number; createEngine?: (o: { autotune: AutotuneMode }) => Promise<Engine> },
): Promise<TrainSummary> {
  let options = o;
  for (let attempt = 0; ; attempt++) {
    const engine = await (opts.createEngine ?? createEngine)({ autotune: o.autotune ?? 'cached' });
    try {
      return await train(options, { ...io, engine });
    } catch (e) {
      if (!(e instanceof DeviceError) || attempt >= opts.retries) throw e;
      const resume = existsSync(join(o.out, 'checkpoint.safetensors')) ? o.out : o.resume;
      io.warn(
        `${e.message}\nre-creating the device and ${resume ? `resuming from ${resume}` : 'starting over (no checkpoint yet)'} (recovery ${attempt + 1} of ${opts.retries})`,
      );
      options = { ...o, resume };
    } finally {
      engine.dispose();
    }
  }
}

async function runTraining(o: TrainOptions, io: TrainIO, engine: Engine): Promise<TrainSummary> {
  const started = performance.now();
  const run = await prepareRun(o, io, engine);
  const { model, train, progress } = run;
  const ckptPath = join(o.out, 'checkpoint.safetensors');
  const resumedHere = run.resumedFrom !== undefined && resolve(run.resumedFrom) === resolve(ckptPath);
  const metrics = new MetricsLog(join(o.out, 'metrics.jsonl'), io.warn, o.fs);
  const dropped = await metrics.truncate(run.resumedFrom ? runState(run) : undefined);
  if (dropped)
    io.log(
      `${metrics.path}: dropped ${dropped} line(s) written after the checkpoint${run.resumedFrom ? ` of step ${progress.step}` : ' (a fresh run starts a fresh file)'}`,
    );
  io.log(
    `${model.arch.name}: ${model.parameterCount.toLocaleString('en')} parameters, input ${train.channels}×${model.inputSize}×${model.inputSize}, ` +
      `${model.classes} classes, ${train.length} training images, batch ${o.batchSize}, ${run.loader.batchesPerEpoch} steps/epoch, lr ${run.schedule.lr}`,
  );
  const x = new Tensor(engine, [o.batchSize, train.channels, model.inputSize, model.inputSize], 'f32', {
    name: 'input',
  });
  const y = new Tensor(engine, [o.batchSize], 'i32', { name: 'labels' });
  const loop: Loop = {
    o,
    io,
    engine,
    run,
    metrics,
    x,
    y,
    steps: new RecordedStep(model, run.opt, x, y),
    replayedSteps: 0,
    stepsRunAhead: 0,
    numerics: new NumericsMonitor(engine),
    checkpoints: new CheckpointPolicy(
      ckptPath,
      o.maxCheckpointFailures ?? 3,
      io.warn,
      o.fs,
      resumedHere ? progress.step : undefined,
    ),
    stuck: new StuckLossWatch(model.classes),
    dataWait: new DataWaitWatch(),
    timing: { images: 0, ms: 0, dataMs: 0, steps: 0 },
    lastT: performance.now(),
    seen: { images: 0, busyMs: 0, poolBusyMs: 0, poolWallMs: 0 },
  };
  try {
    const interrupted = await epochs(loop);
    return interrupted
      ? {
          interrupted,
          state: runState(run),
          checkpoint: ckptPath,
          imagesPerSecond: 0,
          wallMs: performance.now() - started,
          replayedSteps: loop.replayedSteps,
          stepsRunAhead: loop.stepsRunAhead,
        }
      : await finish(loop, started);
  } catch (e) {
    // Say where the run stands: the device error alone does not tell what survived it.
    if (e instanceof DeviceError) {
      const d = new DeviceError(
        `${e.message}\ntraining stopped at step ${progress.step}; the last good checkpoint is ${loop.checkpoints.lastGoodText}; continue with --resume ${o.out}`,
      );
      d.cause = e;
      throw d;
    }
    throw e;
  } finally {
    loop.steps.dispose();
    loop.numerics.dispose();
    loop.x.dispose();
    loop.y.dispose();
    run.opt.dispose();
    model.dispose();
    await run.data.close();
  }
}
