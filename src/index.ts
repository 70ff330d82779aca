// Public API of alexnet-wgsl: the engine, tensors, ops (forward + backward through the tape),
// the optimizer, models, data and checkpoints. Importing it has no side effects on `navigator`.
export { createEngine, Engine, f32, type EngineOptions, type EngineInfo, type Dispatch, type Param } from './gpu/engine.js';
export type { Kernel, Overrides } from './gpu/pipelines.js';
export type { PoolCounters } from './gpu/buffers.js';
export * from './errors.js';
export { Tensor, numel, type DType, type HostArray } from './tensor.js';
export { Tape, record, type Node } from './tape.js';
export { tensor, empty, zeros, parameter } from './ops/create.js';
export { fill, axpby, accumulate, copyInto } from './ops/elementwise.js';
export { activation, relu, tanh, activationBackward, type Activation } from './ops/activation.js';
export { SGD, type SgdOptions } from './optim.js';
export { reshape, flatten } from './ops/shape.js';
export {
  conv2d, conv2dForward, conv2dBackwardData, conv2dBackwardFilter, conv2dBiasGrad, conv2dOutputShape, type Conv2dOptions,
} from './ops/conv2d.js';
export { linear, linearForward, linearBackward, matmul, type LinearOptions, type MatmulOptions } from './ops/linear.js';
export { softmaxCrossEntropy, softmax } from './ops/softmax.js';
export { dropout, type DropoutOptions } from './ops/dropout.js';
export {
  maxPool2d, maxPool2dForward, maxPool2dBackward, avgPool2d, avgPool2dBackward, adaptiveAvgPool2d, adaptiveAvgPool2dBackward,
  type Pool2dOptions, type AvgPool2dOptions,
} from './ops/pool.js';
export { lrn, lrnBackward, PAPER_LRN, type LrnOptions } from './ops/lrn.js';
export type { ProfileEntry } from './gpu/profiler.js';

// models, data, training
export { Model, type ModelOptions, type ForwardOptions } from './models/model.js';
export { archs, paper, torchvision, mini, IMAGENET_MEAN, IMAGENET_STD, fixedNormalization, type Arch, type ArchName, type Layer, type Init } from './models/spec.js';
export { type Dataset, type DataSplits, ArrayDataset, takeDataset } from './data/dataset.js';
export { loadFashionMnist, FASHION_MNIST_CLASSES } from './data/fashion_mnist.js';
export { loadNpyDir } from './data/npy_dir.js';
export { openImageFolder } from './data/image_folder.js';
export { readNpy, writeNpy } from './data/npy.js';
export { readIdx } from './data/idx.js';
export { BatchLoader, evalBatches, type BatchLoaderOptions, type Batch } from './data/loader.js';
export { Rng } from './data/rng.js';
export { train, trainRecovering, type TrainOptions, type TrainIO, type TrainSummary } from './train/trainer.js';
export { NumericsMonitor, setCheckNumerics } from './numerics.js';
export { CheckpointWriteError } from './checkpoint/atomic.js';
export { LockError, acquireLock } from './checkpoint/lock.js';
export { evaluate, topkHits, type EvalResult } from './train/evaluate.js';
export { saveCheckpoint, loadCheckpoint, type Checkpoint, type RunState, type ModelMeta } from './train/checkpoint.js';
export { openModel } from './train/load_model.js';
export { profileStep, formatProfile, type StepProfile } from './train/profile.js';
export { readSafetensors, writeSafetensors, type NamedTensor } from './checkpoint/safetensors.js';
