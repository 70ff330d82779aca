// Every WGSL kernel of the engine, imported as text. One file per kernel under kernels/.
import type { Kernel } from './gpu/pipelines.js';
import fillWgsl from '../kernels/fill.wgsl';
import axpyWgsl from '../kernels/axpy.wgsl';
import actFwdWgsl from '../kernels/act_fwd.wgsl';
import actBwdWgsl from '../kernels/act_bwd.wgsl';
import sgdWgsl from '../kernels/sgd_momentum.wgsl';

const k = (name: string, code: string): Kernel => ({ name, code });

export const kernels = {
  fill: k('fill', fillWgsl),
  axpy: k('axpy', axpyWgsl),
  actFwd: k('act_fwd', actFwdWgsl),
  actBwd: k('act_bwd', actBwdWgsl),
  sgd: k('sgd_momentum', sgdWgsl),
};
