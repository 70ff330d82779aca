// `alexnet-wgsl bench --profile`: one training step broken down by op, so a user sees where the
// time goes on their adapter; `alexnet-wgsl bench kernels`: any conv or GEMM shape, validated, then
// every variant the autotuner would consider timed (src/microbench/kernels.ts). (The full suite, with
// roofs and peers, is `npm run bench` in a clone.)
import { writeFileSync } from 'node:fs';
import { benchConv, benchGemm, type ConvShape, formatKernelReports } from '../microbench/kernels.js';
import { autotuneFlag, flag, helpText, parseArgs, UsageError } from './args.js';
import { formatProfile, profileStep } from '../train/profile.js';
import { ARCH_NAMES } from '../models/spec.js';
import type { CliEnv } from './env.js';

const flags = {
  profile: flag.boolean('profile one training step by layer and direction (timestamp queries)'),
  arch: flag.choice('network', ARCH_NAMES, 'mini'),
  'batch-size': flag.int('images per step', 128, { min: 1 }),
  classes: flag.intOpt('classes (default: 10 for mini, 1000 for the others)', { min: 2 }),
  json: flag.boolean('print the profile as JSON'),
  autotune: autotuneFlag,
  help: flag.boolean('show this help'),
};

/** "N,C,H,W,O,K,S,P,G" → ConvShape. */
function parseConvSpec(spec: string): ConvShape {
  const v = spec.split(',').map(Number);
  if (v.length !== 9 || !v.every((x) => Number.isInteger(x) && x >= 0))
    throw new UsageError(`--conv ${spec}: expected N,C,H,W,O,K,S,P,G (nine non-negative integers)`);
  const [n, c, h, w, o, k, s, p, g] = v;
  return { n, c, h, w, o, k, s, p, g };
}

function parseGemmSpec(spec: string): { M: number; N: number; K: number } {
  const v = spec.split(',').map(Number);
  if (v.length !== 3 || !v.every((x) => Number.isInteger(x) && x > 0))
    throw new UsageError(`--gemm ${spec}: expected M,N,K (three positive integers)`);
  return { M: v[0], N: v[1], K: v[2] };
}

const kernelFlags = {
  conv: flag.string('a convolution N,C,H,W,O,K,S,P,G (empty: none)', '8,64,27,27,192,5,1,2,1'),
  gemm: flag.string('a product M,N,K (empty: none)', '1024,1024,1024'),
  reps: flag.int('timed rounds per variant', 5, { min: 1 }),
  json: flag.stringOpt('also write the reports to this JSON file'),
  help: flag.boolean('show this help'),
};

async function kernelsCommand(argv: string[], env: CliEnv): Promise<number> {
  const { flags: f, positional } = parseArgs(argv, kernelFlags);
  if (f.help) {
    console.log(helpText('bench kernels', 'validate, then time every variant of a conv or GEMM shape', kernelFlags));
    return 0;
  }
  if (positional.length) throw new UsageError(`bench kernels takes no positional arguments, got '${positional[0]}'`);
  const conv = f.conv ? parseConvSpec(f.conv) : undefined,
    gemm = f.gemm ? parseGemmSpec(f.gemm) : undefined;
  if (!conv && !gemm) throw new UsageError('bench kernels: give --conv or --gemm');
  const engine = await env.createEngine({ autotune: 'off' });
  try {
    const a = engine.info().adapter;
    console.log(`on ${`${a.vendor} ${a.architecture} ${a.description}`.trim()}, ${f.reps} rounds per variant`);
    const reports = [
      ...(conv ? await benchConv(engine, conv, f.reps) : []),
      ...(gemm ? [await benchGemm(engine, gemm, f.reps)] : []),
    ];
    console.log(formatKernelReports(reports));
    if (f.json) writeFileSync(f.json, `${JSON.stringify({ adapter: a, reports }, null, 1)}\n`);
    return 0;
  } finally {
    engine.dispose();
  }
}

export async function benchCommand(argv: string[], env: CliEnv): Promise<number> {
  if (argv[0] === 'kernels') return kernelsCommand(argv.slice(1), env);
  const { flags: f } = parseArgs(argv, flags);
  if (f.help) {
    console.log(helpText('bench', 'profile a training step', flags));
    return 0;
  }
  if (!f.profile) throw new UsageError('bench needs --profile or the word kernels (the full suite is `npm run bench`)');
  const classes = f.classes ?? (f.arch === 'mini' ? 10 : 1000);
  const engine = await env.createEngine({ autotune: f.autotune });
  try {
    const p = await profileStep(engine, f.arch, f.batchSize, classes, 1, (l) => console.error(l));
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
