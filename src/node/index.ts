// 'alexnet-wgsl/node': what needs Node: files (safetensors, checkpoints, .npy, IDX, written
// atomically), datasets on disk (Fashion-MNIST, .npy folders, ImageFolder trees), pictures (PNG
// through sharp, an optional dependency loaded on first use), output-folder locks and the trainer.
// createEngine is Dawn's here too, so a Node program may take everything from this entry and the core.
/// <reference types="@webgpu/types" preserve="true" />
export { createEngine, type NodeEngineOptions } from './dawn.js';
export { readSafetensors, writeSafetensors } from './files/safetensors.js';
export {
  saveCheckpoint,
  loadCheckpoint,
  loadWeightsOnly,
  openModel,
  saveParameters,
  loadParameters,
} from './files/checkpoint.js';
export { readNpy, readNpyHeader, writeNpy } from './files/npy.js';
export { readIdx, decodeIdx, writeIdx, type IdxOptions } from './files/idx.js';
export { atomicWrite, CheckpointWriteError, type AtomicFs } from './files/atomic.js';
export { acquireLock, LockError, type Lock } from './files/lock.js';
export { loadFashionMnist, FASHION_MNIST_CLASSES, type FashionMnistOptions } from './data/fashion_mnist.js';
export { loadNpyDir, type NpyDirOptions } from './data/npy_dir.js';
export { openImageFolder, type ImageFolderOptions } from './data/image_folder.js';
export { openData, type OpenDataOptions, type OpenedData } from './data/source.js';
export { DecodePool, defaultWorkers, type Decode, type PoolStats } from './data/decode_pool.js';
export { prepareDataset, type PrepareOptions, type PrepareStats } from './data/prepare.js';
export { openPrepared, PreparedDataset, type PreparedIndex, type PreparedOptions } from './data/prepared.js';
export { prepareImage, type PreparedImage } from './data/images.js';
export { plotCurves, kernelGrid, predictionFigure, neighborsFigure, type Img } from './pictures/index.js';
export { train, trainRecovering, type TrainOptions, type TrainIO, type TrainSummary } from './train/trainer.js';
