// 'alexnet-wgsl' under Node's export condition: the core, with a createEngine() that uses Dawn
// (npm `webgpu`, loaded on first use) when it is given no GPU, adapter or device.
/// <reference types="@webgpu/types" preserve="true" />
export * from '../index.js';
export { createEngine, type NodeEngineOptions } from './dawn.js';
