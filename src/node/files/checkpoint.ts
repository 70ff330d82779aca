// Checkpoint files: written atomically with a checksum (the old file stays whole if anything fails),
// read and verified, and models opened from them for eval/predict/neighbors. The format is the
// core's (checkpoint/checkpoint.ts).
import type { Engine } from '../../gpu/engine.js';
import type { Model } from '../../models/model.js';
import type { Arch } from '../../models/spec.js';
import type { SGD } from '../../optim.js';
import {
  checkpointContents,
  parseCheckpoint,
  weightsOnly,
  type Checkpoint,
  type ModelMeta,
  type RunState,
} from '../../checkpoint/checkpoint.js';
import { loadModel } from '../../checkpoint/load_model.js';
import { decodeParameters, parameterTensors } from '../../models/params.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { AtomicFs } from './atomic.js';
import { readSafetensors, writeSafetensors } from './safetensors.js';

/**
 * Write model weights (and optimizer velocities and run state) to `path`, atomically. Non-finite
 * values are refused with a NumericalError before anything is written. A failed write is a
 * CheckpointWriteError; the old file stays. `fs` substitutes the file-system calls (tests make writes fail through it).
 */
export async function saveCheckpoint(
  path: string,
  model: Model,
  meta: ModelMeta,
  opt?: SGD,
  state?: RunState,
  fs?: AtomicFs,
): Promise<void> {
  const { tensors, metadata } = await checkpointContents(path, model, meta, opt, state);
  await writeSafetensors(path, tensors, metadata, fs);
}

/** Read and check a checkpoint file (`arch`: the layer table of an arch that is not built in). */
export async function loadCheckpoint(path: string, arch?: Arch): Promise<Checkpoint> {
  return parseCheckpoint(await readSafetensors(path), path, arch);
}

/** The weights of a weights-only file (e.g. converted from PyTorch by scripts/torch2safetensors.py). */
export async function loadWeightsOnly(path: string): Promise<Map<string, { shape: number[]; data: Float32Array }>> {
  return weightsOnly(await readSafetensors(path), path);
}

/** The model a checkpoint or weights-only file holds (see loadModel). */
export async function openModel(
  engine: Engine,
  path: string,
  arch?: Arch | string,
): Promise<{ model: Model; meta: ModelMeta }> {
  return loadModel(engine, await readSafetensors(path), path, arch);
}

/** Save named parameters (a net built without a Model) as a safetensors file, atomically. */
export async function saveParameters(
  path: string,
  params: readonly Tensor[],
  metadata: Record<string, string> = {},
  fs?: AtomicFs,
): Promise<void> {
  await writeSafetensors(path, await parameterTensors(params), metadata, fs);
}

/** Load a safetensors file into named parameters (every one must be there with its shape). */
export async function loadParameters(path: string, params: readonly Tensor[]): Promise<void> {
  decodeParameters(params, await readSafetensors(path), path);
}
