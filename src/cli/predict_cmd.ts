// `alexnet-wgsl predict`: top-5 labels with probabilities for image files plus a picture like the
// paper's figure 4 (left); or, with --input X.npy --output Y.npy, raw logits of an N×C×H×W batch.
import { helpText, parseArgs, UsageError, type FlagSpecs } from './args.js';
import { createEngine } from '../node/dawn.js';
import { ShapeError, fmtShape } from '../errors.js';
import { readNpy, writeNpy } from '../node/files/npy.js';
import { openModel } from '../node/files/checkpoint.js';
import { prepareImage } from '../node/data/images.js';
import { softmax } from '../ops/softmax.js';
import { predictionFigure } from '../node/pictures/index.js';
import { Tensor } from '../tensor/tensor.js';
import type { ArchName } from '../models/spec.js';

const flags: FlagSpecs = {
  arch: { type: 'string', choices: ['mini', 'paper', 'torchvision'], help: 'network (checked against the checkpoint)' },
  checkpoint: { type: 'string', help: 'weights (safetensors)' },
  input: { type: 'string', help: 'float32 .npy N×C×H×W, taken as given (no preprocessing)' },
  output: { type: 'string', help: 'with --input: write float32 N×classes logits here (.npy)' },
  figure: { type: 'string', default: 'predictions.png', help: 'picture of the images with their top-5 bars' },
  'batch-size': { type: 'int', default: 32, help: 'images per batch for --input' },
  help: { type: 'boolean', help: 'show this help' },
};

export async function predictCommand(argv: string[]): Promise<number> {
  const { flags: f, positional } = parseArgs(argv, flags);
  if (f.help) { console.log(helpText('predict', 'classify images', flags)); return 0; }
  if (!f.checkpoint) throw new UsageError('predict needs --checkpoint FILE');
  if (f.input ? !f.output : !positional.length) throw new UsageError('predict needs IMAGE... or --input X.npy --output Y.npy');
  const engine = await createEngine();
  try {
    const { model, meta } = await openModel(engine, f.checkpoint, f.arch as ArchName | undefined);
    if (f.input) {
      const x = await readNpy(f.input);
      const [n, c, h, w] = x.shape;
      if (x.dtype !== '<f4' || x.shape.length !== 4 || c !== meta.channels || h !== meta.inputSize || w !== meta.inputSize) {
        throw new ShapeError(`${f.input}: ${x.dtype} ${fmtShape(x.shape)}, expected float32 [N,${meta.channels},${meta.inputSize},${meta.inputSize}]`);
      }
      const out = new Float32Array(n * meta.classes);
      const per = c * h * w;
      for (let s = 0; s < n; s += f.batchSize) {
        const m = Math.min(f.batchSize, n - s);
        const t = new Tensor(engine, [m, c, h, w]).write((x.data as Float32Array).subarray(s * per, (s + m) * per));
        const logits = model.forward(t, { training: false });
        out.set((await logits.read()) as Float32Array, s * meta.classes);
        t.dispose(); logits.dispose();
      }
      await writeNpy(f.output, out, [n, meta.classes]);
      console.log(`wrote ${f.output}: float32 [${n},${meta.classes}] logits`);
    } else {
      const items = [];
      for (const path of positional) {
        const p = await prepareImage(path, meta, model.arch);
        const t = new Tensor(engine, [1, meta.channels, meta.inputSize, meta.inputSize]).write(p.input);
        const logits = model.forward(t, { training: false });
        const probs = softmax(logits);
        const pr = (await probs.read()) as Float32Array;
        t.dispose(); logits.dispose(); probs.dispose();
        const top5 = [...pr.keys()].sort((a, b) => pr[b] - pr[a]).slice(0, 5).map((k) => ({ label: meta.classNames?.[k] ?? `class ${k}`, p: pr[k] }));
        console.log(`${path}\n${top5.map((t) => `  ${(100 * t.p).toFixed(1).padStart(5)}%  ${t.label}`).join('\n')}`);
        items.push({ ...p.display, top5 });
      }
      await predictionFigure(f.figure, items);
      console.log(`picture: ${f.figure}`);
    }
    model.dispose();
    return 0;
  } finally {
    engine.dispose();
  }
}
