// Opens a model from a checkpoint or a weights-only safetensors file for eval/predict/neighbors.
import { FormatError } from '../errors.js';
import type { Engine } from '../gpu/engine.js';
import { readSafetensors } from '../checkpoint/safetensors.js';
import { Model } from '../models/model.js';
import { archs, fixedNormalization, type ArchName } from '../models/spec.js';
import { parseCheckpoint, type ModelMeta } from './checkpoint.js';

/**
 * Our checkpoints carry their arch, classes and preprocessing; a weights-only file (e.g. converted
 * from PyTorch) needs --arch and gets the arch's fixed normalisation (torchvision: pixels/255, then
 * ImageNet mean and std, as torchvision's transforms) or else zero mean (inputs are then taken as the
 * arch's pixel scale).
 */
export async function openModel(engine: Engine, path: string, arch?: ArchName): Promise<{ model: Model; meta: ModelMeta }> {
  const file = await readSafetensors(path);
  let meta: ModelMeta;
  let weights;
  if (file.metadata.meta !== undefined) {
    const ck = parseCheckpoint(file, path);
    if (arch && ck.meta.arch !== arch) throw new FormatError(`${path}: a checkpoint of arch ${ck.meta.arch}, not ${arch}`);
    meta = ck.meta;
    weights = ck.weights;
  } else {
    if (!arch) throw new FormatError(`${path}: weights without alexnet-wgsl metadata; say which --arch they are`);
    const last = arch === 'torchvision' ? 'classifier.6.bias' : 'fc8.bias';
    const classes = file.tensors[last]?.shape[0];
    if (!classes) throw new FormatError(`${path}: tensor "${last}" is missing: not weights of ${arch}`);
    const first = file.tensors[arch === 'torchvision' ? 'features.0.weight' : 'conv1.weight'];
    const a = archs[arch];
    const channels = first?.shape[1] ?? a.channels;
    const fixed = fixedNormalization(a, channels);
    meta = { arch, classes, channels, inputSize: a.inputSize, mean: fixed?.mean ?? new Array(channels).fill(0), pixelScale: a.pixelScale, std: fixed?.std };
    weights = new Map(Object.entries(file.tensors).map(([k, t]) => [k, { shape: t.shape, data: t.data as Float32Array }]));
  }
  const model = new Model(engine, meta.arch, { classes: meta.classes, channels: meta.channels, inputSize: meta.inputSize });
  try {
    model.load(weights, path);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return { model, meta };
}
