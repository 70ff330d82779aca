// Checkpoints of a model (and optionally its optimizer and run state) as safetensors files:
// weights under their PyTorch names, velocities under `momentum.<name>`, the run state and the
// preprocessing (mean, class names) as string metadata. Written atomically with a checksum.
import { FormatError } from '../errors.js';
import { readSafetensors, writeSafetensors, type NamedTensor, type Safetensors } from '../checkpoint/safetensors.js';
import type { Model } from '../models/model.js';
import type { SGD } from '../optim.js';
import type { ArchName } from '../models/spec.js';

export const FORMAT = 'alexnet-wgsl/1';

/** Everything needed to continue a run exactly where it stopped. */
export interface RunState {
  epoch: number;          // epoch in progress (0-based)
  batch: number;          // next batch index within that epoch
  step: number;           // updates done so far
  lr: number;
  bestValError: number;   // best top-1 validation error so far (1 if none)
  sinceImprove: number;   // epochs without improvement (plateau schedule)
  reductions: number;     // learning-rate divisions done
  elapsedMs: number;      // training wall time so far
}

/** What a checkpoint says about the model and its inputs. */
export interface ModelMeta {
  arch: ArchName;
  classes: number;
  channels: number;
  inputSize: number;
  mean: number[];
  pixelScale: number;
  classNames?: string[];
  config?: Record<string, unknown>;
}

export interface Checkpoint {
  meta: ModelMeta;
  weights: Map<string, { shape: number[]; data: Float32Array }>;
  velocities?: Map<string, { shape: number[]; data: Float32Array }>;
  state?: RunState;
}

export async function saveCheckpoint(path: string, model: Model, meta: ModelMeta, opt?: SGD, state?: RunState): Promise<void> {
  const tensors: Record<string, NamedTensor> = {};
  for (const [name, t] of await model.stateDict()) tensors[name] = { dtype: 'F32', shape: t.shape, data: t.data };
  if (opt) {
    for (let i = 0; i < opt.params.length; i++) {
      const v = opt.velocities[i];
      tensors[`momentum.${opt.params[i].name}`] = { dtype: 'F32', shape: [...v.shape], data: (await v.read()) as Float32Array };
    }
  }
  const metadata: Record<string, string> = { format: FORMAT, meta: JSON.stringify(meta) };
  if (state) metadata.state = JSON.stringify(state);
  await writeSafetensors(path, tensors, metadata);
}

export async function loadCheckpoint(path: string): Promise<Checkpoint> {
  const file = await readSafetensors(path);
  return parseCheckpoint(file, path);
}

export function parseCheckpoint(file: Safetensors, path: string): Checkpoint {
  const md = file.metadata;
  const meta = parseJson<ModelMeta>(md.meta, path, 'meta');
  if (!meta || typeof meta.arch !== 'string' || !Number.isInteger(meta.classes)) {
    throw new FormatError(`${path}: not an alexnet-wgsl checkpoint (metadata "meta" with arch and classes missing)`);
  }
  const weights = new Map<string, { shape: number[]; data: Float32Array }>();
  const velocities = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, t] of Object.entries(file.tensors)) {
    if (t.dtype !== 'F32') throw new FormatError(`${path}: tensor "${name}" is ${t.dtype}, expected F32`);
    const entry = { shape: t.shape, data: t.data as Float32Array };
    if (name.startsWith('momentum.')) velocities.set(name.slice('momentum.'.length), entry); else weights.set(name, entry);
  }
  const state = md.state === undefined ? undefined : parseJson<RunState>(md.state, path, 'state');
  return { meta, weights, velocities: velocities.size ? velocities : undefined, state };
}

/** Load a torchvision-style weights-only file (e.g. converted from PyTorch) without our metadata. */
export async function loadWeightsOnly(path: string): Promise<Map<string, { shape: number[]; data: Float32Array }>> {
  const file = await readSafetensors(path);
  const weights = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, t] of Object.entries(file.tensors)) {
    if (t.dtype !== 'F32') throw new FormatError(`${path}: tensor "${name}" is ${t.dtype}, expected F32`);
    if (!name.startsWith('momentum.')) weights.set(name, { shape: t.shape, data: t.data as Float32Array });
  }
  return weights;
}

function parseJson<T>(text: string | undefined, path: string, key: string): T {
  if (text === undefined) throw new FormatError(`${path}: metadata "${key}" is missing`);
  try {
    return JSON.parse(text) as T; // data, never code: plain JSON values only
  } catch {
    throw new FormatError(`${path}: metadata "${key}" is not valid JSON`);
  }
}

/** Load velocities into the optimizer; every parameter's must be present with its shape. */
export function loadVelocities(opt: SGD, velocities: Map<string, { shape: number[]; data: Float32Array }>, path: string): void {
  const bad = opt.params.filter((p, i) => velocities.get(p.name)?.data.length !== opt.velocities[i].size).map((p) => p.name);
  if (bad.length) throw new FormatError(`${path}: optimizer state missing or misshapen for ${bad.join(', ')}`);
  opt.params.forEach((p, i) => opt.velocities[i].write(velocities.get(p.name)!.data));
}
