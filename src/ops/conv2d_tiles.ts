// The register tiles of the conv kernels and their autotuning (src/gpu/tuner.ts): for each direction
// and shape, the default (today's hand-picked tile, tuned on lavapipe) comes first, then the
// alternatives the tuner times on the adapter in use. The tile decides only which invocation computes which outputs,
// never the order of a sum, so every candidate (workgroup-memory and subgroup kernels included)
// gives the same numbers bit for bit.
import type { Engine } from '../gpu/engine.js';
import type { TuneBench } from '../gpu/tuner.js';
import { fill } from '../tensor/elementwise.js';
import { Tensor } from '../tensor/tensor.js';

/**
 * Register tile of one invocation: TM channels × TN pixels/taps (TM ≤ 16, TN ≤ 16, TM·TN ≤ 128),
 * and the workgroup size: WG invocations, halved down to minWG while that pads the pixel/tap range
 * less (13×13 layers waste 12% of a 64·8-pixel tile, 4% of a 16·8 one).
 */
export interface ConvTile {
  TM: number;
  TN: number;
  WG: number;
  minWG: number;
}

export type Tile = Pick<ConvTile, 'TM' | 'TN' | 'WG'>;
export type ConvDirection = 'fwd' | 'bwdData' | 'bwdFilter';

/** Today's tiles per direction, measured best on lavapipe with `npm run bench -- conv`. */
export const DEFAULT_TILES: Readonly<Record<ConvDirection, ConvTile>> = {
  fwd: { TM: 16, TN: 8, WG: 64, minWG: 16 },
  bwdData: { TM: 16, TN: 8, WG: 64, minWG: 16 },
  bwdFilter: { TM: 16, TN: 8, WG: 32, minWG: 16 },
};

/**
 * The tile for an m × n output range: a small m (conv1's 3 input channels in dx) would waste most of
 * TM, so it gets TM = 4 or 8 and a longer TN (few distinct values: every variant is a pipeline to
 * compile); WG shrinks while that pads n less.
 */
export function chooseTile(t: ConvTile, m: number, n: number): Tile {
  let TM = t.TM,
    TN = t.TN;
  // 24 channels (mini's conv1/2/5 per group) fill two 12-channel tiles, but pad 16-channel ones by 33%
  if (TM === 16 && Math.ceil(m / 12) * 12 < Math.ceil(m / 16) * 16) {
    TM = 12;
    TN = Math.min(16, Math.floor((t.TM * t.TN) / 12));
  }
  for (const small of [4, 8]) {
    if (m <= small && small < TM) {
      TM = small;
      TN = Math.min(16, Math.floor((t.TM * t.TN) / small));
      break;
    }
  }
  // a range of a few dozen (conv1's 25 filter taps) would leave most of a WG·TN = 256 tile idle
  if (n <= 64 && TN > 4) return { TM, TN: 4, WG: 8 };
  let WG = t.WG;
  const padded = (wg: number) => Math.ceil(n / (wg * TN)) * wg * TN;
  for (let wg = t.WG / 2; wg >= t.minWG; wg /= 2) if (padded(wg) < padded(WG)) WG = wg;
  return { TM, TN, WG };
}

export const tileLabel = (t: Tile): string => `${t.TM}x${t.TN} wg${t.WG}`;

/** A register tile of the subgroup kernels (kernels/conv2d_*_subgroup.wgsl: workgroups of 64). */
export interface SubgroupTile {
  subgroup: Pick<Tile, 'TM' | 'TN'>;
}

/**
 * A register tile of the lavapipe-shaped kernels, the workgroup-memory kernel of the direction (for
 * GPUs), or a register tile of the subgroup kernel (adapters with `subgroups`).
 */
export type ConvVariant = Tile | 'shared64' | SubgroupTile;
export function variantLabel(v: ConvVariant): string {
  if (v === 'shared64') return 'shared64x64';
  if ('subgroup' in v) return `subgroup${v.subgroup.TM}x${v.subgroup.TN}`;
  return tileLabel(v);
}

/**
 * The default first: today's tile, on the subgroup kernel where the adapter has subgroups (it loads
 * the weights or dY once per subgroup instead of once per lane; on lavapipe it beat the register
 * kernel with the same tile in 13 of torchvision's 15 conv directions and tied the others:
 * bench/RESULTS.md) unless the range is shorter than one of its 64-wide workgroups, else on the
 * register kernel. Then other register shapes and workgroup sizes, each fitted to m × n as above,
 * and the workgroup-memory kernel of the direction (kernels/conv2d_*_tiled.wgsl).
 */
export function convCandidates(dir: ConvDirection, m: number, n: number, subgroups: boolean): ConvVariant[] {
  const d = DEFAULT_TILES[dir];
  const bases: ConvTile[] = [
    d,
    { ...d, TM: 12, TN: 8 },
    { ...d, TM: 8, TN: 16 },
    { ...d, TM: 16, TN: 4 },
    { ...d, WG: d.WG * 2, minWG: d.WG * 2 },
    { ...d, WG: d.WG / 2, minWG: d.WG / 2 },
  ];
  const out = new Map<string, ConvVariant>();
  const { TM, TN } = chooseTile(d, m, n);
  const sub: SubgroupTile = { subgroup: { TM, TN } };
  // its workgroups are 64 wide: a range shorter than one (conv1's 25 taps) would leave most lanes idle
  const subFirst = subgroups && n >= 64 * TN;
  if (subFirst) out.set(variantLabel(sub), sub);
  for (const b of bases) {
    const t = chooseTile(b, m, n);
    out.set(tileLabel(t), t);
  }
  out.set('shared64x64', 'shared64');
  if (subgroups && !subFirst) out.set(variantLabel(sub), sub);
  return [...out.values()];
}

/** Scratch operands of one convolution for the tuner to time on: x, w, bias and y (or dy) shapes. */
export interface ConvScratch {
  x: Tensor;
  w: Tensor;
  b: Tensor;
  y: Tensor;
}

/**
 * The tile for `dir` on this shape (`key`): the tuner's winner, else today's. `encode` runs the
 * direction with a given tile on scratch tensors of the shapes given, which the tuner times later.
 */
export function convTile(
  e: Engine,
  dir: ConvDirection,
  key: string,
  mn: [number, number],
  shapes: { x: readonly number[]; w: readonly number[]; y: readonly number[] },
  encode: (t: ConvVariant, s: ConvScratch) => void,
): ConvVariant {
  const prepare = (): TuneBench<ConvVariant> => {
    const s: ConvScratch = {
      x: fill(new Tensor(e, shapes.x, 'f32', { name: 'tune.x' }), 0.5),
      w: fill(new Tensor(e, shapes.w, 'f32', { name: 'tune.w' }), 0.5),
      b: fill(new Tensor(e, [shapes.w[0]], 'f32', { name: 'tune.b' }), 0.5),
      y: fill(new Tensor(e, shapes.y, 'f32', { name: 'tune.y' }), 0.5),
    };
    return { run: (t) => encode(t, s), dispose: () => Object.values(s).forEach((t) => t.dispose()) };
  };
  return e.tuner.pick(key, convCandidates(dir, mn[0], mn[1], e.subgroupKernels), variantLabel, prepare);
}
