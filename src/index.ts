// Public API of alexnet-wgsl, the core: the engine, tensors, ops (forward + backward through the
// tape), the optimizer, models, data pipelines on arrays, checkpoints and other formats on bytes.
// It runs wherever WebGPU does: it imports nothing from Node, Dawn or sharp, installs no globals and
// has no side effects at import. Node-only parts (files, datasets on disk, pictures, the trainer)
// are in 'alexnet-wgsl/node'; in Node, this entry's createEngine() uses Dawn when given no GPU.
/// <reference types="@webgpu/types" preserve="true" />
export {
  createEngine,
  Engine,
  f32,
  type EngineOptions,
  type EngineInfo,
  type Dispatch,
  type Param,
  type Params,
  lrParam,
  stepParam,
} from './gpu/engine.js';
export type { Overrides } from './gpu/pipelines.js';
export { defineKernel, type Kernel, type BindingType, type FieldType } from './gpu/kernel.js';
export { Tuner, MARGIN, type AutotuneMode, type TuneStore, type TuneRow, type TuneBench } from './gpu/tuner.js';
export type { PoolCounters } from './gpu/buffers.js';
export type { ProfileEntry } from './gpu/profiler.js';
export * from './errors.js';
export { Tensor, numel, type DType, type HostArray, type ValueRange } from './tensor/tensor.js';
export { Tape, recordOp, isRecording, withoutTape, type Node, type TapeOptions } from './tape.js';
export { scope, currentLabel } from './gpu/scope.js';
export { tidy } from './tidy.js';
export { tensor, empty, zeros, parameter } from './tensor/create.js';
export { fill, axpby, accumulate, copyInto } from './tensor/elementwise.js';
export { activation, relu, tanh, activationBackward, type Activation } from './ops/activation.js';
export { SGD, type SgdOptions } from './optim.js';
export { reshape, flatten } from './ops/shape.js';
export {
  conv2d,
  conv2dForward,
  conv2dBackwardData,
  conv2dBackwardFilter,
  conv2dBiasGrad,
  conv2dOutputShape,
  type Conv2dOptions,
} from './ops/conv2d.js';
export { linear, linearForward, linearBackward, matmul, type LinearOptions, type MatmulOptions } from './ops/linear.js';
export { softmaxCrossEntropy, softmax } from './ops/softmax.js';
export { dropout, type DropoutOptions } from './ops/dropout.js';
export {
  maxPool2d,
  maxPool2dForward,
  maxPool2dBackward,
  avgPool2d,
  avgPool2dBackward,
  adaptiveAvgPool2d,
  adaptiveAvgPool2dBackward,
  type Pool2dOptions,
  type AvgPool2dOptions,
} from './ops/pool.js';
export { lrn, lrnBackward, PAPER_LRN, type LrnOptions } from './ops/lrn.js';
export { NumericsMonitor, type BadTensor } from './tensor/numerics.js';

// models
export { Model, type ModelOptions, type ForwardOptions } from './models/model.js';
export { initValues, initParameter, fanIn } from './models/init.js';
export {
  encodeParameters,
  decodeParameters,
  readParameters,
  writeParameters,
  parameterTensors,
  type NamedValues,
} from './models/params.js';
export {
  archs,
  archOf,
  firstLayerName,
  lastLayerName,
  towers,
  paper,
  torchvision,
  mini,
  IMAGENET_MEAN,
  IMAGENET_STD,
  fixedNormalization,
  type Arch,
  type ArchName,
  type Layer,
  type Init,
  type Resample,
} from './models/spec.js';

// data on arrays
export { type Dataset, type DataSplits, ArrayDataset, SubsetDataset, takeDataset } from './data/dataset.js';
export { BatchLoader, evalBatches, type BatchLoaderOptions, type Batch } from './data/loader.js';
export { channelMean, computePcaLighting, type Pca } from './data/augment.js';
export { inputPreprocessing, pixelsToInput } from './data/preprocess.js';
export { Rng, hashSeed, shuffle } from './util/rng.js';

// formats on bytes
export {
  encodeSafetensors,
  decodeSafetensors,
  type NamedTensor,
  type Safetensors,
  type SafeDType,
} from './formats/safetensors.js';
export { encodeNpy, decodeNpy, type NpyArray, type NpyData } from './formats/npy.js';
export { parseIdx, encodeIdx, type IdxArray } from './formats/idx.js';
export { sha256Hex } from './util/sha256.js';
export {
  encodeCheckpoint,
  parseCheckpoint,
  loadVelocities,
  type Checkpoint,
  type RunState,
  type ModelMeta,
} from './checkpoint/checkpoint.js';
export { loadModel } from './checkpoint/load_model.js';

// pictures as pixels
export {
  kernelGridImage,
  type KernelGridImage,
  type KernelGridOptions,
  type KernelCell,
  type KernelLabel,
} from './pictures/kernel_grid.js';

// evaluation and profiling
export { evaluate, type EvalResult, type EvalOptions } from './train/evaluate.js';
export { argmax, topk, topkHits, accuracy } from './train/metrics.js';
export { profileStep, formatProfile, type StepProfile, type ProfileRow } from './train/profile.js';
export { trainStep, type StepOptions, type StepResult } from './train/step.js';
export { RecordedStep, type StepMode, type RecordedStepOptions } from './train/recorded_step.js';
export { compareHostTime, hostLine, type HostComparison, type HostTimes } from './train/host_time.js';
export { queueStepShapes, tuneQueued, tuneRowText } from './train/tune.js';
export { planArenas, peakLive, type ArenaPlan, type Virtual } from './gpu/recording.js';
export { batchInput } from './train/input.js';
export { augmentPixels, pixelStride, type PixelBatch, type PixelWindows } from './ops/augment_pixels.js';
export { Schedule, type ScheduleOptions, type ScheduleState } from './train/schedule.js';
export { StuckLossWatch, numericalFailure } from './train/watchdog.js';
