// A model from checkpoint bytes: our checkpoints carry their arch, classes and preprocessing; a
// weights-only file (e.g. converted from PyTorch) needs the arch and gets the arch's fixed
// normalisation (torchvision: pixels/255, then ImageNet mean and std, as torchvision's transforms)
// or else zero mean (inputs are then taken at the arch's pixel scale).
import { FormatError } from '../errors.js';
import type { Engine } from '../gpu/engine.js';
import { decodeSafetensors, type Safetensors } from '../formats/safetensors.js';
import { Model } from '../models/model.js';
import { archOf, firstLayerName, fixedNormalization, lastLayerName, type Arch } from '../models/spec.js';
import { parseCheckpoint, weightsOnly, type ModelMeta } from './checkpoint.js';

/**
 * Build the model a checkpoint (or weights-only file) describes and load its weights. `source` names
 * it in errors; `arch` (a built-in name or a layer table) is checked against the checkpoint's, and is
 * required for weights-only files and for checkpoints of archs that are not built in.
 */
export function loadModel(
  engine: Engine,
  input: Safetensors | Uint8Array,
  source: string,
  arch?: Arch | string,
): { model: Model; meta: ModelMeta } {
  const file = input instanceof Uint8Array ? decodeSafetensors(input, source) : input;
  const table = arch === undefined ? undefined : archOf(arch);
  let meta: ModelMeta, weights: Map<string, { shape: number[]; data: Float32Array }>;
  if (file.metadata.meta !== undefined) {
    const ck = parseCheckpoint(file, source, table);
    if (table && ck.meta.arch !== table.name)
      throw new FormatError(`${source}: a checkpoint of arch ${ck.meta.arch}, not ${table.name}`);
    meta = ck.meta;
    weights = ck.weights;
  } else {
    if (!table) throw new FormatError(`${source}: weights without alexnet-wgsl metadata; say which arch they are`);
    const last = `${lastLayerName(table)}.bias`;
    const classes = file.tensors[last]?.shape[0];
    if (!classes) throw new FormatError(`${source}: tensor "${last}" is missing: not weights of ${table.name}`);
    const channels = file.tensors[`${firstLayerName(table)}.weight`]?.shape[1] ?? table.channels;
    const fixed = fixedNormalization(table, channels);
    meta = {
      arch: table.name,
      classes,
      channels,
      inputSize: table.inputSize,
      mean: fixed?.mean ?? new Array(channels).fill(0),
      pixelScale: table.pixelScale,
      std: fixed?.std,
    };
    weights = weightsOnly(file, source);
  }
  const model = new Model(engine, table ?? archOf(meta.arch), {
    classes: meta.classes,
    channels: meta.channels,
    inputSize: meta.inputSize,
  });
  try {
    model.load(weights, source);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return { model, meta };
}
