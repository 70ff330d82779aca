// `alexnet-wgsl eval`: top-1 and top-5 error of a checkpoint on a dataset's validation split,
// from the centre crop and from the paper's 10-crop average.
import { flag, helpText, parseArgs, UsageError, workersFlag } from './args.js';
import { openData, type OpenedData } from '../node/data/source.js';
import { openModel } from '../node/files/checkpoint.js';
import { evaluate } from '../train/evaluate.js';
import { ARCH_NAMES } from '../models/spec.js';
import type { CliEnv } from './env.js';

const flags = {
  arch: flag.choiceOpt('network (checked against the checkpoint)', ARCH_NAMES),
  checkpoint: flag.stringOpt('weights (safetensors)'),
  data: flag.string('dataset; its validation split is used (else train)', 'fashion-mnist'),
  'batch-size': flag.int('images per batch', 100, { min: 1 }),
  limit: flag.intOpt('evaluate only the first N images', { min: 1 }),
  'ten-crop': flag.boolean('also the 10-crop average (--no-ten-crop)', true),
  workers: workersFlag,
  help: flag.boolean('show this help'),
};

export async function evalCommand(argv: string[], env: CliEnv): Promise<number> {
  const { flags: f } = parseArgs(argv, flags);
  if (f.help) {
    console.log(helpText('eval', 'top-1/top-5 error of a checkpoint', flags));
    return 0;
  }
  if (!f.checkpoint) throw new UsageError('eval needs --checkpoint FILE');
  const engine = await env.createEngine();
  let data: OpenedData | undefined;
  try {
    const { model, meta } = await openModel(engine, f.checkpoint, f.arch);
    const warn = (w: string) => console.error(`warning: ${w}`);
    data = await openData(f.data, { warn, resample: model.arch.resample, workers: f.workers });
    const set = data.val ?? data.train;
    const mean = Float32Array.from(meta.mean);
    const scale = set.pixels ? meta.pixelScale : 1,
      std = meta.std;
    const rows: Array<[string, { top1Error: number; top5Error: number; samples: number }]> = [];
    rows.push([
      'centre crop',
      await evaluate(model, set, { batchSize: f.batchSize, mean, scale, std, tenCrop: false, limit: f.limit }),
    ]);
    if (f.tenCrop)
      rows.push([
        '10-crop',
        await evaluate(model, set, {
          batchSize: Math.max(1, Math.floor(f.batchSize / 10)),
          mean,
          scale,
          std,
          tenCrop: true,
          limit: f.limit,
        }),
      ]);
    console.log(`${meta.arch} on ${set.name} (${rows[0][1].samples} images)`);
    for (const [name, r] of rows)
      console.log(
        `  ${name.padEnd(12)} top-1 error ${(100 * r.top1Error).toFixed(2)}%   top-5 error ${(100 * r.top5Error).toFixed(2)}%`,
      );
    model.dispose();
    return 0;
  } finally {
    await data?.close();
    engine.dispose();
  }
}
