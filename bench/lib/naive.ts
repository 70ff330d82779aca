// The textbook baselines the tiled kernels are measured against (`npm run bench -- --naive`): one
// invocation per output element, a plain loop, no tiling or reuse (bench/kernels/conv2d_naive.wgsl,
// gemm_naive.wgsl). They compute what conv2dForward/BackwardData/BackwardFilter and the linear
// layer's three products compute (bias excluded), and are validated like them before timing.
import type { Engine } from '../../src/gpu/engine.js';
import { ceilDiv, grid1d } from '../../src/gpu/grid.js';
import { defineKernel } from '../../src/gpu/kernel.js';
import { Tensor } from '../../src/tensor/tensor.js';
import convWgsl from '../kernels/conv2d_naive.wgsl';
import gemmWgsl from '../kernels/gemm_naive.wgsl';

const convKernel = defineKernel('conv2d_naive', convWgsl);
const gemmKernel = defineKernel('gemm_naive', gemmWgsl);

export interface NaiveConvShape {
  n: number;
  c: number;
  h: number;
  o: number;
  k: number;
  s: number;
  p: number;
  g: number;
}

const MODE = { fwd: 0, 'bwd-data': 1, 'bwd-filter': 2 } as const;

/** One direction of a convolution: fwd (x, w) → y, bwd-data (dy, w) → dx, bwd-filter (x, dy) → dw. */
export function naiveConv(e: Engine, L: NaiveConvShape, dir: keyof typeof MODE, a: Tensor, b: Tensor): Tensor {
  const oh = Math.floor((L.h + 2 * L.p - L.k) / L.s) + 1,
    cg = L.c / L.g,
    og = L.o / L.g;
  const shape = dir === 'fwd' ? [L.n, L.o, oh, oh] : dir === 'bwd-data' ? [L.n, L.c, L.h, L.h] : [L.o, cg, L.k, L.k];
  const out = new Tensor(e, shape, 'f32', { name: `naive ${dir}` });
  e.dispatch({
    kernel: convKernel,
    overrides: { MODE: MODE[dir] },
    buffers: [a.binding(), b.binding(), out.binding()],
    params: {
      n: L.n,
      c: L.c,
      h: L.h,
      w: L.h,
      o: L.o,
      oh,
      ow: oh,
      kh: L.k,
      kw: L.k,
      sy: L.s,
      sx: L.s,
      py: L.p,
      px: L.p,
      cg,
      og,
      count: out.size,
    },
    workgroups: grid1d(ceilDiv(out.size, 64)),
  });
  return out;
}

/**
 * One product of a linear layer x [B, in], w [out, in], dy [B, out]: fwd y = x·wᵀ, dx = dy·w,
 * dw = dyᵀ·x; per chunk of w's rows where w spans several bindings (dx sums the chunks' shares).
 */
export function naiveLinear(e: Engine, dir: 'fwd' | 'dx' | 'dw', x: Tensor, w: Tensor, dy: Tensor): Tensor {
  const [B, inF] = x.shape,
    out = w.shape[0];
  const c = new Tensor(e, dir === 'fwd' ? [B, out] : dir === 'dx' ? [B, inF] : [out, inF], 'f32', {
    name: `naive ${dir}`,
  });
  w.chunks(inF).forEach((ch, i) => {
    const r0 = ch.start / inF,
      rows = ch.count / inF,
      wb = w.binding(ch.start, ch.count);
    // [M, N, K, A, B, lda, ldb, ldc, offA, offC, transA, transB, C]
    const g =
      dir === 'fwd'
        ? ([B, rows, inF, x.binding(), wb, inF, inF, out, 0, r0, 0, 1, c.binding()] as const)
        : dir === 'dx'
          ? ([B, inF, rows, dy.binding(), wb, out, inF, inF, r0, 0, 0, 0, c.binding()] as const)
          : ([
              rows,
              inF,
              B,
              dy.binding(),
              x.binding(),
              out,
              inF,
              inF,
              r0,
              0,
              1,
              0,
              c.binding(ch.start, ch.count),
            ] as const);
    e.dispatch({
      kernel: gemmKernel,
      overrides: { TRANS_A: g[10], TRANS_B: g[11], ACCUM: dir === 'dx' && i > 0 ? 1 : 0 },
      params: { M: g[0], N: g[1], K: g[2], lda: g[5], ldb: g[6], ldc: g[7], offA: g[8], offB: 0, offC: g[9] },
      buffers: [g[3], g[4], g[12]],
      workgroups: [ceilDiv(g[1], 64), g[0]],
    });
  });
  return c;
}
