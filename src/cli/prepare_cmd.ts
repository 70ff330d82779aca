// `alexnet-wgsl prepare DIR OUT`: an ImageFolder tree decoded once into shards of the paper's 256×256
// centre crops (raw or JPEG), which `train --data OUT` then reads instead of decoding every epoch.
import { flag, helpText, parseArgs, UsageError, workersFlag } from './args.js';
import { DecodePool } from '../node/data/decode_pool.js';
import { prepareDataset } from '../node/data/prepare.js';
import type { CliEnv } from './env.js';

const flags = {
  format: flag.choice('how the shards store images', ['raw', 'jpeg'], 'raw'),
  quality: flag.int('JPEG quality (with --format jpeg)', 90, { min: 1, max: 100 }),
  // ≤ 16384 keeps a raw shard under 4 GiB, the records' u32 offsets
  'shard-images': flag.int('source images per shard file', 1024, { min: 1, max: 16384 }),
  resample: flag.choice('resize filter (bilinear is the closest to torchvision)', ['lanczos3', 'bilinear'], 'lanczos3'),
  workers: workersFlag,
  help: flag.boolean('show this help'),
};

export async function prepareCommand(argv: string[], env: CliEnv): Promise<number> {
  const { flags: f, positional } = parseArgs(argv, flags);
  if (f.help) {
    console.log(helpText('prepare DIR OUT', 'an ImageFolder tree as shards of 256×256 crops', flags));
    return 0;
  }
  if (positional.length !== 2) throw new UsageError('prepare needs DIR (an ImageFolder tree) and OUT (a folder)');
  const [src, out] = positional;
  const pool = f.workers === 0 ? undefined : new DecodePool(f.workers);
  const s = await prepareDataset(src, out, {
    // two files per thread in flight keep every thread busy while a result travels back
    ...(pool && {
      decode: (file: string) => pool.decode(file, 256, undefined, f.resample),
      concurrency: 2 * pool.workers,
    }),
    encoding: f.format,
    quality: f.quality,
    shardImages: f.shardImages,
    resample: f.resample,
    fs: env.fs,
    progress: process.stderr,
    warn: (m) => console.error(`warning: ${m}`),
  }).finally(() => pool?.close());
  for (const [name, sp] of Object.entries(s.splits))
    console.log(`${name}: ${sp.images} images in ${sp.shards} shard(s), ${(sp.bytes / 1e6).toFixed(1)} MB`);
  const reused = s.reused.length ? ` (${s.reused.length} shard(s) kept from an earlier run)` : '';
  console.log(
    `prepared ${out}${reused}: ${s.skipped.length} skipped, ${s.seconds.toFixed(1)} s, ${(s.decoded / Math.max(s.seconds, 1e-3)).toFixed(0)} img/s`,
  );
  return 0;
}
