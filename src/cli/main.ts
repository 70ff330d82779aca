// The alexnet-wgsl command line as a function: cli(argv, env) runs a command and returns its exit
// code (bin.ts is the executable). Bad input (unknown flag, malformed file) prints one line naming
// the problem and is 2; another of our errors (a device lost, a checkpoint that cannot be written)
// is 1; Ctrl-C during training checkpoints and is 130 (a second Ctrl-C exits at once).
import { AlexnetError, FormatError, ShapeError } from '../errors.js';
import { UsageError } from './args.js';
import { trainCommand } from './train_cmd.js';
import { evalCommand } from './eval_cmd.js';
import { predictCommand } from './predict_cmd.js';
import { neighborsCommand } from './neighbors_cmd.js';
import { infoCommand } from './info_cmd.js';
import { benchCommand } from './bench_cmd.js';
import { prepareCommand } from './prepare_cmd.js';
import { experimentCommand } from './experiment_cmd.js';
import { tuneCommand } from './tune_cmd.js';
import { defaultEnv, type CliEnv } from './env.js';

const commands: Record<string, (argv: string[], env: CliEnv) => Promise<number>> = {
  train: trainCommand,
  eval: evalCommand,
  predict: predictCommand,
  neighbors: neighborsCommand,
  info: infoCommand,
  bench: benchCommand,
  prepare: prepareCommand,
  experiment: experimentCommand,
  tune: tuneCommand,
};

const usage = `usage: alexnet-wgsl <command> [flags]

commands:
  train       train a model (default: mini on Fashion-MNIST)
  eval        top-1/top-5 error of a checkpoint, centre crop and 10-crop
  predict     top-5 labels of images (and a picture), or logits of an .npy batch
  neighbors   nearest training images in fc7 feature space (the paper's figure 4, right)
  info        the WebGPU adapter, its limits and features
  bench       --profile: one training step broken down by op; kernels: time any conv/GEMM shape's variants
  tune        time the kernel variants of a training step on this adapter, keep the fastest
  experiment  NAME|all: one of the paper's claims, trained and decided (--quick: seconds)
  prepare     DIR OUT: an ImageFolder as shards of 256×256 crops (raw or JPEG) for fast training

'alexnet-wgsl <command> --help' lists a command's flags.`;

/** Run the command line `argv` (without node and the script) against `env`; resolves to the exit code. */
export async function cli(argv: readonly string[], env: CliEnv = defaultEnv): Promise<number> {
  try {
    return await dispatch(argv, env);
  } catch (e) {
    if (e instanceof UsageError || e instanceof FormatError || e instanceof ShapeError) {
      console.error(`alexnet-wgsl: ${(e as Error).message}`);
      return 2;
    }
    console.error(e instanceof AlexnetError ? `alexnet-wgsl: ${e.name}: ${e.message}` : e);
    return 1;
  }
}

async function dispatch([cmd, ...rest]: readonly string[], env: CliEnv): Promise<number> {
  if (!cmd || cmd === '--help' || cmd === '-h') {
    console.log(usage);
    return cmd ? 0 : 2;
  }
  const run = commands[cmd];
  if (!run) {
    console.error(`alexnet-wgsl: unknown command '${cmd}'\n${usage}`);
    return 2;
  }
  return run(rest, env);
}
