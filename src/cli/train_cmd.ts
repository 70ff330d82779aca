// `alexnet-wgsl train`: the flag table (its typed values are TrainOptions), SIGINT/SIGTERM handling, the summary line.
// Ctrl-C once: finish the step, checkpoint, exit 130; twice: exit 130 at once (the checkpoint on disk stays whole).
import { autotuneFlag, flag, helpText, parseArgs, UsageError, workersFlag, type Flags } from './args.js';
import { trainRecovering, type TrainOptions } from '../node/train/trainer.js';
import { fmtTime } from '../node/train/loop.js';
import { ARCH_NAMES } from '../models/spec.js';
import type { CliEnv } from './env.js';

export const trainFlags = {
  arch: flag.choice('network', ARCH_NAMES, 'mini'),
  data: flag.string("'fashion-mnist', a folder of .npy arrays, or an ImageFolder tree", 'fashion-mnist'),
  epochs: flag.int('epochs', 3, { min: 1 }),
  steps: flag.intOpt('stop after this many updates', { min: 1 }),
  'batch-size': flag.int('images per step (the paper: 128)', 128, { min: 1 }),
  lr: flag.number('learning rate ε', 0.01, { above: 0 }),
  momentum: flag.number('momentum μ', 0.9, { min: 0, below: 1 }),
  'weight-decay': flag.number('weight decay λ', 0.0005, { min: 0 }),
  dropout: flag.number('dropout probability of fc6/fc7', 0.5, { min: 0, below: 1 }),
  augment: flag.boolean('random crops, flips, PCA lighting (--no-augment)', true),
  lighting: flag.boolean('PCA lighting of RGB data when augmenting (--no-lighting)', true),
  shuffle: flag.boolean('shuffle each epoch (--no-shuffle: batch k = samples [kB, (k+1)B))', true),
  seed: flag.int('seed of init, shuffling, augmentation, dropout', 1),
  classes: flag.intOpt('classes (default: from the data or --init)', { min: 2 }),
  init: flag.stringOpt('start from these weights (safetensors)'),
  resume: flag.stringOpt('continue a run: a checkpoint file or its --out folder'),
  out: flag.string('output folder: checkpoint, metrics.jsonl, pictures', 'runs/latest'),
  'lr-patience': flag.int('epochs without validation improvement before lr ÷ 10 (at most 3 times)', 1, { min: 1 }),
  'lr-steps': flag.intsOpt('step schedule instead: epochs after which lr ÷ 10, e.g. 30,60,80', { min: 1 }),
  'log-every': flag.int('steps per progress line', 20, { min: 1 }),
  'checkpoint-every': flag.int('also checkpoint every N steps (0: every epoch only)', 0, { min: 0 }),
  'input-size': flag.intOpt("input side (default: the arch's; mini: the data's)", { min: 1 }),
  'train-limit': flag.intOpt('use only the first N training images', { min: 1 }),
  'val-limit': flag.intOpt('use only the first N validation images', { min: 1 }),
  'ten-crop': flag.boolean('final evaluation also with the 10-crop average'),
  pictures: flag.boolean('write curves.png and conv1-kernels.png', true),
  'check-numerics': flag.boolean("check every op's output for NaN/Inf and name the first (debugging; slower)"),
  workers: workersFlag,
  autotune: autotuneFlag,
  verbose: flag.boolean("progress lines also give the loader's own images/s and the decoding threads' use"),
  'device-retries': flag.int('times a lost GPU device is re-created and the run resumed from its checkpoint', 2, {
    min: 0,
  }),
  help: flag.boolean('show this help'),
};

export async function trainCommand(argv: string[], env: CliEnv): Promise<number> {
  const { flags: f, positional } = parseArgs(argv, trainFlags);
  if (f.help) {
    console.log(helpText('train', 'train AlexNet through WebGPU', trainFlags));
    return 0;
  }
  if (positional.length) throw new UsageError(`train takes no positional arguments, got '${positional[0]}'`);
  const { help: _, deviceRetries, ...opts }: Flags<typeof trainFlags> = f;
  const options: TrainOptions = { ...opts, fs: env.fs };
  let stop = false;
  const onSignal = (sig: string) => {
    if (stop) {
      console.error(`\n${sig} again: exiting now (the last checkpoint on disk is intact)`);
      process.exit(130);
    }
    stop = true;
    console.error(`\n${sig}: finishing this step and writing a checkpoint (press Ctrl-C again to quit at once)`);
  };
  const onInt = () => onSignal('SIGINT'),
    onTerm = () => onSignal('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  try {
    const r = await trainRecovering(
      options,
      {
        log: (l) => console.log(l),
        warn: (l) => console.error(`warning: ${l}`),
        stopRequested: () => stop,
      },
      { retries: deviceRetries, createEngine: env.createEngine },
    );
    if (r.interrupted) {
      console.error(
        `interrupted at step ${r.state.step}: checkpoint written to ${r.checkpoint}; continue with --resume ${options.out}`,
      );
      return 130;
    }
    console.log(
      `done: ${r.state.step} steps in ${fmtTime(r.wallMs / 1000)} (${r.imagesPerSecond.toFixed(1)} img/s); weights ${r.final}, checkpoint ${r.checkpoint}`,
    );
    return 0;
  } finally {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  }
}
