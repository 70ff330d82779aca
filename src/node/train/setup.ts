// What a run starts from: its data, the checkpoint it resumes (or the weights it starts with), the
// model, the preprocessing, the optimizer, the schedule and the loader, checked before any step.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { AlexnetError, FormatError } from '../../errors.js';
import type { Engine } from '../../gpu/engine.js';
import { loadVelocities, type ModelMeta, type RunState, type RunSums } from '../../checkpoint/checkpoint.js';
import { computePcaLighting } from '../../data/augment.js';
import { takeDataset, type Dataset } from '../../data/dataset.js';
import { BatchLoader } from '../../data/loader.js';
import { inputPreprocessing } from '../../data/preprocess.js';
import { Model } from '../../models/model.js';
import { archOf, lastLayerName } from '../../models/spec.js';
import { SGD } from '../../optim.js';
import { Schedule } from '../../train/schedule.js';
import { nonFiniteData } from '../../train/watchdog.js';
import { openData, type OpenedData } from '../data/source.js';
import { loadCheckpoint, loadWeightsOnly } from '../files/checkpoint.js';
import type { TrainIO, TrainOptions } from './options.js';

/** Where a run stands; with the schedule's state and the sums it is a checkpoint's RunState. */
export interface Progress {
  epoch: number;
  batch: number;
  step: number;
  elapsedMs: number;
}

export interface Run {
  /** What was opened (the splits and their decoding threads); the run closes it. */
  data: OpenedData;
  train: Dataset;
  val?: Dataset;
  model: Model;
  meta: ModelMeta;
  opt: SGD;
  schedule: Schedule;
  loader: BatchLoader;
  preprocessing: { scale: number; mean: Float32Array; std?: number[] };
  progress: Progress;
  /** Loss and hit sums of the epoch and of the progress interval: run state, saved and resumed. */
  sums: RunSums;
  /** The checkpoint file resumed from, if any. */
  resumedFrom?: string;
  /** Updates the run makes in all (--steps or its epochs). */
  total: number;
}

/** A checkpoint's run state from the run's parts. */
export const runState = (r: Pick<Run, 'progress' | 'schedule' | 'sums'>): RunState => ({
  ...r.progress,
  ...r.schedule.state,
  sums: { ...r.sums },
});

export async function prepareRun(o: TrainOptions, io: TrainIO, engine: Engine): Promise<Run> {
  const data = await openData(o.data, { warn: io.warn, resample: archOf(o.arch).resample, workers: o.workers });
  try {
    return await prepareWith(data, o, io, engine);
  } catch (e) {
    await data.close();
    throw e;
  }
}

async function prepareWith(data: OpenedData, o: TrainOptions, io: TrainIO, engine: Engine): Promise<Run> {
  const arch = archOf(o.arch);
  const train: Dataset = o.trainLimit ? takeDataset(data.train, o.trainLimit) : data.train;
  const val: Dataset | undefined = data.val && (o.valLimit ? takeDataset(data.val, o.valLimit) : data.val);
  const { resumedFrom, resumed, initWeights } = await startingPoint(o);
  const classes =
    o.classes ?? resumed?.meta.classes ?? initWeights?.get(`${lastLayerName(arch)}.bias`)?.shape[0] ?? train.classes;
  for (const d of [train, val]) {
    if (d && d.classes > classes)
      throw new FormatError(`${d.name}: labels reach ${d.classes - 1}, outside [0, ${classes}) (--classes ${classes})`);
  }
  const inputSize =
    o.inputSize ??
    resumed?.meta.inputSize ??
    (arch.name === 'mini' ? Math.max(train.height, train.width) : arch.inputSize);
  const model = new Model(engine, arch, {
    classes,
    channels: train.channels,
    inputSize,
    dropout: o.dropout,
    seed: o.seed,
  });
  const preprocessing = await inputPreprocessing(arch, train, resumed?.meta);
  const { scale, mean, std } = preprocessing;
  if (!mean.every(Number.isFinite)) throw await nonFiniteData(train);
  const lighting =
    o.augment && o.lighting !== false && train.pixels && train.channels === 3 ? await computePcaLighting(train) : null;
  const meta: ModelMeta = {
    arch: arch.name,
    classes,
    channels: train.channels,
    inputSize,
    mean: [...mean],
    pixelScale: scale,
    std,
    classNames: train.classNames,
    config: { ...o, fs: undefined },
  };
  const opt = new SGD(model.params, { momentum: o.momentum, weightDecay: o.weightDecay });
  const state = resumed?.state;
  if (resumed) {
    model.load(resumed.weights, resumedFrom);
    if (!resumed.velocities) throw new FormatError(`${resumedFrom}: optimizer velocities missing`);
    loadVelocities(opt, resumed.velocities, resumedFrom!);
    io.log(`resuming ${resumedFrom} at epoch ${state!.epoch + 1}, batch ${state!.batch}, step ${state!.step}`);
  } else if (initWeights) model.load(initWeights, o.init);
  const schedule = new Schedule(
    { lr: o.lr, steps: o.lrSteps, patience: o.lrPatience, maxReductions: o.maxReductions },
    state,
  );
  const loader = new BatchLoader(train, {
    batchSize: o.batchSize,
    inputSize,
    shuffle: o.shuffle,
    augment: o.augment,
    seed: o.seed,
    mean,
    scale,
    std,
    lighting,
    dropLast: true,
    onDevice: true, // pixel sources: the device crops and normalises (float sources stay on the host)
  });
  if (loader.batchesPerEpoch < 1)
    throw new AlexnetError(`batch size ${o.batchSize} is larger than the training set (${train.length} samples)`);
  return {
    data,
    train,
    val,
    model,
    meta,
    opt,
    schedule,
    loader,
    preprocessing,
    resumedFrom,
    progress: {
      epoch: state?.epoch ?? 0,
      batch: state?.batch ?? 0,
      step: state?.step ?? 0,
      elapsedMs: state?.elapsedMs ?? 0,
    },
    sums: { epochLoss: 0, epochHits: 0, epochSeen: 0, windowLoss: 0, windowHits: 0, windowSteps: 0, ...state?.sums },
    total: Math.min(o.steps ?? Infinity, o.epochs * loader.batchesPerEpoch),
  };
}

/** The checkpoint to resume (a file, or a run's --out folder), else the weights of --init, if any. */
async function startingPoint(o: TrainOptions) {
  const resumedFrom =
    o.resume && existsSync(o.resume) && statSync(o.resume).isDirectory()
      ? join(o.resume, 'checkpoint.safetensors')
      : o.resume;
  if (resumedFrom && !existsSync(resumedFrom))
    throw new FormatError(`--resume ${o.resume}: no checkpoint there (${resumedFrom} does not exist)`);
  const resumed = resumedFrom ? await loadCheckpoint(resumedFrom) : undefined;
  const name = archOf(o.arch).name;
  if (resumed && resumed.meta.arch !== name)
    throw new FormatError(`${resumedFrom}: a checkpoint of arch ${resumed.meta.arch}, not ${name}`);
  if (resumed && !resumed.state)
    throw new FormatError(`${resumedFrom}: holds weights only, no run state to resume (use --init)`);
  const initWeights = !resumed && o.init ? await loadWeightsOnly(o.init) : undefined;
  return { resumedFrom, resumed, initWeights };
}
