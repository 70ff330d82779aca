// `alexnet-wgsl predict`: top-5 labels with probabilities for image files plus a picture like the
// paper's figure 4 (left); or, with --input X.npy --output Y.npy, raw logits of an N×C×H×W batch.
import { flag, helpText, parseArgs, UsageError } from './args.js';
import { FormatError, ShapeError, fmtShape } from '../errors.js';
import { readNpy, writeNpy } from '../node/files/npy.js';
import { openModel } from '../node/files/checkpoint.js';
import { prepareImage } from '../node/data/images.js';
import { softmax } from '../ops/softmax.js';
import { predictionFigure } from '../node/pictures/index.js';
import { tensor } from '../tensor/create.js';
import { tidy } from '../tidy.js';
import { topk } from '../train/metrics.js';
import type { Model } from '../models/model.js';
import type { ModelMeta } from '../checkpoint/checkpoint.js';
import { ARCH_NAMES } from '../models/spec.js';
import type { CliEnv } from './env.js';

const flags = {
  arch: flag.choiceOpt('network (checked against the checkpoint)', ARCH_NAMES),
  checkpoint: flag.stringOpt('weights (safetensors)'),
  input: flag.stringOpt('float32 .npy N×C×H×W, taken as given (no preprocessing)'),
  output: flag.stringOpt('with --input: write float32 N×classes logits here (.npy)'),
  figure: flag.string('picture of the images with their top-5 bars', 'predictions.png'),
  'batch-size': flag.int('images per batch for --input', 32, { min: 1 }),
  help: flag.boolean('show this help'),
};

export async function predictCommand(argv: string[], env: CliEnv): Promise<number> {
  const { flags: f, positional } = parseArgs(argv, flags);
  if (f.help) {
    console.log(helpText('predict', 'classify images', flags));
    return 0;
  }
  if (!f.checkpoint) throw new UsageError('predict needs --checkpoint FILE');
  if (f.input ? !f.output : !positional.length)
    throw new UsageError('predict needs IMAGE... or --input X.npy --output Y.npy');
  const engine = await env.createEngine();
  try {
    const { model, meta } = await openModel(engine, f.checkpoint, f.arch);
    try {
      return f.input
        ? await logitsOfArray(model, meta, f.input, f.output!, f.batchSize)
        : await imageFiles(model, meta, positional, f.figure);
    } finally {
      model.dispose();
    }
  } finally {
    engine.dispose();
  }
}

/** --input X.npy --output Y.npy: the logits of an N×C×H×W float32 batch, taken as given. */
async function logitsOfArray(
  model: Model,
  meta: ModelMeta,
  input: string,
  output: string,
  batchSize: number,
): Promise<number> {
  const x = await readNpy(input);
  const [n, c, h, w] = x.shape;
  if (
    x.dtype !== '<f4' ||
    x.shape.length !== 4 ||
    c !== meta.channels ||
    h !== meta.inputSize ||
    w !== meta.inputSize
  ) {
    throw new ShapeError(
      `${input}: ${x.dtype} ${fmtShape(x.shape)}, expected float32 [N,${meta.channels},${meta.inputSize},${meta.inputSize}]`,
    );
  }
  const out = new Float32Array(n * meta.classes);
  const per = c * h * w;
  for (let s = 0; s < n; s += batchSize) {
    const m = Math.min(batchSize, n - s);
    const batch = (x.data as Float32Array).subarray(s * per, (s + m) * per);
    const logits = tidy(model.engine, () =>
      model.forward(tensor(model.engine, batch, [m, c, h, w]), { training: false }),
    );
    out.set(await logits.readF32(), s * meta.classes);
    logits.dispose();
  }
  await writeNpy(output, out, [n, meta.classes]);
  console.log(`wrote ${output}: float32 [${n},${meta.classes}] logits`);
  return 0;
}

/**
 * IMAGE...: the top-5 of every readable file and the picture of them; an unreadable file is named
 * with the reason and the others are still predicted; exit 2 if any failed.
 */
async function imageFiles(model: Model, meta: ModelMeta, paths: string[], figure: string): Promise<number> {
  const items = [],
    failed: string[] = [];
  for (const path of paths) {
    let p: Awaited<ReturnType<typeof prepareImage>>;
    try {
      p = await prepareImage(path, meta, model.arch);
    } catch (e) {
      if (!(e instanceof FormatError)) throw e;
      console.error(`alexnet-wgsl: ${e.message}`);
      failed.push(path);
      continue;
    }
    const s = meta.inputSize;
    const probs = tidy(model.engine, () =>
      softmax(model.forward(tensor(model.engine, p.input, [1, meta.channels, s, s]), { training: false })),
    );
    const pr = await probs.readF32();
    probs.dispose();
    const top5 = Array.from(topk(pr, meta.classes, Math.min(5, meta.classes)), (k) => ({
      label: meta.classNames?.[k] ?? `class ${k}`,
      p: pr[k],
    }));
    console.log(`${path}\n${top5.map((t) => `  ${(100 * t.p).toFixed(1).padStart(5)}%  ${t.label}`).join('\n')}`);
    items.push({ ...p.display, top5 });
  }
  if (items.length) {
    await predictionFigure(figure, items);
    console.log(`picture: ${figure}`);
  }
  if (!failed.length) return 0;
  console.error(`alexnet-wgsl: ${failed.length} of ${paths.length} image(s) could not be read: ${failed.join(', ')}`);
  return 2;
}
