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
