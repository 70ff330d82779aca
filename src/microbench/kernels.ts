// Kernel microbenchmarks that ship with the package (`alexnet-wgsl bench kernels`): any conv or
// GEMM shape on the adapter in use. Each direction is first checked against a float64 reference on
// sampled outputs (a kernel is validated before it is timed), then every variant the autotuner
// would consider is timed in interleaved rounds and chosen as the tuner chooses (src/gpu/tuner.ts);
// the choice is then timed against today's default in fresh rounds, so its gain is not the luck of
// the rounds that chose it.
import { AlexnetError } from '../errors.js';
import type { Engine } from '../gpu/engine.js';
import { chooseVariant, timeRounds } from '../gpu/tuner.js';
import { conv2dBackwardData, conv2dBackwardFilter, conv2dCandidates, conv2dForward } from '../ops/conv2d.js';
import { variantLabel } from '../ops/conv2d_tiles.js';
import { gemmCandidates, gemmLabel, matmul } from '../ops/linear.js';
import { Tensor } from '../tensor/tensor.js';
import { Rng } from '../util/rng.js';

export interface ConvShape {
  n: number;
  c: number;
  h: number;
  w: number;
  o: number;
  k: number;
  s: number;
  p: number;
  g: number;
}

export interface KernelReport {
  /** e.g. 'conv n8 c64 27x27 o192 k5 s1 p2 g1 fwd'. */
  what: string;
  flops: number;
  /** Largest |ours − float64| over the sampled outputs, relative to their rms. */
  error: number;
  variants: Array<{ label: string; ms: number; gflops: number }>;
  winner: string;
  /** Today's default against the winner, timed again side by side (ms). */
  recheck: { defaultMs: number; winnerMs: number };
}

const TOLERANCE = 1e-4;

const random = (n: number, seed: number): Float32Array => {
  const r = new Rng(seed);
  return Float32Array.from({ length: n }, () => 2 * r.next() - 1);
};

/** Time each variant (forcing the tuner to it), pick the winner, re-time it against the default. */
async function timeVariants(
  e: Engine,
  keyPrefix: string,
  labels: string[],
  run: () => Tensor,
  reps: number,
): Promise<Pick<KernelReport, 'variants' | 'winner' | 'recheck'> & { outputs: Float32Array[] }> {
  const runWith = (label: string) => () => {
    e.tuner.force((key) => (key.startsWith(keyPrefix) ? label : undefined));
    run().dispose();
  };
  const outputs: Float32Array[] = [];
  try {
    for (const l of labels) {
      e.tuner.force((key) => (key.startsWith(keyPrefix) ? l : undefined));
      const t = run();
      outputs.push(await t.readF32());
      t.dispose();
    }
    // the tuner's own choice (src/gpu/tuner.ts), then its gain measured again in fresh rounds
    const { trials, winner } = await chooseVariant(e, labels, labels.map(runWith), reps);
    const again = await timeRounds(e, [runWith(labels[0]), runWith(winner)], reps + 2);
    return {
      variants: trials.map((t) => ({ ...t, gflops: 0 })),
      winner,
      recheck: { defaultMs: again[0], winnerMs: again[1] },
      outputs,
    };
  } finally {
    e.tuner.force(undefined);
  }
}

function compare(what: string, got: Float32Array[], ref: (i: number) => number, count: number, samples: number[]) {
  const want = samples.map(ref);
  const rms = Math.sqrt(want.reduce((s, v) => s + v * v, 0) / Math.max(1, want.length)) || 1;
  let error = 0;
  got.forEach((out, variant) => {
    if (out.length !== count) throw new AlexnetError(`${what}: ${out.length} outputs, expected ${count}`);
    samples.forEach((i, k) => {
      error = Math.max(error, Math.abs(out[i] - want[k]) / rms);
    });
    if (variant > 0 && !out.every((v, i) => Object.is(v, got[0][i])))
      throw new AlexnetError(`${what}: variant ${variant} differs from the default (variants must round alike)`);
  });
  if (!(error <= TOLERANCE))
    throw new AlexnetError(`${what}: error ${error.toExponential(2)} × rms against float64 exceeds ${TOLERANCE}`);
  return error;
}

const pickSamples = (count: number, k: number, seed: number): number[] => {
  const r = new Rng(seed);
  return Array.from({ length: Math.min(count, k) }, () => Math.floor(r.next() * count));
};

/** The three directions of one convolution. */
export async function benchConv(e: Engine, s: ConvShape, reps = 5): Promise<KernelReport[]> {
  const cg = s.c / s.g,
    og = s.o / s.g;
  const oh = Math.floor((s.h + 2 * s.p - s.k) / s.s) + 1,
    ow = Math.floor((s.w + 2 * s.p - s.k) / s.s) + 1;
  const xs = random(s.n * s.c * s.h * s.w, 1),
    ws = random(s.o * cg * s.k * s.k, 2),
    dys = random(s.n * s.o * oh * ow, 3);
  const x = new Tensor(e, [s.n, s.c, s.h, s.w]).write(xs),
    w = new Tensor(e, [s.o, cg, s.k, s.k]).write(ws),
    dy = new Tensor(e, [s.n, s.o, oh, ow]).write(dys);
  const opts = { stride: s.s, padding: s.p, groups: s.g };
  const X = (n: number, c: number, y: number, xx: number) =>
    y < 0 || xx < 0 || y >= s.h || xx >= s.w ? 0 : xs[((n * s.c + c) * s.h + y) * s.w + xx];
  const W = (o: number, c: number, ky: number, kx: number) => ws[((o * cg + c) * s.k + ky) * s.k + kx];
  const DY = (n: number, o: number, y: number, xx: number) => dys[((n * s.o + o) * oh + y) * ow + xx];
  const name = `conv n${s.n} c${s.c} ${s.h}x${s.w} o${s.o} k${s.k} s${s.s} p${s.p} g${s.g}`;
  const flops = 2 * s.n * s.o * oh * ow * cg * s.k * s.k;
  const dirs = [
    {
      dir: 'fwd' as const,
      run: () => conv2dForward(x, w, undefined, opts),
      count: s.n * s.o * oh * ow,
      ref: (i: number) => {
        const xx = i % ow,
          y = Math.floor(i / ow) % oh,
          o = Math.floor(i / (ow * oh)) % s.o,
          n = Math.floor(i / (ow * oh * s.o));
        let sum = 0;
        const g0 = Math.floor(o / og) * cg;
        for (let c = 0; c < cg; c++)
          for (let ky = 0; ky < s.k; ky++)
            for (let kx = 0; kx < s.k; kx++)
              sum += X(n, g0 + c, y * s.s - s.p + ky, xx * s.s - s.p + kx) * W(o, c, ky, kx);
        return sum;
      },
    },
    {
      dir: 'bwdData' as const,
      run: () => conv2dBackwardData(dy, w, x.shape, opts),
      count: s.n * s.c * s.h * s.w,
      ref: (i: number) => {
        const ix = i % s.w,
          iy = Math.floor(i / s.w) % s.h,
          c = Math.floor(i / (s.w * s.h)) % s.c,
          n = Math.floor(i / (s.w * s.h * s.c));
        const grp = Math.floor(c / cg);
        let sum = 0;
        for (let o = grp * og; o < (grp + 1) * og; o++)
          for (let ky = 0; ky < s.k; ky++)
            for (let kx = 0; kx < s.k; kx++) {
              const ty = iy + s.p - ky,
                tx = ix + s.p - kx;
              if (ty % s.s || tx % s.s || ty < 0 || tx < 0 || ty / s.s >= oh || tx / s.s >= ow) continue;
              sum += DY(n, o, ty / s.s, tx / s.s) * W(o, c - grp * cg, ky, kx);
            }
        return sum;
      },
    },
    {
      dir: 'bwdFilter' as const,
      run: () => conv2dBackwardFilter(x, dy, w.shape, opts),
      count: s.o * cg * s.k * s.k,
      ref: (i: number) => {
        const kx = i % s.k,
          ky = Math.floor(i / s.k) % s.k,
          c = Math.floor(i / (s.k * s.k)) % cg,
          o = Math.floor(i / (s.k * s.k * cg));
        const ci = Math.floor(o / og) * cg + c;
        let sum = 0;
        for (let n = 0; n < s.n; n++)
          for (let y = 0; y < oh; y++)
            for (let xx = 0; xx < ow; xx++) sum += DY(n, o, y, xx) * X(n, ci, y * s.s - s.p + ky, xx * s.s - s.p + kx);
        return sum;
      },
    },
  ];
  const out: KernelReport[] = [];
  try {
    for (const d of dirs) {
      const labels = conv2dCandidates(d.dir, x.shape, w.shape, opts, e.subgroupKernels).map(variantLabel);
      const t = await timeVariants(e, `conv2d ${d.dir} `, labels, d.run, reps);
      const what = `${name} ${d.dir}`;
      const error = compare(what, t.outputs, d.ref, d.count, pickSamples(d.count, 64, 7));
      for (const v of t.variants) v.gflops = flops / (v.ms * 1e6);
      out.push({ what, flops, error, variants: t.variants, winner: t.winner, recheck: t.recheck });
    }
  } finally {
    for (const t of [x, w, dy]) t.dispose();
  }
  return out;
}

/** C[M,N] = A[M,K]·B[K,N]. */
export async function benchGemm(e: Engine, m: { M: number; N: number; K: number }, reps = 5): Promise<KernelReport> {
  const as = random(m.M * m.K, 4),
    bs = random(m.K * m.N, 5);
  const a = new Tensor(e, [m.M, m.K]).write(as),
    b = new Tensor(e, [m.K, m.N]).write(bs);
  try {
    const labels = gemmCandidates(m.M, m.N, e.subgroupKernels).map(gemmLabel);
    const t = await timeVariants(e, 'gemm ', labels, () => matmul(a, b), reps);
    const what = `gemm M${m.M} N${m.N} K${m.K}`;
    const ref = (i: number) => {
      const r = Math.floor(i / m.N),
        c = i % m.N;
      let sum = 0;
      for (let k = 0; k < m.K; k++) sum += as[r * m.K + k] * bs[k * m.N + c];
      return sum;
    };
    const error = compare(what, t.outputs, ref, m.M * m.N, pickSamples(m.M * m.N, 64, 8));
    const flops = 2 * m.M * m.N * m.K;
    for (const v of t.variants) v.gflops = flops / (v.ms * 1e6);
    return { what, flops, error, variants: t.variants, winner: t.winner, recheck: t.recheck };
  } finally {
    a.dispose();
    b.dispose();
  }
}

/** One block per report: each variant's time and rate, the winner, the recheck against the default. */
export function formatKernelReports(rs: readonly KernelReport[]): string {
  const lines: string[] = [];
  for (const r of rs) {
    lines.push(`${r.what}: ${(r.flops / 1e9).toFixed(3)} GFLOP, error ${r.error.toExponential(1)} × rms vs float64`);
    for (const v of r.variants)
      lines.push(
        `  ${v.label.padEnd(14)} ${v.ms.toFixed(3).padStart(10)} ms ${v.gflops.toFixed(2).padStart(9)} GFLOP/s${v === r.variants[0] ? '  (default)' : ''}${v.label === r.winner ? '  ← winner' : ''}`,
      );
    const { defaultMs: d, winnerMs: w } = r.recheck;
    lines.push(`  recheck: default ${d.toFixed(3)} ms, winner ${w.toFixed(3)} ms (${(d / w).toFixed(2)}×)`);
  }
  return lines.join('\n');
}
