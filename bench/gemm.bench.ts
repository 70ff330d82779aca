// Fully connected layer benchmark: the register-tiled GEMM (kernels/gemm.wgsl through
// src/ops/linear.ts) against the naive one-invocation-per-output kernel
// (bench/kernels/gemm_naive.wgsl), on AlexNet's fc6 (9216→4096, weight bound in two chunks),
// fc7 (4096→4096) and fc8 (4096→1000) at several batch sizes.
// For each shape it first checks ours (and the naive kernel) against float64 sums on 64 sampled
// outputs of y, dx and dw, then times forward (y = x·wᵀ + b, including the transpose of x),
// backward-data (dx = dy·w) and backward-filter (dw = dyᵀ·x): one warm-up run (compiles), then
// the median of --reps runs, each its own submit timed to engine.sync(). The CPU time of the
// process (lavapipe's worker threads are in it) is printed beside: on a shared 2-core machine it
// is the steadier figure, and cpu GFLOP/s = FLOPs / (CPU time / 2 cores).
// GFLOP/s = 2·B·in·out / time.
//
//   node scripts/build.mjs bench && node build/bench/gemm.bench.js [--layers=fc6,fc7] [--batches=8,32,128]
//        [--reps=5] [--naive-batch=8] [--no-naive] [--out=results.json]
import { writeFileSync } from 'node:fs';
import { createEngine } from '../src/node/dawn.js';
import type { Engine } from '../src/gpu/engine.js';
import { ceilDiv } from '../src/gpu/grid.js';
import { Tensor } from '../src/tensor/tensor.js';
import { linearBackward, linearForward } from '../src/ops/linear.js';
import naiveWgsl from './kernels/gemm_naive.wgsl';
import { FC_LAYERS } from './lib/fc_rows.js';

const LAYERS = FC_LAYERS; // shared with the suite (bench/lib/fc_rows.ts, `npm run bench -- fc`)

const args = Object.fromEntries(
  process.argv.slice(2).map((a) => {
    const [k, v] = a.replace(/^--/, '').split('=');
    return [k, v ?? 'true'];
  }),
);
const batches = (args.batches ?? '8,32,128').split(',').map(Number);
const reps = Number(args.reps ?? 5);
const naiveBatch = args['no-naive'] !== undefined ? -1 : Number(args['naive-batch'] ?? 8);
const wanted = args.layers ? new Set(args.layers.split(',')) : undefined;
const naiveKernel = { name: 'gemm_naive', code: naiveWgsl };

function random(n: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (((s >>> 8) / (1 << 24)) * 2 - 1) * scale;
  }
  return out;
}

/** Median wall ms and median process CPU ms of n runs after a warm-up. */
async function timeIt(e: Engine, run: () => Tensor, n: number): Promise<{ ms: number; cpu: number }> {
  run().dispose();
  await e.sync(); // warm-up: compiles the pipelines
  const ms: number[] = [],
    cpu: number[] = [];
  for (let r = 0; r < n; r++) {
    const c0 = process.cpuUsage(),
      t0 = performance.now();
    const out = run();
    await e.sync();
    ms.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
    out.dispose();
  }
  const med = (v: number[]) => v.sort((a, b) => a - b)[Math.floor(v.length / 2)];
  return { ms: med(ms), cpu: med(cpu) };
}

const e = await createEngine();
console.log(
  `adapter: ${e.info().adapter.vendor} ${e.info().adapter.architecture} ${e.info().adapter.description}; median of ${reps}; naive at batch ${naiveBatch}`,
);
const results: Array<Record<string, unknown>> = [];
const row = (...cols: string[]) =>
  console.log(cols.map((c, i) => (i < 2 ? c.padEnd(i ? 10 : 10) : c.padStart(10))).join(' '));
row('layer', 'direction', 'ours ms', 'GFLOP/s', 'cpu GF/s', 'naive ms', 'GFLOP/s', 'speedup');

for (const L of LAYERS) {
  if (wanted && !wanted.has(L.name)) continue;
  const ws = random(L.out * L.in, 2, 1 / Math.sqrt(L.in)),
    bs = random(L.out, 3);
  const w = new Tensor(e, [L.out, L.in], 'f32', { name: `${L.name}.w` }).write(ws);
  const b = new Tensor(e, [L.out], 'f32', { name: `${L.name}.b` }).write(bs);
  const wChunks = w.chunks(L.in);
  for (const B of batches) {
    const xs = random(B * L.in, 1),
      dys = random(B * L.out, 4);
    const x = new Tensor(e, [B, L.in]).write(xs),
      dy = new Tensor(e, [B, L.out]).write(dys);
    // float64 value of one output element of each direction (bias included for y)
    const refs = {
      fwd: (i: number) => {
        const n = Math.floor(i / L.out),
          o = i % L.out;
        let s = bs[o];
        for (let k = 0; k < L.in; k++) s += xs[n * L.in + k] * ws[o * L.in + k];
        return s;
      },
      dx: (i: number) => {
        const n = Math.floor(i / L.in),
          c = i % L.in;
        let s = 0;
        for (let o = 0; o < L.out; o++) s += dys[n * L.out + o] * ws[o * L.in + c];
        return s;
      },
      dw: (i: number) => {
        const o = Math.floor(i / L.in),
          c = i % L.in;
        let s = 0;
        for (let n = 0; n < B; n++) s += dys[n * L.out + o] * xs[n * L.in + c];
        return s;
      },
    };
    const ours = {
      fwd: () => linearForward(x, w, b, false),
      dx: () => linearBackward(x, w, dy, { x: true, w: false, b: false }).dx!,
      dw: () => linearBackward(x, w, dy, { x: false, w: true, b: false }).dw!,
    };
    // the naive kernel per weight chunk, like ours (dx accumulates the chunks' shares)
    const naive = (dir: 'fwd' | 'dx' | 'dw') => () => {
      const shape = dir === 'fwd' ? [B, L.out] : dir === 'dx' ? [B, L.in] : [L.out, L.in];
      const c = new Tensor(e, shape);
      wChunks.forEach((ch, i) => {
        const r0 = ch.start / L.in,
          rows = ch.count / L.in;
        const wb = w.binding(ch.start, ch.count);
        const [M, N, K, A, Bm, lda, ldb, ldc, offA, offC, tA, tB, cb] =
          dir === 'fwd'
            ? ([B, rows, L.in, x.binding(), wb, L.in, L.in, L.out, 0, r0, 0, 1, c.binding()] as const)
            : dir === 'dx'
              ? ([B, L.in, rows, dy.binding(), wb, L.out, L.in, L.in, r0, 0, 0, 0, c.binding()] as const)
              : ([
                  rows,
                  L.in,
                  B,
                  dy.binding(),
                  x.binding(),
                  L.out,
                  L.in,
                  L.in,
                  r0,
                  0,
                  1,
                  0,
                  c.binding(ch.start, ch.count),
                ] as const);
        e.dispatch({
          kernel: naiveKernel,
          overrides: { TRANS_A: tA, TRANS_B: tB, ACCUM: dir === 'dx' && i > 0 ? 1 : 0 },
          params: [M, N, K, lda, ldb, ldc, offA, 0, offC],
          buffers: [A, Bm, cb],
          workgroups: [ceilDiv(N, 64), M],
        });
      });
      return c;
    };
    const flops = 2 * B * L.in * L.out;
    const withNaive = B === naiveBatch;

    for (const dir of ['fwd', 'dx', 'dw'] as const) {
      // validate on 64 sampled elements (ours and naive)
      for (const who of withNaive ? ['ours', 'naive'] : ['ours']) {
        const t = who === 'ours' ? ours[dir]() : naive(dir)();
        const v = await t.read();
        const idx = Array.from({ length: 64 }, (_, s) =>
          Math.floor((((s * 2654435761) % 4294967296) / 4294967296) * v.length),
        );
        const ref = (i: number) => (dir === 'fwd' && who === 'naive' ? refs.fwd(i) - bs[i % L.out] : refs[dir](i)); // naive: no bias
        let worst = 0,
          scale = 0;
        idx.forEach((i) => {
          const r = ref(i);
          scale = Math.max(scale, Math.abs(r));
          worst = Math.max(worst, Math.abs(v[i] - r));
        });
        t.dispose();
        if (!(worst <= 1e-4 * Math.max(scale, 1)))
          throw new Error(`${L.name} B=${B} ${dir} (${who}): max error ${worst} on sampled outputs of scale ${scale}`);
      }
      const mine = await timeIt(e, ours[dir], reps);
      const base = withNaive ? await timeIt(e, naive(dir), Math.min(reps, 3)) : undefined;
      const gf = (ms: number) => (flops / ms / 1e6).toFixed(2);
      row(
        `${L.name} B=${B}`,
        dir,
        mine.ms.toFixed(1),
        gf(mine.ms),
        gf(mine.cpu / 2),
        base ? base.ms.toFixed(0) : '-',
        base ? gf(base.ms) : '-',
        base ? `${(base.ms / mine.ms).toFixed(1)}x` : '-',
      );
      results.push({
        system: 'alexnet-wgsl',
        test: `${L.name} b${B} ${dir}`,
        median: mine.ms,
        gflops: flops / mine.ms / 1e6,
        cpu_gflops: flops / (mine.cpu / 2) / 1e6,
        naive_median: base?.ms,
      });
    }
    x.dispose();
    dy.dispose();
  }
  w.dispose();
  b.dispose();
}
if (args.out) writeFileSync(args.out, JSON.stringify({ system: 'alexnet-wgsl', results }, null, 1));
e.dispose();
