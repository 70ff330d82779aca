// `alexnet-wgsl tune --arch A --batch-size B`: time the kernel variants of A's training step at batch
// B on this adapter ahead of training, print the table (shape, each candidate's time, the winner)
// and store the winners where training looks for them.
import { autotuneFlag, flag, helpText, parseArgs, UsageError } from './args.js';
import { ARCH_NAMES } from '../models/spec.js';
import { Model } from '../models/model.js';
import { queueStepShapes, tuneQueued } from '../train/tune.js';
import { tuneCacheDir } from '../node/tune_cache.js';
import type { CliEnv } from './env.js';

const flags = {
  arch: flag.choice('network', ARCH_NAMES, 'mini'),
  'batch-size': flag.int('images per step', 128, { min: 1 }),
  classes: flag.intOpt('classes (default: 10 for mini, 1000 for the others)', { min: 2 }),
  autotune: { ...autotuneFlag, default: 'full' as const },
  help: flag.boolean('show this help'),
};

export async function tuneCommand(argv: string[], env: CliEnv): Promise<number> {
  const { flags: f, positional } = parseArgs(argv, flags);
  if (f.help) {
    console.log(
      helpText('tune', 'time the kernel variants of a training step on this adapter and keep the fastest', flags),
    );
    return 0;
  }
  if (positional.length) throw new UsageError(`tune takes no positional arguments, got '${positional[0]}'`);
  if (f.autotune === 'off') throw new UsageError('tune --autotune off would tune nothing (use cached or full)');
  const engine = await env.createEngine({ autotune: f.autotune });
  try {
    const a = engine.info().adapter;
    console.log(
      `tuning ${f.arch} at batch ${f.batchSize} on ${`${a.vendor} ${a.architecture} ${a.description}`.trim()}`,
    );
    const model = new Model(engine, f.arch, { classes: f.classes ?? (f.arch === 'mini' ? 10 : 1000), seed: 1 });
    queueStepShapes(model, f.batchSize);
    const rows = await tuneQueued(engine, (l) => console.log(l));
    await engine.sync();
    model.dispose();
    const changed = rows.filter((r) => r.winner !== r.trials[0].label).length;
    console.log(
      rows.length
        ? `${rows.length} shapes tuned, ${changed} with another variant than the default; winners stored in ${tuneCacheDir()}/autotune.json`
        : `every shape already had a stored winner (${tuneCacheDir()}/autotune.json); --autotune full times them again`,
    );
    return 0;
  } finally {
    engine.dispose();
  }
}
