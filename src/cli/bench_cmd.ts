// `alexnet-wgsl bench --profile`: one training step broken down by op, so a user sees where the
// time goes on their adapter. (The full kernel benchmark suite is `npm run bench`.)
import { helpText, parseArgs, UsageError, type FlagSpecs } from './args.js';
import { createEngine } from '../node/dawn.js';
import { formatProfile, profileStep } from '../train/profile.js';
import type { ArchName } from '../models/spec.js';

const flags: FlagSpecs = {
  profile: { type: 'boolean', help: 'profile one training step by layer and direction (timestamp queries)' },
  arch: { type: 'string', default: 'mini', choices: ['mini', 'paper', 'torchvision'], help: 'network' },
  'batch-size': { type: 'int', default: 128, help: 'images per step' },
  classes: { type: 'int', default: 1000, help: 'classes (mini: 10 unless given)' },
  json: { type: 'boolean', help: 'print the profile as JSON' },
  help: { type: 'boolean', help: 'show this help' },
};

export async function benchCommand(argv: string[]): Promise<number> {
  const { flags: f } = parseArgs(argv, flags);
  if (f.help) { console.log(helpText('bench', 'profile a training step', flags)); return 0; }
  if (!f.profile) throw new UsageError('bench needs --profile (the kernel benchmark suite is `npm run bench`)');
  const classes = f.arch === 'mini' && !argv.some((a) => a.startsWith('--classes')) ? 10 : f.classes;
  const engine = await createEngine();
  try {
    const p = await profileStep(engine, f.arch as ArchName, f.batchSize, classes);
    const info = engine.info().adapter;
    console.log(f.json ? JSON.stringify(p, null, 2) : formatProfile(p, `${f.arch}, batch ${f.batchSize}, one training step on ${info.vendor} ${info.architecture} ${info.description}`.trim()));
    return 0;
  } finally {
    engine.dispose();
  }
}
