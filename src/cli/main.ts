#!/usr/bin/env node
// The alexnet-wgsl command line: train, eval, predict, neighbors, info. Bad input (unknown flag,
// malformed file) prints one line naming the problem and exits 2; Ctrl-C during training
// checkpoints and exits 130 (a second Ctrl-C exits at once).
import { AlexnetError, FormatError, ShapeError } from '../errors.js';
import { UsageError } from './args.js';
import { trainCommand } from './train_cmd.js';
import { evalCommand } from './eval_cmd.js';
import { predictCommand } from './predict_cmd.js';
import { neighborsCommand } from './neighbors_cmd.js';
import { infoCommand } from './info_cmd.js';
import { benchCommand } from './bench_cmd.js';

const commands: Record<string, (argv: string[]) => Promise<number>> = {
  train: trainCommand,
  eval: evalCommand,
  predict: predictCommand,
  neighbors: neighborsCommand,
  info: infoCommand,
  bench: benchCommand,
};

const usage = `usage: alexnet-wgsl <command> [flags]

commands:
  train       train a model (default: mini on Fashion-MNIST)
  eval        top-1/top-5 error of a checkpoint, centre crop and 10-crop
  predict     top-5 labels of images (and a picture), or logits of an .npy batch
  neighbors   nearest training images in fc7 feature space (the paper's figure 4, right)
  info        the WebGPU adapter, its limits and features
  bench       --profile: one training step broken down by op

'alexnet-wgsl <command> --help' lists a command's flags.`;

async function main(): Promise<number> {
  const [cmd, ...rest] = process.argv.slice(2);
  if (!cmd || cmd === '--help' || cmd === '-h') {
    console.log(usage);
    return cmd ? 0 : 2;
  }
  const run = commands[cmd];
  if (!run) {
    console.error(`alexnet-wgsl: unknown command '${cmd}'\n${usage}`);
    return 2;
  }
  return run(rest);
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    if (e instanceof UsageError || e instanceof FormatError || e instanceof ShapeError) {
      console.error(`alexnet-wgsl: ${(e as Error).message}`);
      process.exitCode = 2;
    } else if (e instanceof AlexnetError) {
      console.error(`alexnet-wgsl: ${e.name}: ${e.message}`);
      process.exitCode = 1;
    } else {
      console.error(e);
      process.exitCode = 1;
    }
  },
);
