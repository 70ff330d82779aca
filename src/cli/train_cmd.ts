// `alexnet-wgsl train`: flags → TrainOptions, SIGINT/SIGTERM handling, the summary line.
// Ctrl-C once: finish the step, checkpoint, exit 130; twice: exit 130 at once (the checkpoint on disk stays whole).
import { helpText, parseArgs, UsageError, type FlagSpecs } from './args.js';
import { trainRecovering, fmtTime, type TrainOptions } from '../node/train/trainer.js';
import type { ArchName } from '../models/spec.js';

export const trainFlags: FlagSpecs = {
  arch: { type: 'string', default: 'mini', choices: ['mini', 'paper', 'torchvision'], help: 'network' },
  data: { type: 'string', default: 'fashion-mnist', help: "'fashion-mnist', a folder of .npy arrays, or an ImageFolder tree" },
  epochs: { type: 'int', default: 3, help: 'epochs' },
  steps: { type: 'int', help: 'stop after this many updates' },
  'batch-size': { type: 'int', default: 128, help: 'images per step (the paper: 128)' },
  lr: { type: 'number', default: 0.01, help: 'learning rate ε' },
  momentum: { type: 'number', default: 0.9, help: 'momentum μ' },
  'weight-decay': { type: 'number', default: 0.0005, help: 'weight decay λ' },
  dropout: { type: 'number', default: 0.5, help: 'dropout probability of fc6/fc7' },
  augment: { type: 'boolean', default: true, help: 'random crops, flips, PCA lighting (--no-augment)' },
  shuffle: { type: 'boolean', default: true, help: 'shuffle each epoch (--no-shuffle: batch k = samples [kB, (k+1)B))' },
  seed: { type: 'int', default: 1, help: 'seed of init, shuffling, augmentation, dropout' },
  classes: { type: 'int', help: 'classes (default: from the data or --init)' },
  init: { type: 'string', help: 'start from these weights (safetensors)' },
  resume: { type: 'string', help: 'continue a run: a checkpoint file or its --out folder' },
  out: { type: 'string', default: 'runs/latest', help: 'output folder: checkpoint, metrics.jsonl, pictures' },
  'lr-patience': { type: 'int', default: 1, help: 'epochs without validation improvement before lr ÷ 10 (at most 3 times)' },
  'lr-steps': { type: 'list', help: 'step schedule instead: epochs after which lr ÷ 10, e.g. 30,60,80' },
  'log-every': { type: 'int', default: 20, help: 'steps per progress line' },
  'checkpoint-every': { type: 'int', default: 0, help: 'also checkpoint every N steps' },
  'input-size': { type: 'int', help: 'input side (default: the arch\'s; mini: the data\'s)' },
  'train-limit': { type: 'int', help: 'use only the first N training images' },
  'val-limit': { type: 'int', help: 'use only the first N validation images' },
  'ten-crop': { type: 'boolean', default: false, help: 'final evaluation also with the 10-crop average' },
  pictures: { type: 'boolean', default: true, help: 'write curves.png and conv1-kernels.png' },
  'check-numerics': { type: 'boolean', default: false, help: 'check every op\'s output for NaN/Inf and name the first (debugging; slower)' },
  'device-retries': { type: 'int', default: 2, help: 'times a lost GPU device is re-created and the run resumed from its checkpoint' },
  help: { type: 'boolean', help: 'show this help' },
};

export async function trainCommand(argv: string[]): Promise<number> {
  const { flags: f, positional } = parseArgs(argv, trainFlags);
  if (f.help) { console.log(helpText('train', 'train AlexNet through WebGPU', trainFlags)); return 0; }
  if (positional.length) throw new UsageError(`train takes no positional arguments, got '${positional[0]}'`);
  for (const k of ['epochs', 'batchSize', 'logEvery'] as const) if (!(f[k] >= 1)) throw new UsageError(`--${k} must be ≥ 1`);
  if (f.steps !== undefined && f.steps < 1) throw new UsageError('--steps must be ≥ 1');
  if (!(f.dropout >= 0 && f.dropout < 1)) throw new UsageError('--dropout must be in [0, 1)');
  if (!(f.lr > 0)) throw new UsageError('--lr must be > 0');
  if (!(f.deviceRetries >= 0)) throw new UsageError('--device-retries must be ≥ 0');
  const lrSteps = f.lrSteps?.map((s: string) => {
    if (!/^\d+$/.test(s)) throw new UsageError(`--lr-steps: '${s}' is not an epoch number`);
    return Number(s);
  });
  const opts: TrainOptions = {
    arch: f.arch as ArchName, data: f.data, epochs: f.epochs, steps: f.steps, batchSize: f.batchSize, lr: f.lr,
    momentum: f.momentum, weightDecay: f.weightDecay, dropout: f.dropout, augment: f.augment, shuffle: f.shuffle,
    seed: f.seed, classes: f.classes, init: f.init, resume: f.resume, out: f.out, lrPatience: f.lrPatience, lrSteps,
    logEvery: f.logEvery, checkpointEvery: f.checkpointEvery, inputSize: f.inputSize, trainLimit: f.trainLimit,
    valLimit: f.valLimit, tenCrop: f.tenCrop, pictures: f.pictures, checkNumerics: f.checkNumerics,
  };
  let stop = false;
  const onSignal = (sig: string) => {
    if (stop) { console.error(`\n${sig} again: exiting now (the last checkpoint on disk is intact)`); process.exit(130); }
    stop = true;
    console.error(`\n${sig}: finishing this step and writing a checkpoint (press Ctrl-C again to quit at once)`);
  };
  const onInt = () => onSignal('SIGINT'), onTerm = () => onSignal('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  try {
    const r = await trainRecovering(opts, {
      log: (l) => console.log(l),
      warn: (l) => console.error(`warning: ${l}`),
      stopRequested: () => stop,
    }, { retries: f.deviceRetries });
    if (r.interrupted) {
      console.error(`interrupted at step ${r.state.step}: checkpoint written to ${r.checkpoint}; continue with --resume ${opts.out}`);
      return 130;
    }
    console.log(`done: ${r.state.step} steps in ${fmtTime(r.wallMs / 1000)} (${r.imagesPerSecond.toFixed(1)} img/s); weights ${r.final}, checkpoint ${r.checkpoint}`);
    return 0;
  } finally {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  }
}
