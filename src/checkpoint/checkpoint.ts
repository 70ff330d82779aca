// The checkpoint format: a model (and optionally its optimizer and run state) as safetensors, on
// bytes: weights under their PyTorch names, velocities under `momentum.<name>`, the run state and
// the preprocessing (mean, class names) as string metadata, with a checksum. Read as hostile data:
// metadata is JSON (never evaluated) and every field is checked before it sizes anything. Files:
// node/files/checkpoint.ts.
import { FormatError, NumericalError } from '../errors.js';
import { decodeSafetensors, encodeSafetensors, type NamedTensor, type Safetensors } from '../formats/safetensors.js';
import type { Model } from '../models/model.js';
import { parameterTensors } from '../models/params.js';
import type { SGD } from '../optim.js';
import { archs, type Arch } from '../models/spec.js';

export const FORMAT = 'alexnet-wgsl/1';

/** Everything needed to continue a run exactly where it stopped. */
export interface RunState {
  epoch: number; // epoch in progress (0-based)
  batch: number; // next batch index within that epoch
  step: number; // updates done so far
  lr: number;
  bestValError: number; // best top-1 validation error so far (1 if none)
  sinceImprove: number; // epochs without improvement (plateau schedule)
  reductions: number; // learning-rate divisions done
  elapsedMs: number; // training wall time so far
  /** Sums of the epoch and of the progress interval in progress, so metrics resume exactly. */
  sums?: RunSums;
}

export interface RunSums {
  epochLoss: number;
  epochHits: number;
  epochSeen: number;
  windowLoss: number;
  windowHits: number;
  windowSteps: number;
}

/** What a checkpoint says about the model and its inputs. */
export interface ModelMeta {
  /** A built-in arch (archs), or the name of the layer table the model was built from. */
  arch: string;
  classes: number;
  channels: number;
  inputSize: number;
  /** Preprocessing: input = (pixel·pixelScale − mean[c]) / std[c] (std 1 when absent: checkpoints before it). */
  mean: number[];
  pixelScale: number;
  std?: number[];
  classNames?: string[];
  config?: Record<string, unknown>;
}

export interface Checkpoint {
  meta: ModelMeta;
  weights: Weights;
  velocities?: Weights;
  state?: RunState;
}

/** Weights (and velocities) of a model as safetensors tensors by name. */
type Weights = Map<string, { shape: number[]; data: Float32Array }>;

/**
 * The tensors and metadata of a checkpoint of `model` (with the optimizer's velocities and the run
 * state, if given), read from the device. Non-finite values are refused with a NumericalError naming
 * `target`: a checkpoint holding NaN would replace the last good one.
 */
export async function checkpointContents(
  target: string,
  model: Model,
  meta: ModelMeta,
  opt?: SGD,
  state?: RunState,
): Promise<{ tensors: Record<string, NamedTensor>; metadata: Record<string, string> }> {
  const tensors = await parameterTensors(model.params);
  if (opt) {
    for (let i = 0; i < opt.params.length; i++) {
      const v = opt.velocities[i];
      tensors[`momentum.${opt.params[i].name}`] = { dtype: 'F32', shape: [...v.shape], data: await v.readF32() };
    }
  }
  for (const [name, t] of Object.entries(tensors)) {
    const data = t.data as Float32Array;
    for (let i = 0; i < data.length; i++) {
      if (!Number.isFinite(data[i]))
        throw new NumericalError(
          `${target} not written: ${name} holds ${data[i]} at index ${i}; the file on disk was left as it was`,
        );
    }
  }
  const metadata: Record<string, string> = { format: FORMAT, meta: JSON.stringify(meta) };
  if (state) metadata.state = JSON.stringify(state);
  return { tensors, metadata };
}

/** A checkpoint as safetensors bytes with a checksum (what a browser saves or sends). */
export async function encodeCheckpoint(
  model: Model,
  meta: ModelMeta,
  opt?: SGD,
  state?: RunState,
): Promise<Uint8Array> {
  const { tensors, metadata } = await checkpointContents('checkpoint', model, meta, opt, state);
  return encodeSafetensors(tensors, metadata, { checksum: true });
}

/**
 * A checkpoint from safetensors bytes or a decoded file. `arch` names or gives the layer table of a
 * checkpoint whose arch is not one of the built-in ones.
 */
export function parseCheckpoint(input: Safetensors | Uint8Array, path: string, arch?: Arch): Checkpoint {
  const file = input instanceof Uint8Array ? decodeSafetensors(input, path) : input;
  const md = file.metadata;
  const meta = parseJson<ModelMeta>(md.meta, path, 'meta');
  if (!isRecord(meta) || typeof meta.arch !== 'string' || !Number.isInteger(meta.classes)) {
    throw new FormatError(`${path}: not an alexnet-wgsl checkpoint (metadata "meta" with arch and classes missing)`);
  }
  checkMeta(meta, path, arch);
  const weights: Weights = new Map(),
    velocities: Weights = new Map();
  for (const [name, t] of Object.entries(file.tensors)) {
    if (t.dtype !== 'F32') throw new FormatError(`${path}: tensor "${name}" is ${t.dtype}, expected F32`);
    const entry = { shape: t.shape, data: t.data as Float32Array };
    if (name.startsWith('momentum.')) velocities.set(name.slice('momentum.'.length), entry);
    else weights.set(name, entry);
  }
  const state = md.state === undefined ? undefined : parseJson<RunState>(md.state, path, 'state');
  if (state !== undefined) checkState(state, path);
  return { meta, weights, velocities: velocities.size ? velocities : undefined, state };
}

/** The weights of a weights-only file (e.g. converted from PyTorch) without our metadata. */
export function weightsOnly(file: Safetensors, path: string): Weights {
  const weights: Weights = new Map();
  for (const [name, t] of Object.entries(file.tensors)) {
    if (t.dtype !== 'F32') throw new FormatError(`${path}: tensor "${name}" is ${t.dtype}, expected F32`);
    if (!name.startsWith('momentum.')) weights.set(name, { shape: t.shape, data: t.data as Float32Array });
  }
  return weights;
}

function parseJson<T>(text: string | undefined, path: string, key: string): T {
  if (text === undefined) throw new FormatError(`${path}: metadata "${key}" is missing`);
  try {
    // Data, never code: plain JSON values only. A "__proto__" key is dropped, so no later spread or
    // Object.assign of these values can reach a prototype.
    return JSON.parse(text, (k, v) => (k === '__proto__' ? undefined : v)) as T;
  } catch {
    throw new FormatError(`${path}: metadata "${key}" is not valid JSON`);
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

// Every field that later sizes a tensor or drives a loop is range-checked here, so a hostile file
// is a FormatError and never an allocation of whatever size it names.
function checkMeta(m: ModelMeta, path: string, arch?: Arch): void {
  const bad = (field: string, want: string) =>
    new FormatError(
      `${path}: metadata "meta": ${field} is ${JSON.stringify((m as unknown as Record<string, unknown>)[field])?.slice(0, 60)}, expected ${want}`,
    );
  if (typeof m.arch !== 'string' || (m.arch !== arch?.name && !Object.hasOwn(archs, m.arch))) {
    throw bad(
      'arch',
      `one of ${Object.keys(archs).join(', ')}${arch ? ` or ${arch.name}` : ''} (a checkpoint of another arch needs its layer table)`,
    );
  }
  if (!(Number.isInteger(m.classes) && m.classes >= 2 && m.classes <= 1 << 20))
    throw bad('classes', 'an integer in [2, 1048576]');
  if (!(Number.isInteger(m.channels) && m.channels >= 1 && m.channels <= 1024))
    throw bad('channels', 'an integer in [1, 1024]');
  if (!(Number.isInteger(m.inputSize) && m.inputSize >= 1 && m.inputSize <= 4096))
    throw bad('inputSize', 'an integer in [1, 4096]');
  if (m.channels * m.inputSize ** 2 > 2 ** 28)
    throw bad(
      'inputSize',
      `at most ${Math.floor(Math.sqrt(2 ** 28 / m.channels))} for ${m.channels} channels (2^28 values per image)`,
    );
  if (
    !(
      Array.isArray(m.mean) &&
      m.mean.length === m.channels &&
      m.mean.every((x) => typeof x === 'number' && Number.isFinite(x))
    )
  )
    throw bad('mean', `${m.channels} finite numbers`);
  if (!(typeof m.pixelScale === 'number' && Number.isFinite(m.pixelScale) && m.pixelScale > 0))
    throw bad('pixelScale', 'a positive number');
  if (
    m.std !== undefined &&
    !(
      Array.isArray(m.std) &&
      m.std.length === m.channels &&
      m.std.every((x) => typeof x === 'number' && Number.isFinite(x) && x > 0)
    )
  )
    throw bad('std', `${m.channels} positive finite numbers`);
  if (
    m.classNames !== undefined &&
    !(
      Array.isArray(m.classNames) &&
      m.classNames.length <= m.classes &&
      m.classNames.every((c) => typeof c === 'string')
    )
  ) {
    throw bad('classNames', `at most ${m.classes} strings`);
  }
  if (m.config !== undefined && !isRecord(m.config)) throw bad('config', 'an object');
}

function checkState(s: RunState, path: string): void {
  if (!isRecord(s)) throw new FormatError(`${path}: metadata "state" is not an object`);
  const r = s as unknown as Record<string, unknown>;
  const bad = (field: string, want: string) =>
    new FormatError(
      `${path}: metadata "state": ${field} is ${JSON.stringify(r[field])?.slice(0, 60)}, expected ${want}`,
    );
  for (const k of ['epoch', 'batch', 'step', 'sinceImprove', 'reductions'] as const) {
    if (!(Number.isSafeInteger(s[k]) && s[k] >= 0)) throw bad(k, 'a non-negative integer');
  }
  if (!(typeof s.lr === 'number' && Number.isFinite(s.lr) && s.lr > 0)) throw bad('lr', 'a positive number');
  if (!(typeof s.bestValError === 'number' && s.bestValError >= 0 && s.bestValError <= 1))
    throw bad('bestValError', 'a number in [0, 1]');
  if (!(typeof s.elapsedMs === 'number' && Number.isFinite(s.elapsedMs) && s.elapsedMs >= 0))
    throw bad('elapsedMs', 'a non-negative number');
  if (s.sums !== undefined) {
    const ok =
      isRecord(s.sums) &&
      (['epochLoss', 'epochHits', 'epochSeen', 'windowLoss', 'windowHits', 'windowSteps'] as const).every(
        (k) => typeof s.sums![k] === 'number' && Number.isFinite(s.sums![k]) && s.sums![k] >= 0,
      );
    if (!ok) throw bad('sums', 'an object of six non-negative numbers');
  }
}

/** Load velocities into the optimizer; every parameter's must be present with its shape. */
export function loadVelocities(opt: SGD, velocities: Weights, path: string): void {
  const bad = opt.params
    .filter((p, i) => velocities.get(p.name)?.data.length !== opt.velocities[i].size)
    .map((p) => p.name);
  if (bad.length) throw new FormatError(`${path}: optimizer state missing or misshapen for ${bad.join(', ')}`);
  opt.params.forEach((p, i) => opt.velocities[i].write(velocities.get(p.name)!.data));
}
