// Float64 CPU reference for Local Response Normalisation in the paper's form (plain α):
//   y_c = x_c · s_c^−β,  s_c = k + α Σ_{j ∈ [c − ⌊n/2⌋, c + ⌊(n−1)/2⌋] ∩ [0, C)} x_j²
// and its gradient written out term by term from the chain rule (no reuse of y), so it is an
// independent check of the GPU's rearranged formula.
export interface LrnRefOpts {
  size: number;
  alpha: number;
  beta: number;
  k: number;
}

function scales(x: ArrayLike<number>, shape: readonly number[], o: LrnRefOpts): Float64Array {
  const [N, C, H, W] = shape,
    HW = H * W,
    lo = Math.floor(o.size / 2),
    hi = Math.floor((o.size - 1) / 2);
  const s = new Float64Array(N * C * HW);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      for (let p = 0; p < HW; p++) {
        let sum = 0;
        for (let j = Math.max(0, c - lo); j <= Math.min(C - 1, c + hi); j++) sum += x[(n * C + j) * HW + p] ** 2;
        s[(n * C + c) * HW + p] = o.k + o.alpha * sum;
      }
    }
  }
  return s;
}

export function lrnRef(x: ArrayLike<number>, shape: readonly number[], o: LrnRefOpts): Float64Array {
  const s = scales(x, shape, o);
  return s.map((sc, i) => x[i] * sc ** -o.beta);
}

/**
 * dx_c = Σ_j dy_j ∂y_j/∂x_c with ∂y_j/∂x_c = [j = c]·s_j^−β − β·x_j·s_j^(−β−1)·2α·x_c·[c ∈ window(j)].
 */
export function lrnBackwardRef(
  x: ArrayLike<number>,
  dy: ArrayLike<number>,
  shape: readonly number[],
  o: LrnRefOpts,
): Float64Array {
  const [N, C, H, W] = shape,
    HW = H * W,
    lo = Math.floor(o.size / 2),
    hi = Math.floor((o.size - 1) / 2);
  const s = scales(x, shape, o);
  const dx = new Float64Array(s.length);
  for (let n = 0; n < N; n++) {
    for (let j = 0; j < C; j++) {
      for (let p = 0; p < HW; p++) {
        const ij = (n * C + j) * HW + p;
        dx[ij] += dy[ij] * s[ij] ** -o.beta;
        const common = -o.beta * x[ij] * s[ij] ** (-o.beta - 1) * 2 * o.alpha * dy[ij];
        for (let c = Math.max(0, j - lo); c <= Math.min(C - 1, j + hi); c++) {
          const ic = (n * C + c) * HW + p;
          dx[ic] += common * x[ic];
        }
      }
    }
  }
  return dx;
}
