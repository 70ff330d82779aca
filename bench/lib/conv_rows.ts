// Convolution rows: forward, backward-data and backward-filter of every AlexNet conv layer (the
// paper's two-tower net and torchvision's), through the exported ops of src/ops/conv2d.ts.
// Each (layer, batch) is first run once through the engine and validated against the float64
// reference of test/ref/conv2d.ts on sampled sub-problems (whole output planes of sampled
// (image, channel) pairs, whole filters of sampled output channels), then each direction is
// captured and replayed `reps` times in a pass between two timestamps. At the peers' batch (8)
// the three directions are also timed together in one pass: the peers' "fwd+bwd".
import type { Engine } from '../../src/gpu/engine.js';
import { conv2dBackwardData, conv2dBackwardFilter, conv2dForward, type Conv2dOptions } from '../../src/ops/conv2d.js';
import { conv2dBackwardRef, conv2dRef, convGeom } from '../../test/ref/conv2d.js';
import { capture, type GpuTimer, Replay } from './gpu_timer.js';
import { checkClose, fromTimes, random, upload, type Report, type Row } from './common.js';
import { naiveConv } from './naive.js';
import type { Tensor } from '../../src/tensor/tensor.js';

export interface ConvLayer {
  name: string;
  c: number;
  h: number;
  o: number;
  k: number;
  s: number;
  p: number;
  g: number;
  note: string;
  /** Name of the same shape in shared/peers/shapes.json (batch 8). */
  peer?: string;
}

export const CONV_LAYERS: ConvLayer[] = [
  { name: 'paper.conv1', c: 3, h: 227, o: 96, k: 11, s: 4, p: 0, g: 1, note: '3→96 11×11 s4, 227²' },
  { name: 'paper.conv2', c: 96, h: 27, o: 256, k: 5, s: 1, p: 2, g: 2, note: '96→256 5×5 p2 g2, 27²', peer: 'conv2g' },
  { name: 'paper.conv3', c: 256, h: 13, o: 384, k: 3, s: 1, p: 1, g: 1, note: '256→384 3×3 p1, 13²' },
  { name: 'paper.conv4', c: 384, h: 13, o: 384, k: 3, s: 1, p: 1, g: 2, note: '384→384 3×3 p1 g2, 13²' },
  { name: 'paper.conv5', c: 384, h: 13, o: 256, k: 3, s: 1, p: 1, g: 2, note: '384→256 3×3 p1 g2, 13²' },
  { name: 'tv.conv1', c: 3, h: 224, o: 64, k: 11, s: 4, p: 2, g: 1, note: '3→64 11×11 s4 p2, 224²', peer: 'conv1' },
  { name: 'tv.conv2', c: 64, h: 27, o: 192, k: 5, s: 1, p: 2, g: 1, note: '64→192 5×5 p2, 27²', peer: 'conv2' },
  { name: 'tv.conv3', c: 192, h: 13, o: 384, k: 3, s: 1, p: 1, g: 1, note: '192→384 3×3 p1, 13²', peer: 'conv3' },
  { name: 'tv.conv4', c: 384, h: 13, o: 256, k: 3, s: 1, p: 1, g: 1, note: '384→256 3×3 p1, 13²', peer: 'conv4' },
  { name: 'tv.conv5', c: 256, h: 13, o: 256, k: 3, s: 1, p: 1, g: 1, note: '256→256 3×3 p1, 13²', peer: 'conv5' },
];

export const convOut = (L: ConvLayer): number => Math.floor((L.h + 2 * L.p - L.k) / L.s) + 1;
/** FLOPs of one direction (2·MACs; the same count for forward, dX and dW). */
export const convFlops = (L: ConvLayer, n: number): number => 2 * n * L.o * convOut(L) ** 2 * (L.c / L.g) * L.k * L.k;

const DIRS = ['fwd', 'bwd-data', 'bwd-filter'] as const;

/** Copy planes [c0, c0+cn) of images n0.. of an NCHW array into a new dense array. */
function planes(src: Float32Array, C: number, plane: number, images: number[], c0: number, cn: number): Float32Array {
  const out = new Float32Array(images.length * cn * plane);
  images.forEach((n, i) => out.set(src.subarray((n * C + c0) * plane, (n * C + c0 + cn) * plane), i * cn * plane));
  return out;
}

/** Validate y, dx, dw of one (layer, batch) against test/ref on sampled sub-problems. */
function validate(
  L: ConvLayer,
  N: number,
  d: { xs: Float32Array; ws: Float32Array; bs: Float32Array; dys: Float32Array },
  got: { y: Float32Array; dx: Float32Array; dw: Float32Array },
  tol: number,
): number {
  const cg = L.c / L.g,
    og = L.o / L.g,
    OH = convOut(L),
    HW = L.h * L.h,
    OHW = OH * OH,
    KK = L.k * L.k;
  let worst = 0;
  // forward: y[n, o] = conv(x[n, group(o)], w[o]) + b[o]
  for (const [n, o] of [
    [0, 0],
    [N - 1, L.o - 1],
    [N >> 1, (og + 5) % L.o],
  ]) {
    const g = Math.floor(o / og);
    const geom = convGeom([1, cg, L.h, L.h], [1, cg, L.k, L.k], L.s, L.p, 1);
    const ref = conv2dRef(geom, planes(d.xs, L.c, HW, [n], g * cg, cg), d.ws.subarray(o * cg * KK, (o + 1) * cg * KK), [
      d.bs[o],
    ]);
    worst = Math.max(
      worst,
      checkClose(
        `${L.name} b${N} fwd y[${n},${o}]`,
        got.y.subarray((n * L.o + o) * OHW, (n * L.o + o + 1) * OHW),
        ref,
        tol,
      ),
    );
  }
  // backward-data: dx[n, c] = Σ_{o in group(c)} conv_transpose(dy[n, o], w[o, c])
  for (const [n, c] of [
    [0, 0],
    [N - 1, L.c - 1],
    [N >> 1, L.c >> 1],
  ]) {
    const g = Math.floor(c / cg),
      cl = c - g * cg;
    const wsub = new Float32Array(og * KK);
    for (let q = 0; q < og; q++)
      wsub.set(d.ws.subarray(((g * og + q) * cg + cl) * KK, ((g * og + q) * cg + cl + 1) * KK), q * KK);
    const geom = convGeom([1, 1, L.h, L.h], [og, 1, L.k, L.k], L.s, L.p, 1);
    const ref = conv2dBackwardRef(geom, new Float32Array(HW), wsub, planes(d.dys, L.o, OHW, [n], g * og, og)).dx;
    worst = Math.max(
      worst,
      checkClose(
        `${L.name} b${N} bwd-data dx[${n},${c}]`,
        got.dx.subarray((n * L.c + c) * HW, (n * L.c + c + 1) * HW),
        ref,
        tol,
      ),
    );
  }
  // backward-filter: dw[o] = Σ_n corr(x[n, group(o)], dy[n, o])
  const images = Array.from({ length: N }, (_, i) => i);
  for (const o of N <= 8 ? [0, L.o - 1, (og + 3) % L.o] : [0, L.o - 1]) {
    const g = Math.floor(o / og);
    const geom = convGeom([N, cg, L.h, L.h], [1, cg, L.k, L.k], L.s, L.p, 1);
    const ref = conv2dBackwardRef(
      geom,
      planes(d.xs, L.c, HW, images, g * cg, cg),
      new Float32Array(cg * KK),
      planes(d.dys, L.o, OHW, images, o, 1),
    ).dw;
    worst = Math.max(
      worst,
      checkClose(`${L.name} b${N} bwd-filter dw[${o}]`, got.dw.subarray(o * cg * KK, (o + 1) * cg * KK), ref, tol),
    );
  }
  return worst;
}

export interface ConvOptions {
  reps: number;
  combinedBatches: number[];
  tol?: number;
  /** Also time the naive one-invocation-per-output kernel (bench/lib/naive.ts) on each direction, `naiveReps` runs. */
  naiveReps?: number;
}

/** All rows of one layer at one batch; `want(dir)` says which directions the filters selected. */
export async function convRows(
  e: Engine,
  timer: GpuTimer,
  report: Report,
  L: ConvLayer,
  N: number,
  o: ConvOptions,
  want: (test: string) => boolean,
): Promise<Row[]> {
  const name = (dir: string) => `${L.name} ${dir} b${N}`;
  const dirs = DIRS.filter((dir) => want(name(dir)));
  const naiveDirs = o.naiveReps ? DIRS.filter((dir) => want(`naive ${name(dir)}`)) : [];
  const combined = o.combinedBatches.includes(N) && want(name('fwd+bwd'));
  if (!dirs.length && !combined && !naiveDirs.length) return [];
  const cg = L.c / L.g,
    OH = convOut(L);
  const opts: Conv2dOptions = { stride: L.s, padding: L.p, groups: L.g };
  const d = {
    xs: random(N * L.c * L.h * L.h, 1),
    ws: random(L.o * cg * L.k * L.k, 2, -1 / Math.sqrt(cg * L.k * L.k), 1 / Math.sqrt(cg * L.k * L.k)),
    bs: random(L.o, 3),
    dys: random(N * L.o * OH * OH, 4),
  };
  const x = upload(e, d.xs, [N, L.c, L.h, L.h], 'x'),
    w = upload(e, d.ws, [L.o, cg, L.k, L.k], 'w');
  const b = upload(e, d.bs, [L.o], 'b'),
    dy = upload(e, d.dys, [N, L.o, OH, OH], 'dy');
  const run = {
    fwd: () => conv2dForward(x, w, b, opts),
    'bwd-data': () => conv2dBackwardData(dy, w, x.shape, opts),
    'bwd-filter': () => conv2dBackwardFilter(x, dy, w.shape, opts),
  };
  const rows: Row[] = [];
  try {
    // one run of each direction through the engine: validates, and compiles every pipeline the
    // replays use (so the timed runs need no warm-up)
    const outs = [run.fwd(), run['bwd-data'](), run['bwd-filter']()];
    const [yv, dxv, dwv] = await Promise.all(outs.map((t) => t.read() as Promise<Float32Array>));
    outs.forEach((t) => t.dispose());
    const err = validate(L, N, d, { y: yv, dx: dxv, dw: dwv }, o.tol ?? 1e-4);
    const flops = convFlops(L, N);
    for (const dir of dirs) {
      const cap = capture(e, run[dir]);
      const rep = new Replay(e, cap.dispatches);
      const t = await timer.time(rep, o.reps, 0);
      rep.dispose();
      cap.result.dispose();
      const r = report.add(
        fromTimes(t, {
          test: name(dir),
          group: 'conv',
          unit: 'GFLOP/s',
          work: flops,
          roof: 'fma',
          note: `${L.note}; ${cap.dispatches.length} dispatch${cap.dispatches.length > 1 ? 'es' : ''}${dir === 'fwd' ? `; checked vs test/ref (max err ${err.toExponential(1)} of scale)` : ''}`,
          alias: dir === 'fwd' && N === 8 && L.peer ? `${L.peer} fwd` : undefined,
          extra: { layer: L.name, batch: N, direction: dir },
        }),
      );
      rows.push(r);
    }
    if (combined) {
      const cap = capture(e, () => [run.fwd(), run['bwd-data'](), run['bwd-filter']()]);
      const rep = new Replay(e, cap.dispatches);
      const t = await timer.time(rep, o.reps, 0);
      rep.dispose();
      cap.result.forEach((t2) => t2.dispose());
      rows.push(
        report.add(
          fromTimes(t, {
            test: name('fwd+bwd'),
            group: 'conv',
            unit: 'GFLOP/s',
            work: 3 * flops,
            roof: 'fma',
            note: `y, dX, dW in one pass; FLOPs = 3× forward (peers' metric)`,
            alias: N === 8 && L.peer ? `${L.peer} fwd+bwd` : undefined,
            extra: { layer: L.name, batch: N, direction: 'fwd+bwd' },
          }),
        ),
      );
    } else if (dirs.length === 3 && want(name('fwd+bwd'))) {
      // run i of forward + run i of dX + run i of dW (each its own pass, back to back)
      const ms = rows[0].ms.map((_, i) => rows[0].ms[i] + rows[1].ms[i] + rows[2].ms[i]);
      rows.push(
        report.add({
          test: name('fwd+bwd'),
          group: 'conv',
          unit: 'GFLOP/s',
          work: 3 * flops,
          roof: 'fma',
          ms,
          timing: 'derived',
          othersCpu: ((rows[0].othersCpu ?? NaN) + (rows[1].othersCpu ?? NaN) + (rows[2].othersCpu ?? NaN)) / 3,
          note: `run i = fwd run i + bwd-data run i + bwd-filter run i; FLOPs = 3× forward (peers' metric)`,
          alias: N === 8 && L.peer ? `${L.peer} fwd+bwd` : undefined,
          extra: { layer: L.name, batch: N, direction: 'fwd+bwd' },
        }),
      );
    }
    if (naiveDirs.length) rows.push(...(await naiveRows(e, timer, report, L, N, o, naiveDirs, d, { x, w, dy })));
  } finally {
    for (const t of [x, w, b, dy]) t.dispose();
  }
  return rows;
}

/** The naive kernel on the same data: validated like ours (no bias), then timed, `o.naiveReps` runs. */
async function naiveRows(
  e: Engine,
  timer: GpuTimer,
  report: Report,
  L: ConvLayer,
  N: number,
  o: ConvOptions,
  dirs: readonly (typeof DIRS)[number][],
  d: { xs: Float32Array; ws: Float32Array; bs: Float32Array; dys: Float32Array },
  t: { x: Tensor; w: Tensor; dy: Tensor },
): Promise<Row[]> {
  const shape = { ...L, n: N };
  const run = {
    fwd: () => naiveConv(e, shape, 'fwd', t.x, t.w),
    'bwd-data': () => naiveConv(e, shape, 'bwd-data', t.dy, t.w),
    'bwd-filter': () => naiveConv(e, shape, 'bwd-filter', t.x, t.dy),
  };
  const outs = [run.fwd(), run['bwd-data'](), run['bwd-filter']()];
  const [y, dx, dw] = await Promise.all(outs.map((r) => r.read() as Promise<Float32Array>));
  outs.forEach((r) => r.dispose());
  validate({ ...L, name: `naive ${L.name}` }, N, { ...d, bs: new Float32Array(L.o) }, { y, dx, dw }, o.tol ?? 1e-4);
  const rows: Row[] = [];
  for (const dir of dirs) {
    const cap = capture(e, run[dir]);
    const rep = new Replay(e, cap.dispatches);
    const times = await timer.time(rep, o.naiveReps ?? 1, 0);
    rep.dispose();
    cap.result.dispose();
    rows.push(
      report.add(
        fromTimes(times, {
          test: `naive ${L.name} ${dir} b${N}`,
          group: 'naive',
          unit: 'GFLOP/s',
          work: convFlops(L, N),
          roof: 'fma',
          note: `${L.note}; one invocation per output (bench/kernels/conv2d_naive.wgsl); checked vs test/ref`,
          extra: { layer: L.name, batch: N, direction: dir, kernel: 'naive' },
        }),
      ),
    );
  }
  return rows;
}
