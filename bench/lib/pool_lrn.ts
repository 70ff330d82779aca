// Max-pool and LRN rows at AlexNet's shapes (paper and torchvision), forward and backward:
// validated on the first and last image of the timed batch against test/ref/pool.ts and
// test/ref/lrn.ts (both ops act per image, so a slice is an exact sub-problem), then timed as
// captured replays between timestamps. GB/s counts the bytes each op must read and write once per
// element (overlapping windows re-read from cache are not counted):
//   maxpool fwd  x + y + argmax        maxpool bwd  dy + argmax + dx
//   lrn fwd      x + y                 lrn bwd      x + dy + dx (the scale is recomputed)
import type { Engine } from '../../src/gpu/engine.js';
import { lrn, lrnBackward, PAPER_LRN } from '../../src/ops/lrn.js';
import { maxPool2dBackward, maxPool2dForward, type Pool2dOptions } from '../../src/ops/pool.js';
import { maxPool2dBackwardRef, maxPool2dRef, type Shape4 } from '../../test/ref/pool.js';
import { lrnBackwardRef, lrnRef } from '../../test/ref/lrn.js';
import { capture, type GpuTimer, Replay } from './gpu_timer.js';
import { checkClose, fromTimes, random, upload, type Report, type Row } from './common.js';

export const POOL: Pool2dOptions = { kernel: 3, stride: 2 };

export interface PoolLrnSpec {
  name: string;
  kind: 'pool' | 'lrn';
  chw: [number, number, number];
  note: string;
}
export const POOL_LRN_SPECS: PoolLrnSpec[] = [
  { name: 'paper.pool1', kind: 'pool', chw: [96, 55, 55], note: '96×55×55, 3/2' },
  { name: 'paper.pool2', kind: 'pool', chw: [256, 27, 27], note: '256×27×27, 3/2' },
  { name: 'pool5', kind: 'pool', chw: [256, 13, 13], note: '256×13×13, 3/2 (paper and torchvision)' },
  { name: 'tv.pool1', kind: 'pool', chw: [64, 55, 55], note: '64×55×55, 3/2' },
  { name: 'tv.pool2', kind: 'pool', chw: [192, 27, 27], note: '192×27×27, 3/2' },
  { name: 'paper.lrn1', kind: 'lrn', chw: [96, 55, 55], note: '96×55×55, n=5 α=1e-4 β=0.75 k=2' },
  { name: 'paper.lrn2', kind: 'lrn', chw: [256, 27, 27], note: '256×27×27, n=5 α=1e-4 β=0.75 k=2' },
];

const pooled = (s: number): number => Math.floor((s - 3) / 2) + 1;

/** Bytes one run moves (see the header). */
export function poolLrnBytes(s: PoolLrnSpec, N: number, dir: 'fwd' | 'bwd'): number {
  const [C, H, W] = s.chw;
  const inB = N * C * H * W * 4,
    outB = N * C * pooled(H) * pooled(W) * 4;
  if (s.kind === 'pool') return dir === 'fwd' ? inB + 2 * outB : 2 * outB + inB;
  return dir === 'fwd' ? 2 * inB : 3 * inB;
}

/** Images [first, last] of an NCHW array as a dense 2-image array. */
function ends(a: ArrayLike<number>, N: number, per: number): Float64Array {
  const out = new Float64Array(2 * per);
  for (let i = 0; i < per; i++) {
    out[i] = a[i];
    out[per + i] = a[(N - 1) * per + i];
  }
  return out;
}

export async function poolLrnRows(
  e: Engine,
  timer: GpuTimer,
  report: Report,
  s: PoolLrnSpec,
  N: number,
  reps: number,
  want: (test: string) => boolean,
): Promise<Row[]> {
  const name = (dir: string) => `${s.name} ${dir} b${N}`;
  const dirs = (['fwd', 'bwd'] as const).filter((d) => want(name(d)));
  if (!dirs.length) return [];
  const [C, H, W] = s.chw,
    shape: Shape4 = [N, C, H, W],
    per = C * H * W;
  const oshape: Shape4 = s.kind === 'pool' ? [N, C, pooled(H), pooled(W)] : shape;
  const operOut = oshape[1] * oshape[2] * oshape[3];
  const xs = random(N * per, 31, 0, 30); // post-ReLU-like magnitudes, so LRN's normalisation matters
  const dys = random(N * operOut, 32);
  const x = upload(e, xs, shape, 'x'),
    dy = upload(e, dys, oshape, 'dy');
  const fwd = () => (s.kind === 'pool' ? maxPool2dForward(x, POOL) : { y: lrn(x, PAPER_LRN), argmax: undefined });
  const rows: Row[] = [];
  let argmax: ReturnType<typeof maxPool2dForward>['argmax'] | undefined;
  try {
    // validation on images 0 and N−1 (also compiles the pipelines)
    const f = fwd();
    argmax = f.argmax;
    const bwd = () =>
      s.kind === 'pool' ? maxPool2dBackward(dy, argmax!, x.shape, POOL) : lrnBackward(x, dy, PAPER_LRN);
    const dx = bwd();
    const sub: Shape4 = [2, C, H, W];
    const x2 = ends(xs, N, per),
      dy2 = ends(dys, N, operOut);
    const [yv, dxv] = [await f.y.read(), await dx.read()];
    if (s.kind === 'pool') {
      const ref = maxPool2dRef(x2, sub, POOL);
      checkClose(`${s.name} b${N} fwd y`, ends(yv, N, operOut), ref.y, 0);
      checkClose(`${s.name} b${N} fwd argmax`, ends(await argmax!.read(), N, operOut), ref.argmax, 0);
      checkClose(
        `${s.name} b${N} bwd dx`,
        ends(dxv, N, per),
        maxPool2dBackwardRef(dy2, ref.argmax, sub, ref.outShape),
        1e-6,
      );
    } else {
      checkClose(`${s.name} b${N} fwd y`, ends(yv, N, per), lrnRef(x2, sub, PAPER_LRN), 1e-5);
      checkClose(`${s.name} b${N} bwd dx`, ends(dxv, N, per), lrnBackwardRef(x2, dy2, sub, PAPER_LRN), 1e-4);
    }
    f.y.dispose();
    dx.dispose();
    for (const dir of dirs) {
      const cap = capture(
        e,
        dir === 'fwd'
          ? () => {
              const o = fwd();
              return [o.y, o.argmax];
            }
          : () => [bwd()],
      );
      const rep = new Replay(e, cap.dispatches);
      const t = await timer.time(rep, reps, 0);
      rep.dispose();
      cap.result.forEach((t2) => t2?.dispose());
      rows.push(
        report.add(
          fromTimes(t, {
            test: name(dir),
            group: s.kind,
            unit: 'GB/s',
            work: poolLrnBytes(s, N, dir),
            roof: 'copy',
            note: `${s.note}; checked vs test/ref on images 0 and ${N - 1}`,
            extra: { layer: s.name, batch: N, direction: dir },
          }),
        ),
      );
    }
  } finally {
    x.dispose();
    dy.dispose();
    argmax?.dispose();
  }
  return rows;
}
