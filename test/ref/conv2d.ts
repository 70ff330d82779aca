// Float64 CPU reference of 2-D convolution (NCHW input, OIHW weights with groups, PyTorch's
// semantics): forward y = conv(x, w) + b, and the three gradients dx, dw, db of a scalar loss
// given dy. Written as the plain defining sums (no im2col, no tricks) so it is easy to trust; the
// tests check its backward against central finite differences of its forward.

export interface ConvGeom {
  n: number;
  c: number;
  h: number;
  w: number; // input
  o: number;
  kh: number;
  kw: number; // weights [o, c/groups, kh, kw]
  sy: number;
  sx: number;
  py: number;
  px: number;
  groups: number;
  oh: number;
  ow: number; // output
}

export function convGeom(
  x: readonly number[],
  w: readonly number[],
  stride: number | [number, number] = 1,
  padding: number | [number, number] = 0,
  groups = 1,
): ConvGeom {
  const [sy, sx] = typeof stride === 'number' ? [stride, stride] : stride;
  const [py, px] = typeof padding === 'number' ? [padding, padding] : padding;
  const [n, c, h, wd] = x,
    [o, , kh, kw] = w;
  return {
    n,
    c,
    h,
    w: wd,
    o,
    kh,
    kw,
    sy,
    sx,
    py,
    px,
    groups,
    oh: Math.floor((h + 2 * py - kh) / sy) + 1,
    ow: Math.floor((wd + 2 * px - kw) / sx) + 1,
  };
}

/** Visit every (output element, weight element, input element) triple that contributes: f(yi, wi, xi). */
function forEachTerm(g: ConvGeom, f: (yi: number, wi: number, xi: number, o: number) => void): void {
  const cg = g.c / g.groups,
    og = g.o / g.groups;
  for (let n = 0; n < g.n; n++) {
    for (let o = 0; o < g.o; o++) {
      const grp = Math.floor(o / og);
      for (let oy = 0; oy < g.oh; oy++) {
        for (let ox = 0; ox < g.ow; ox++) {
          const yi = ((n * g.o + o) * g.oh + oy) * g.ow + ox;
          for (let ci = 0; ci < cg; ci++) {
            const c = grp * cg + ci;
            for (let ky = 0; ky < g.kh; ky++) {
              const iy = oy * g.sy + ky - g.py;
              if (iy < 0 || iy >= g.h) continue;
              for (let kx = 0; kx < g.kw; kx++) {
                const ix = ox * g.sx + kx - g.px;
                if (ix < 0 || ix >= g.w) continue;
                f(yi, ((o * cg + ci) * g.kh + ky) * g.kw + kx, ((n * g.c + c) * g.h + iy) * g.w + ix, o);
              }
            }
          }
        }
      }
    }
  }
}

/** y = conv(x, w) + b, then max(y, 0) if relu. */
export function conv2dRef(
  g: ConvGeom,
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  b?: ArrayLike<number>,
  relu = false,
): Float64Array {
  const y = new Float64Array(g.n * g.o * g.oh * g.ow);
  forEachTerm(g, (yi, wi, xi) => {
    y[yi] += w[wi] * x[xi];
  });
  const hw = g.oh * g.ow;
  for (let i = 0; i < y.length; i++) {
    if (b) y[i] += b[Math.floor(i / hw) % g.o];
    if (relu) y[i] = Math.max(y[i], 0);
  }
  return y;
}

/** Gradients of Σ dy·conv(x, w, b) (no ReLU: mask dy first for a fused ReLU). */
export function conv2dBackwardRef(
  g: ConvGeom,
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  dy: ArrayLike<number>,
): { dx: Float64Array; dw: Float64Array; db: Float64Array } {
  const dx = new Float64Array(g.n * g.c * g.h * g.w);
  const dw = new Float64Array(g.o * (g.c / g.groups) * g.kh * g.kw);
  const db = new Float64Array(g.o);
  forEachTerm(g, (yi, wi, xi) => {
    dx[xi] += w[wi] * dy[yi];
    dw[wi] += x[xi] * dy[yi];
  });
  const hw = g.oh * g.ow;
  for (let i = 0; i < dy.length; i++) db[Math.floor(i / hw) % g.o] += dy[i];
  return { dx, dw, db };
}

/** dy masked by the ReLU's output: dy where y > 0, else 0. */
export const reluMask = (y: ArrayLike<number>, dy: ArrayLike<number>): Float64Array =>
  Float64Array.from(dy, (d, i) => (y[i] > 0 ? d : 0));
