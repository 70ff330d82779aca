// The one loop of the kernels that work element by element (fill, axpy, the activations, dropout,
// the update, the numerics watch): a dispatch per chunk of the lead tensor that fits one storage
// binding (Tensor.chunks), its workgroups covering the chunk at `perInvocation` elements each.
import { AlexnetError } from '../errors.js';
import type { Params } from '../gpu/engine.js';
import { ceilDiv, grid1d } from '../gpu/grid.js';
import type { Kernel } from '../gpu/kernel.js';
import type { Overrides } from '../gpu/pipelines.js';
import type { Tensor } from './tensor.js';

export interface Chunk {
  start: number;
  count: number;
}

export interface ChunkedDispatch {
  kernel: Kernel;
  overrides?: Overrides;
  params: (c: Chunk) => Params;
  buffers: (c: Chunk) => GPUBufferBinding[];
  /** Elements one invocation handles: 4 for the vec4 kernels, 1 for scalar ones. */
  perInvocation: 1 | 4;
}

export function dispatchChunked(lead: Tensor, d: ChunkedDispatch): void {
  const wg = d.kernel.workgroupSize[0];
  if (typeof wg !== 'number' || d.kernel.workgroupSize.length > 1)
    throw new AlexnetError(`${d.kernel.name}: a chunked elementwise kernel needs a literal 1-D @workgroup_size`);
  for (const c of lead.chunks()) {
    lead.engine.dispatch({
      kernel: d.kernel,
      overrides: d.overrides,
      params: d.params(c),
      buffers: d.buffers(c),
      workgroups: grid1d(ceilDiv(c.count, wg * d.perInvocation)),
    });
  }
}
