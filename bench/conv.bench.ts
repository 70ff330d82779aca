// Convolution benchmark: the tiled implicit-GEMM kernels (src/ops/conv2d.ts) against the naive
// one-invocation-per-output kernel (bench/kernels/conv2d_naive.wgsl), on AlexNet's conv layers.
// For each shape it first checks ours and the naive kernel against float64 sums on sampled
// outputs of y, dx and dw, then times forward, backward-data and backward-filter: one warm-up run
// (compiles), then the median of --reps runs, each its own submit timed to engine.sync().
// GFLOP/s = 2·MACs / time; "fwd+bwd" = 3 × forward FLOPs over the three times (the peers' metric,
// shared/peers/RESULTS.md, whose tfjs-webgpu and jax-js figures are printed alongside).
//
//   node scripts/build.mjs bench && node build/bench/conv.bench.js [--shapes=conv2,conv3] [--batch=8]
//        [--reps=5] [--naive-reps=3] [--no-naive] [--out=FILE]   (FILE: shared/peers/results format)
//        [--wait-idle]   before each timed run, wait (≤ 60 s) until other processes leave the CPUs ≥ 90% idle
//                        (Linux /proc/stat; for shared machines)
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createEngine } from '../src/node/dawn.js';
import { f32, type Engine } from '../src/gpu/engine.js';
import { ceilDiv, grid1d } from '../src/gpu/grid.js';
import { Tensor } from '../src/tensor/tensor.js';
import { activationBackward } from '../src/ops/activation.js';
import {
  conv2dBackwardData,
  conv2dBackwardFilter,
  conv2dBiasGrad,
  conv2dForward,
  conv2dTiles,
  type Conv2dOptions,
} from '../src/ops/conv2d.js';
import naiveWgsl from './kernels/conv2d_naive.wgsl';
import roofWgsl from './kernels/fma_roof.wgsl';

interface Shape {
  name: string;
  c: number;
  h: number;
  o: number;
  k: number;
  s: number;
  p: number;
  g: number;
  note: string;
}
const SHAPES: Shape[] = [
  { name: 'conv1', c: 3, h: 224, o: 64, k: 11, s: 4, p: 2, g: 1, note: 'torchvision 3→64 11×11 s4 p2, 224²' },
  { name: 'conv1p', c: 3, h: 227, o: 96, k: 11, s: 4, p: 0, g: 1, note: 'paper 3→96 11×11 s4, 227²' },
  { name: 'conv2', c: 64, h: 27, o: 192, k: 5, s: 1, p: 2, g: 1, note: 'torchvision 64→192 5×5 p2, 27²' },
  { name: 'conv2g', c: 96, h: 27, o: 256, k: 5, s: 1, p: 2, g: 2, note: 'paper 96→256 groups 2, 27²' },
  { name: 'conv3', c: 192, h: 13, o: 384, k: 3, s: 1, p: 1, g: 1, note: '192→384 3×3 p1, 13²' },
  { name: 'conv4', c: 384, h: 13, o: 256, k: 3, s: 1, p: 1, g: 1, note: '384→256 3×3 p1, 13²' },
  { name: 'conv5', c: 256, h: 13, o: 256, k: 3, s: 1, p: 1, g: 1, note: '256→256 3×3 p1, 13²' },
];
// shared/peers/RESULTS.md, batch 8, GFLOP/s medians: [forward, fwd+bwd]
const PEERS: Record<string, { tfjs?: [number, number]; jax?: [number, number] }> = {
  conv1: { tfjs: [3.18, 0.82] },
  conv2: { tfjs: [4.47, 1.79], jax: [4.67, 4.53] },
  conv2g: { tfjs: [4.26, 1.76], jax: [3.81, 4.97] },
  conv3: { tfjs: [4.18, 1.84] },
  conv4: { tfjs: [4.47, 1.78] },
  conv5: { tfjs: [3.96, 1.8] },
};

const args = Object.fromEntries(
  process.argv.slice(2).map((a) => {
    const [k, v] = a.replace(/^--/, '').split('=');
    return [k, v ?? 'true'];
  }),
);
const batch = Number(args.batch ?? 8),
  reps = Number(args.reps ?? 5),
  naiveReps = Number(args['naive-reps'] ?? 3);
const withNaive = args['no-naive'] === undefined;
const wanted = args.shapes ? new Set(args.shapes.split(',')) : undefined;

const naiveKernel = { name: 'conv2d_naive', code: naiveWgsl };

function random(n: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (((s >>> 8) / (1 << 24)) * 2 - 1) * scale;
  }
  return out;
}

const waitIdle = args['wait-idle'] !== undefined && existsSync('/proc/stat');
const cpuTicks = () => {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  return { idle: f[3] + f[4], total: f.reduce((a, b) => a + b, 0) };
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function idle(): Promise<void> {
  for (let t = 0; waitIdle && t < 200; t++) {
    const a = cpuTicks();
    await sleep(300);
    const b = cpuTicks();
    if ((b.idle - a.idle) / Math.max(1, b.total - a.total) >= 0.9) return;
  }
}

/** Run times in ms: a warm-up run (compiles), then `n` runs, each submitted and awaited alone. A
 *  kernel slower than `slowMs` (the naive ones on conv1 take ~30 s) reports its warm-up run only. */
async function timeIt(e: Engine, run: () => Tensor, n: number, slowMs = Infinity): Promise<number[]> {
  const t0 = performance.now();
  run().dispose();
  await e.sync();
  const warm = performance.now() - t0;
  if (warm > slowMs) return [warm];
  const ms: number[] = [];
  for (let r = 0; r < n; r++) {
    await idle();
    const t1 = performance.now();
    const out = run();
    await e.sync();
    ms.push(performance.now() - t1);
    out.dispose();
  }
  return ms;
}
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

const e = await createEngine();
console.log(
  `adapter: ${e.info().adapter.vendor} ${e.info().adapter.architecture} ${e.info().adapter.description}; batch ${batch}, median of ${reps} (naive ${naiveReps})`,
);
console.log(`tiles: ${JSON.stringify(conv2dTiles)}`);
/** GFLOP/s of the FMA loop of shared/LAVAPIPE.md (8 vec4 chains per invocation), median of `reps`. */
async function fmaRoof(): Promise<number> {
  const invocations = 256 * 64,
    iter = 4096;
  const ms = await timeIt(
    e,
    () => {
      const out = new Tensor(e, [invocations * 4]);
      e.dispatch({
        kernel: { name: 'fma_roof', code: roofWgsl },
        overrides: { ITER: iter },
        params: [f32(0)],
        buffers: [out.binding()],
        workgroups: [256],
      });
      return out;
    },
    reps,
  );
  return (64 * iter * invocations) / median(ms) / 1e6;
}
const roof0 = await fmaRoof();
console.log(`FMA roof (8 vec4 fma chains per invocation): ${roof0.toFixed(1)} GFLOP/s`);
const results: Array<Record<string, unknown>> = [];
const row = (...cols: string[]) =>
  console.log(cols.map((c, i) => (i < 2 ? c.padEnd(i ? 12 : 8) : c.padStart(10))).join(' '));
row('shape', 'direction', 'ours ms', 'GFLOP/s', 'naive ms', 'GFLOP/s', 'speedup');

for (const sh of SHAPES) {
  if (wanted && !wanted.has(sh.name)) continue;
  const n = batch,
    cg = sh.c / sh.g,
    og = sh.o / sh.g;
  const oh = Math.floor((sh.h + 2 * sh.p - sh.k) / sh.s) + 1;
  const opts: Conv2dOptions = { stride: sh.s, padding: sh.p, groups: sh.g };
  const xs = random(n * sh.c * sh.h * sh.h, 1),
    ws = random(sh.o * cg * sh.k * sh.k, 2, 1 / Math.sqrt(cg * sh.k * sh.k));
  const bs = random(sh.o, 3),
    dys = random(n * sh.o * oh * oh, 4);
  const x = new Tensor(e, [n, sh.c, sh.h, sh.h]).write(xs),
    w = new Tensor(e, [sh.o, cg, sh.k, sh.k]).write(ws);
  const b = new Tensor(e, [sh.o]).write(bs),
    dy = new Tensor(e, [n, sh.o, oh, oh]).write(dys);
  const X = (nn: number, c: number, iy: number, ix: number) =>
    iy < 0 || iy >= sh.h || ix < 0 || ix >= sh.h ? 0 : xs[((nn * sh.c + c) * sh.h + iy) * sh.h + ix];
  const W = (o: number, c: number, ky: number, kx: number) => ws[((o * cg + c) * sh.k + ky) * sh.k + kx];
  const DY = (nn: number, o: number, oy: number, ox: number) =>
    oy < 0 || oy >= oh || ox < 0 || ox >= oh ? 0 : dys[((nn * sh.o + o) * oh + oy) * oh + ox];
  // float64 value of one output element of each direction (bias excluded; added for y below)
  const refs = {
    fwd: (i: number) => {
      const ox = i % oh,
        oy = Math.floor(i / oh) % oh,
        o = Math.floor(i / (oh * oh)) % sh.o,
        nn = Math.floor(i / (oh * oh * sh.o)),
        g = Math.floor(o / og);
      let s = 0;
      for (let c = 0; c < cg; c++)
        for (let ky = 0; ky < sh.k; ky++)
          for (let kx = 0; kx < sh.k; kx++)
            s += W(o, c, ky, kx) * X(nn, g * cg + c, oy * sh.s + ky - sh.p, ox * sh.s + kx - sh.p);
      return s;
    },
    bwdData: (i: number) => {
      const ix = i % sh.h,
        iy = Math.floor(i / sh.h) % sh.h,
        c = Math.floor(i / (sh.h * sh.h)) % sh.c,
        nn = Math.floor(i / (sh.h * sh.h * sh.c)),
        g = Math.floor(c / cg);
      let s = 0;
      for (let o = g * og; o < (g + 1) * og; o++)
        for (let ky = 0; ky < sh.k; ky++)
          for (let kx = 0; kx < sh.k; kx++) {
            const ty = iy + sh.p - ky,
              tx = ix + sh.p - kx;
            if (ty % sh.s === 0 && tx % sh.s === 0) s += W(o, c - g * cg, ky, kx) * DY(nn, o, ty / sh.s, tx / sh.s);
          }
      return s;
    },
    bwdFilter: (i: number) => {
      const kx = i % sh.k,
        ky = Math.floor(i / sh.k) % sh.k,
        c = Math.floor(i / (sh.k * sh.k)) % cg,
        o = Math.floor(i / (sh.k * sh.k * cg)),
        g = Math.floor(o / og);
      let s = 0;
      for (let nn = 0; nn < n; nn++)
        for (let oy = 0; oy < oh; oy++)
          for (let ox = 0; ox < oh; ox++)
            s += DY(nn, o, oy, ox) * X(nn, g * cg + c, oy * sh.s + ky - sh.p, ox * sh.s + kx - sh.p);
      return s;
    },
  };
  const ours = {
    fwd: () => conv2dForward(x, w, b, opts),
    bwdData: () => conv2dBackwardData(dy, w, x.shape, opts),
    bwdFilter: () => conv2dBackwardFilter(x, dy, w.shape, opts),
  };
  const naive = (mode: number, shape: number[], a: Tensor, bb: Tensor) => () => {
    const out = new Tensor(e, shape);
    e.dispatch({
      kernel: naiveKernel,
      overrides: { MODE: mode },
      buffers: [a.binding(), bb.binding(), out.binding()],
      params: [n, sh.c, sh.h, sh.h, sh.o, oh, oh, sh.k, sh.k, sh.s, sh.s, sh.p, sh.p, cg, og, out.size],
      workgroups: grid1d(ceilDiv(out.size, 64)),
    });
    return out;
  };
  const naives = {
    fwd: naive(0, [n, sh.o, oh, oh], x, w),
    bwdData: naive(1, [n, sh.c, sh.h, sh.h], dy, w),
    bwdFilter: naive(2, [sh.o, cg, sh.k, sh.k], x, dy),
  };
  const flops = 2 * n * sh.o * oh * oh * cg * sh.k * sh.k;

  // validate on 64 sampled elements of each output (ours and naive)
  for (const dir of ['fwd', 'bwdData', 'bwdFilter'] as const) {
    for (const [who, run] of [['ours', ours[dir]], ...(withNaive ? [['naive', naives[dir]]] : [])] as Array<
      [string, () => Tensor]
    >) {
      const t = run();
      const v = await t.read();
      let worst = 0,
        scale = 0;
      const idx = Array.from({ length: 64 }, (_, s) =>
        Math.floor((((s * 2654435761) % 4294967296) / 4294967296) * v.length),
      );
      const expect = idx.map(
        (i) => refs[dir](i) + (dir === 'fwd' && who === 'ours' ? bs[Math.floor(i / (oh * oh)) % sh.o] : 0),
      );
      for (const r of expect) scale = Math.max(scale, Math.abs(r));
      idx.forEach((i, s) => {
        worst = Math.max(worst, Math.abs(v[i] - expect[s]));
      });
      t.dispose();
      if (!(worst <= 1e-4 * Math.max(scale, 1)))
        throw new Error(`${sh.name} ${dir} (${who}): max error ${worst} on sampled outputs of scale ${scale}`);
    }
  }

  const times: Record<string, number> = {};
  const cmd = `node build/bench/conv.bench.js ${process.argv.slice(2).join(' ')}`.trim();
  const entry = (test: string, ms: number[], fl: number, note: string) => ({
    system: 'alexnet-wgsl',
    test,
    ms,
    median: median(ms),
    min: Math.min(...ms),
    max: Math.max(...ms),
    gflops: fl / median(ms) / 1e6,
    gflops_min: fl / Math.max(...ms) / 1e6,
    gflops_max: fl / Math.min(...ms) / 1e6,
    note,
    cmd,
  });
  for (const dir of ['fwd', 'bwdData', 'bwdFilter'] as const) {
    const mine = await timeIt(e, ours[dir], reps);
    const base = withNaive ? median(await timeIt(e, naives[dir], naiveReps, 5000)) : NaN;
    times[dir] = median(mine);
    const gf = (ms: number) => (flops / ms / 1e6).toFixed(2);
    row(
      sh.name,
      dir,
      times[dir].toFixed(1),
      gf(times[dir]),
      withNaive ? base.toFixed(0) : '-',
      withNaive ? gf(base) : '-',
      withNaive ? `${(base / times[dir]).toFixed(1)}x` : '-',
    );
    const name = { fwd: 'fwd', bwdData: 'bwd-data', bwdFilter: 'bwd-filter' }[dir];
    results.push(
      entry(
        `${sh.name} ${name}`,
        mine,
        flops,
        `${sh.note}${withNaive ? `; naive one-thread-per-output kernel ${base.toFixed(0)} ms` : ''}`,
      ),
    );
  }
  const dbMs = median(await timeIt(e, () => conv2dBiasGrad(dy), reps));
  const y = conv2dForward(x, w, b, { ...opts, relu: true });
  const maskMs = median(await timeIt(e, () => activationBackward(y, dy, 'relu'), reps));
  y.dispose();
  const total = times.fwd + times.bwdData + times.bwdFilter;
  const fb = (3 * flops) / total / 1e6;
  const peer = PEERS[sh.name];
  const vs = [
    peer?.tfjs &&
      `${(flops / times.fwd / 1e6 / peer.tfjs[0]).toFixed(1)}x / ${(fb / peer.tfjs[1]).toFixed(1)}x tfjs-webgpu`,
    peer?.jax && `${(flops / times.fwd / 1e6 / peer.jax[0]).toFixed(1)}x / ${(fb / peer.jax[1]).toFixed(1)}x jax-js`,
  ]
    .filter(Boolean)
    .join(', ');
  console.log(
    `${sh.name.padEnd(8)} fwd+bwd      ${total.toFixed(1).padStart(10)} ${fb.toFixed(2).padStart(10)}   (bias grad ${dbMs.toFixed(1)} ms, ReLU mask ${maskMs.toFixed(1)} ms; ${sh.note}${vs ? `; fwd / fwd+bwd vs ${vs}` : ''})`,
  );
  results.push({
    ...entry(`${sh.name} fwd+bwd`, [total], 3 * flops, `${sh.note}; sum of the three medians`),
    ms: undefined,
  });
  for (const t of [x, w, b, dy]) t.dispose();
}
const roof1 = await fmaRoof();
console.log(`FMA roof again at the end: ${roof1.toFixed(1)} GFLOP/s`);
if (args.out) writeFileSync(args.out, JSON.stringify({ system: 'alexnet-wgsl', results }, null, 1));
e.dispose();
