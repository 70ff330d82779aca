// Float64 CPU reference of matrix products and the fully connected layer (PyTorch layout):
// matmul C = op(A)·op(B); linear y = x·wᵀ + b (ReLU), and the gradients dx, dw, db of a scalar
// loss given dy. Plain defining sums, so they are easy to trust; the tests check the backward
// against central finite differences of the forward.

/** C[M,N] = op(A)·op(B): A stored [M,K] ([K,M] if transA), B stored [K,N] ([N,K] if transB). */
export function matmulRef(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  M: number,
  K: number,
  N: number,
  transA = false,
  transB = false,
): Float64Array {
  const c = new Float64Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += (transA ? a[k * M + m] : a[m * K + k]) * (transB ? b[n * K + k] : b[k * N + n]);
      c[m * N + n] = s;
    }
  }
  return c;
}

export interface LinearDims {
  B: number;
  inF: number;
  out: number;
}

/** y[B,out] = x[B,in]·w[out,in]ᵀ + b[out], then max(·, 0) if relu. */
export function linearRef(
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  b: ArrayLike<number> | undefined,
  d: LinearDims,
  relu = false,
): Float64Array {
  const y = matmulRef(x, w, d.B, d.inF, d.out, false, true);
  for (let i = 0; i < y.length; i++) {
    const v = y[i] + (b ? b[i % d.out] : 0);
    y[i] = relu ? Math.max(v, 0) : v;
  }
  return y;
}

/** dx = dz·w, dw = dzᵀ·x, db = Σ_batch dz, with dz = dy masked by y > 0 if relu (y = forward output). */
export function linearBackwardRef(
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  y: ArrayLike<number>,
  dy: ArrayLike<number>,
  d: LinearDims,
  relu = false,
): { dx: Float64Array; dw: Float64Array; db: Float64Array } {
  const dz = Float64Array.from(dy, (g, i) => (relu && !(y[i] > 0) ? 0 : g));
  const dx = matmulRef(dz, w, d.B, d.out, d.inF);
  const dw = matmulRef(dz, x, d.out, d.B, d.inF, true, false);
  const db = new Float64Array(d.out);
  for (let i = 0; i < dz.length; i++) db[i % d.out] += dz[i];
  return { dx, dw, db };
}
