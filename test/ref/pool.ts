// Float64 CPU references for max-pool, average pool and adaptive average pool (NCHW), forward and
// backward, written as the plain definitions: a loop over windows in the forward, a SCATTER of dy
// into the windows in the backward (the GPU gathers instead, so the two are independent).

export type Shape4 = [number, number, number, number];
type Pair = number | readonly [number, number];
export interface PoolOpts {
  kernel: Pair;
  stride?: Pair;
  padding?: Pair;
  countIncludePad?: boolean;
}

const pair = (v: Pair): [number, number] => (typeof v === 'number' ? [v, v] : [v[0], v[1]]);

/** Per output index along one axis: [first, end) of the real elements and the divisor factor. */
interface Win {
  s: number;
  e: number;
  count: number;
}

function fixedWindows(In: number, K: number, S: number, P: number, includePad: boolean): Win[] {
  const Out = Math.floor((In + 2 * P - K) / S) + 1;
  return Array.from({ length: Out }, (_, o) => {
    const s = o * S - P,
      e = Math.min(s + K, In + P);
    const cs = Math.max(s, 0),
      ce = Math.min(e, In);
    return { s: cs, e: ce, count: includePad ? e - s : ce - cs };
  });
}

function adaptiveWindows(In: number, Out: number): Win[] {
  return Array.from({ length: Out }, (_, o) => {
    const s = Math.floor((o * In) / Out),
      e = Math.ceil(((o + 1) * In) / Out);
    return { s, e, count: e - s };
  });
}

function windows(shape: Shape4, o: PoolOpts | { adaptive: [number, number] }): [Win[], Win[]] {
  const [, , H, W] = shape;
  if ('adaptive' in o) return [adaptiveWindows(H, o.adaptive[0]), adaptiveWindows(W, o.adaptive[1])];
  const [KH, KW] = pair(o.kernel),
    [SH, SW] = pair(o.stride ?? o.kernel),
    [PH, PW] = pair(o.padding ?? 0);
  const inc = o.countIncludePad !== false;
  return [fixedWindows(H, KH, SH, PH, inc), fixedWindows(W, KW, SW, PW, inc)];
}

export function poolOutShape(shape: Shape4, o: PoolOpts | { adaptive: [number, number] }): Shape4 {
  const [wy, wx] = windows(shape, o);
  return [shape[0], shape[1], wy.length, wx.length];
}

/** Max-pool: y and argmax (iy·W + ix within the plane; first max in row-major order wins). */
export function maxPool2dRef(
  x: ArrayLike<number>,
  shape: Shape4,
  o: PoolOpts,
): { y: Float64Array; argmax: Uint32Array; outShape: Shape4 } {
  const [N, C, H, W] = shape;
  const [wy, wx] = windows(shape, o);
  const OH = wy.length,
    OW = wx.length;
  const y = new Float64Array(N * C * OH * OW),
    argmax = new Uint32Array(y.length);
  for (let q = 0; q < N * C; q++) {
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++) {
        let m = -Infinity,
          best = -1;
        for (let iy = wy[oy].s; iy < wy[oy].e; iy++) {
          for (let ix = wx[ox].s; ix < wx[ox].e; ix++) {
            const v = x[q * H * W + iy * W + ix];
            if (v > m) {
              m = v;
              best = iy * W + ix;
            }
          }
        }
        y[(q * OH + oy) * OW + ox] = m;
        argmax[(q * OH + oy) * OW + ox] = best;
      }
    }
  }
  return { y, argmax, outShape: [N, C, OH, OW] };
}

/** dx of max-pool: each dy goes to its window's argmax (scatter, accumulating over overlaps). */
export function maxPool2dBackwardRef(
  dy: ArrayLike<number>,
  argmax: ArrayLike<number>,
  shape: Shape4,
  outShape: Shape4,
): Float64Array {
  const [N, C, H, W] = shape,
    [, , OH, OW] = outShape;
  const dx = new Float64Array(N * C * H * W);
  for (let q = 0; q < N * C; q++) {
    for (let o = 0; o < OH * OW; o++) dx[q * H * W + argmax[q * OH * OW + o]] += dy[q * OH * OW + o];
  }
  return dx;
}

/** Average pool (fixed windows) or adaptive average pool ({ adaptive: [oh, ow] }). */
export function avgPool2dRef(
  x: ArrayLike<number>,
  shape: Shape4,
  o: PoolOpts | { adaptive: [number, number] },
): Float64Array {
  const [N, C, H, W] = shape;
  const [wy, wx] = windows(shape, o);
  const OH = wy.length,
    OW = wx.length;
  const y = new Float64Array(N * C * OH * OW);
  for (let q = 0; q < N * C; q++) {
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++) {
        let s = 0;
        for (let iy = wy[oy].s; iy < wy[oy].e; iy++)
          for (let ix = wx[ox].s; ix < wx[ox].e; ix++) s += x[q * H * W + iy * W + ix];
        y[(q * OH + oy) * OW + ox] = s / (wy[oy].count * wx[ox].count);
      }
    }
  }
  return y;
}

/** dx of the average pools: dy / window size scattered over each window's real elements. */
export function avgPool2dBackwardRef(
  dy: ArrayLike<number>,
  shape: Shape4,
  o: PoolOpts | { adaptive: [number, number] },
): Float64Array {
  const [N, C, H, W] = shape;
  const [wy, wx] = windows(shape, o);
  const OH = wy.length,
    OW = wx.length;
  const dx = new Float64Array(N * C * H * W);
  for (let q = 0; q < N * C; q++) {
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++) {
        const g = dy[(q * OH + oy) * OW + ox] / (wy[oy].count * wx[ox].count);
        for (let iy = wy[oy].s; iy < wy[oy].e; iy++)
          for (let ix = wx[ox].s; ix < wx[ox].e; ix++) dx[q * H * W + iy * W + ix] += g;
      }
    }
  }
  return dx;
}
