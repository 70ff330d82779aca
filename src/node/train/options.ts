// What a training run is asked to do (TrainOptions, the CLI's flags), what it talks to (TrainIO:
// log lines, warnings, the stop request, test hooks, the device) and what it reports (TrainSummary).
import type { Engine } from '../../gpu/engine.js';
import type { RunState } from '../../checkpoint/checkpoint.js';
import type { Model } from '../../models/model.js';
import type { Arch, ArchName } from '../../models/spec.js';
import type { AtomicFs } from '../files/atomic.js';

import type { AutotuneMode } from '../../gpu/tuner.js';

export interface TrainOptions {
  /** A built-in arch, or a layer table of one's own (the experiments' variants; checkpoints record its name). */
  arch: ArchName | Arch;
  data: string;
  epochs: number;
  steps?: number;
  batchSize: number;
  /** Starting learning rate (the schedule owns it from there). */
  lr: number;
  momentum: number;
  weightDecay: number;
  dropout: number;
  augment: boolean;
  /** PCA lighting when augmenting RGB data (default true). */
  lighting?: boolean;
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
  /** Threads decoding image files (openData's `workers`: default the cores minus one; 0 on this thread). */
  workers?: number;
  /** Progress lines also give the loader's own images/s and the decoding threads' use. */
  verbose?: boolean;
  /** How an engine the trainer creates times kernel variants (src/gpu/tuner.ts; default 'cached'); a given engine keeps its own. */
  autotune?: AutotuneMode;
  /** Periodic checkpoint writes that may fail in a row (warned, retried at the next one) before the run stops; default 3. */
  maxCheckpointFailures?: number;
  /** File-system calls of checkpoint writes and metrics appends (tests make them fail). */
  fs?: AtomicFs;
}

export interface TrainIO {
  log(line: string): void;
  warn(line: string): void;
  /** Polled after every step: true asks the loop to checkpoint and return. */
  stopRequested?(): boolean;
  /** Called after every step, once its checkpoint (if any) is written. */
  onStep?(state: Readonly<RunState>): void;
  /** Called before update `step` (1-based) is computed, and between its backward and the update (fault tests write into weights or gradients there). */
  beforeStep?(step: number, model: Model): void;
  beforeUpdate?(step: number, model: Model): void;
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
  /** Steps of this process that replayed the recorded step (the others ran unrecorded or recorded it). */
  replayedSteps: number;
  /** Steps encoded before the previous step's loss was read (the device kept busy meanwhile). */
  stepsRunAhead: number;
}
