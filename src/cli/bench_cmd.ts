// `alexnet-wgsl bench --profile`: one training step broken down by op, so a user sees where the
// time goes on their adapter. (The full kernel benchmark suite is `npm run bench`.)
import { flag, helpText, parseArgs, UsageError } from './args.js';
import { formatProfile, profileStep } from '../train/profile.js';
import { ARCH_NAMES } from '../models/spec.js';
import type { CliEnv } from './env.js';

const flags = {
  profile: flag.boolean('profile one training step by layer and direction (timestamp queries)'),
  arch: flag.choice('network', ARCH_NAMES, 'mini'),
  'batch-size': flag.int('images per step', 128, { min: 1 }),
  classes: flag.intOpt('classes (default: 10 for mini, 1000 for the others)', { min: 2 }),
  json: flag.boolean('print the profile as JSON'),
  help: flag.boolean('show this help'),
};

export async function benchCommand(argv: string[], env: CliEnv): Promise<number> {
  const { flags: f } = parseArgs(argv, flags);
  if (f.help) {
    console.log(helpText('bench', 'profile a training step', flags));
    return 0;
  }
  if (!f.profile) throw new UsageError('bench needs --profile (the kernel benchmark suite is `npm run bench`)');
  const classes = f.classes ?? (f.arch === 'mini' ? 10 : 1000);
  const engine = await env.createEngine();
  try {
    const p = await profileStep(engine, f.arch, f.batchSize, classes);
    const info = engine.info().adapter;
    console.log(
      f.json
        ? JSON.stringify(p, null, 2)
        : formatProfile(
            p,
            `${f.arch}, batch ${f.batchSize}, one training step on ${info.vendor} ${info.architecture} ${info.description}`.trim(),
          ),
    );
    return 0;
  } finally {
    engine.dispose();
  }
}
