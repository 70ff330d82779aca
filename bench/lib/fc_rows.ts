// Fully connected rows: AlexNet's fc6 (9216→4096, its weight bound in two chunks on lavapipe),
// fc7 (4096→4096) and fc8 (4096→1000), forward (y = x·wᵀ + b), dX (= dy·w) and dW (= dyᵀ·x)
// through src/ops/linear.ts, plus the peers' 1024³ matmul. Validated on sampled rows against
// test/ref/linear.ts (matmulRef / linearRef on the sampled rows' sub-problems), then timed as
// captured replays between timestamps.
import type { Engine } from '../../src/gpu/engine.js';
import { linearBackward, linearForward, matmul } from '../../src/ops/linear.js';
import { linearRef, matmulRef } from '../../test/ref/linear.js';
import { capture, type GpuTimer, Replay } from './gpu_timer.js';
import { checkClose, fromTimes, random, upload, type Report, type Row } from './common.js';
import { naiveLinear } from './naive.js';

export interface FcLayer {
  name: string;
  in: number;
  out: number;
}
export const FC_LAYERS: FcLayer[] = [
  { name: 'fc6', in: 9216, out: 4096 },
  { name: 'fc7', in: 4096, out: 4096 },
  { name: 'fc8', in: 4096, out: 1000 },
];

async function timeRow(
  e: Engine,
  timer: GpuTimer,
  report: Report,
  reps: number,
  run: () => { dispose(): void },
  base: Omit<Row, 'ms' | 'wallMs' | 'timing'>,
): Promise<Row> {
  const cap = capture(e, run);
  const rep = new Replay(e, cap.dispatches);
  const t = await timer.time(rep, reps, 0);
  rep.dispose();
  cap.result.dispose();
  return report.add(
    fromTimes(t, {
      ...base,
      note: `${base.note ? `${base.note}; ` : ''}${cap.dispatches.length} dispatch${cap.dispatches.length === 1 ? '' : 'es'}`,
    }),
  );
}

/** Rows of one layer at one batch; with `naiveReps`, the naive kernel's rows too (`naive fc6 fwd b8`…). */
export async function fcRows(
  e: Engine,
  timer: GpuTimer,
  report: Report,
  L: FcLayer,
  B: number,
  reps: number,
  want: (test: string) => boolean,
  naiveReps = 0,
  tol = 1e-4,
): Promise<Row[]> {
  const rows: Row[] = [];
  for (const naive of naiveReps ? [false, true] : [false]) {
    rows.push(...(await variantRows(e, timer, report, L, B, naive ? naiveReps : reps, want, naive, tol)));
  }
  return rows;
}

async function variantRows(
  e: Engine,
  timer: GpuTimer,
  report: Report,
  L: FcLayer,
  B: number,
  reps: number,
  want: (test: string) => boolean,
  naive: boolean,
  tol: number,
): Promise<Row[]> {
  const name = (dir: string) => `${naive ? 'naive ' : ''}${L.name} ${dir} b${B}`;
  const dirs = (['fwd', 'dx', 'dw'] as const).filter((d) => want(name(d)));
  if (!dirs.length) return [];
  const xs = random(B * L.in, 11),
    ws = random(L.out * L.in, 12, -1 / Math.sqrt(L.in), 1 / Math.sqrt(L.in));
  const bs = random(L.out, 13),
    dys = random(B * L.out, 14);
  const x = upload(e, xs, [B, L.in], 'x'),
    w = upload(e, ws, [L.out, L.in], `${L.name}.weight`);
  const b = upload(e, bs, [L.out], `${L.name}.bias`),
    dy = upload(e, dys, [B, L.out], 'dy');
  const run = naive
    ? {
        fwd: () => naiveLinear(e, 'fwd', x, w, dy),
        dx: () => naiveLinear(e, 'dx', x, w, dy),
        dw: () => naiveLinear(e, 'dw', x, w, dy),
      }
    : {
        fwd: () => linearForward(x, w, b, false),
        dx: () => linearBackward(x, w, dy, { x: true, w: false, b: false }).dx!,
        dw: () => linearBackward(x, w, dy, { x: false, w: true, b: false }).dw!,
      };
  const rows: Row[] = [];
  try {
    for (const dir of dirs) {
      // one engine run: validation on sampled rows (and the pipelines get compiled)
      const t = run[dir]();
      const v = (await t.read()) as Float32Array;
      t.dispose();
      if (dir === 'fwd') {
        for (const n of [0, B - 1]) {
          const ref = linearRef(xs.subarray(n * L.in, (n + 1) * L.in), ws, naive ? undefined : bs, {
            B: 1,
            inF: L.in,
            out: L.out,
          });
          checkClose(`${name(dir)} y[${n}]`, v.subarray(n * L.out, (n + 1) * L.out), ref, tol);
        }
      } else if (dir === 'dx') {
        for (const n of [0, B - 1]) {
          const ref = matmulRef(dys.subarray(n * L.out, (n + 1) * L.out), ws, 1, L.out, L.in);
          checkClose(`${name(dir)} dx[${n}]`, v.subarray(n * L.in, (n + 1) * L.in), ref, tol);
        }
      } else {
        for (const o of [0, L.out >> 1, L.out - 1]) {
          const col = Float32Array.from({ length: B }, (_, n) => dys[n * L.out + o]);
          const ref = matmulRef(col, xs, 1, B, L.in);
          checkClose(`${name(dir)} dw[${o}]`, v.subarray(o * L.in, (o + 1) * L.in), ref, tol);
        }
      }
      rows.push(
        await timeRow(e, timer, report, reps, run[dir], {
          test: name(dir),
          group: naive ? 'naive' : 'fc',
          unit: 'GFLOP/s',
          work: 2 * B * L.in * L.out,
          roof: 'fma',
          note: naive
            ? `${L.in}→${L.out}; one invocation per output (bench/kernels/gemm_naive.wgsl); checked vs test/ref on sampled rows`
            : `${L.in}→${L.out}${dir === 'fwd' ? ', bias, transpose of x included' : ''}; checked vs test/ref on sampled rows`,
          extra: { layer: L.name, batch: B, direction: dir, ...(naive ? { kernel: 'naive' } : {}) },
        }),
      );
    }
  } finally {
    for (const t of [x, w, b, dy]) t.dispose();
  }
  return rows;
}

/** The peers' matmul 1024×1024×1024 (C = A·B through ops/linear matmul). */
export async function matmulRow(e: Engine, timer: GpuTimer, report: Report, reps: number, tol = 1e-4): Promise<Row> {
  const N = 1024;
  const as = random(N * N, 21),
    bs = random(N * N, 22);
  const a = upload(e, as, [N, N], 'a'),
    bm = upload(e, bs, [N, N], 'b');
  try {
    const c = matmul(a, bm);
    const v = (await c.read()) as Float32Array;
    c.dispose();
    for (const r of [0, 517, N - 1])
      checkClose(
        `matmul row ${r}`,
        v.subarray(r * N, (r + 1) * N),
        matmulRef(as.subarray(r * N, (r + 1) * N), bs, 1, N, N),
        tol,
      );
    return await timeRow(e, timer, report, reps, () => matmul(a, bm), {
      test: 'matmul 1024x1024x1024',
      group: 'fc',
      unit: 'GFLOP/s',
      work: 2 * N ** 3,
      roof: 'fma',
      alias: 'matmul 1024x1024x1024',
      note: 'checked vs test/ref on sampled rows',
    });
  } finally {
    a.dispose();
    bm.dispose();
  }
}
