// gemm.wgsl — C[M,N] = op(A)[M,K] · B[K,N] (+ bias) (+ C) (ReLU), row-major f32: the fully
// connected layer's forward (yᵀ = W·xᵀ), data gradient (dX = dY·W) and weight gradient (dW = dYᵀ·X).
// Bindings: 0 uniform P {M, N, K, lda, ldb, ldc, offA, offB, offC, offBias (u32, element units),
//   wgx (tiles per workgroup along n: 1..64, a power of two)};
//   1 A: array<vec4f> (read)  op(A)(m,k) = A[offA + m·lda + k], or A[offA + k·lda + m] if TRANS_A;
//   2 B: array<vec4f> (read)  B(k,n) = B[offB + k·ldb + n];
//   3 bias: array<f32> (read), read only if BIAS (bind any buffer otherwise);
//   4 C: array<vec4f> (read_write)  C(m,n) at C[offC + m·ldc + n], or at C[offC + n·ldc + m] if
//     TRANS_C. ldc/offC let one GEMM fill a column range of a wider matrix (a weight chunk's
//     slice of y).
// Overrides: TRANS_A; TRANS_C (store Cᵀ, element by element); BIAS adds bias[offBias + j] to stored
//   column j (n, or m if TRANS_C); ACCUM adds the old C (sums over weight chunks); RELU last;
//   ALIGN: every ld and offset is a multiple of 4 (C's only matters without TRANS_C), so rows
//   start on a vec4 and are read/written as whole vec4s; else element by element (layers with
//   sizes like 10 or 37; ~2× slower). One flag, not one per operand: fewer pipelines to compile
//   (~0.7 s each on lavapipe). There is no transposed B: reading B along k measured 10 GFLOP/s
//   against 16 along n, so callers transpose the small operand first (gemm_transpose.wgsl).
// Tiling (lavapipe, /work/shared/LAVAPIPE.md): no workgroup memory; each invocation owns a TM×TN =
//   8×16 register tile (32 vec4 accumulators) and walks K four at a time, loading an 8×4 A fragment
//   as 8 vec4 (along k, or along m if TRANS_A, then regrouped along k) and a 4×16 B fragment as 16
//   vec4 along n. Lavapipe runs invocations as SIMD lanes, so a vec4 is four registers and
//   regrouping is free, but only with indices known after unrolling: the inner loop indexes
//   fragments one way for every layout (a[i][kk]), which measured 17 GFLOP/s for TRANS_A against
//   13 when it indexed a[kk·2 + i/4][i%4].
//   Workgroups of 64 invocations = wgx × (64/wgx) tiles, so one pipeline serves wide and narrow
//   problems. Dispatch: (ceil(N/(16·wgx)), ceil(M/(8·64/wgx))) workgroups.
// Bounds: loads past M/N are clamped into the binding and feed only outputs that are never stored;
//   the last K step zeroes both fragments past K, so padding (even NaN) never reaches a stored sum.
//   The summation order is fixed: results are bitwise reproducible for a given shape.
override TRANS_A: bool = false;
override TRANS_C: bool = false;
override ALIGN: bool = true;
override BIAS: bool = false;
override RELU: bool = false;
override ACCUM: bool = false;
const TM = 8u;
const TN = 16u;

struct P { M: u32, N: u32, K: u32, lda: u32, ldb: u32, ldc: u32, offA: u32, offB: u32, offC: u32, offBias: u32, wgx: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> A: array<vec4f>;
@group(0) @binding(2) var<storage, read> B: array<vec4f>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> C: array<vec4f>;

// Four consecutive elements from flat index i (i % 4 == 0 when aligned).
fn loadA(i: u32) -> vec4f {
  if (ALIGN) { return A[i / 4u]; }
  return vec4f(A[i / 4u][i % 4u], A[(i + 1u) / 4u][(i + 1u) % 4u], A[(i + 2u) / 4u][(i + 2u) % 4u], A[(i + 3u) / 4u][(i + 3u) % 4u]);
}
fn loadB(i: u32) -> vec4f {
  if (ALIGN) { return B[i / 4u]; }
  return vec4f(B[i / 4u][i % 4u], B[(i + 1u) / 4u][(i + 1u) % 4u], B[(i + 2u) / 4u][(i + 2u) % 4u], B[(i + 3u) / 4u][(i + 3u) % 4u]);
}

// One K step of kn ≤ 4 values: acc[i·4 + j] += op(A)(m0+i, k..k+kn) · B(k..k+kn, n0+4j..+3).
// The masks run on every step: an unmasked main loop plus a masked tail doubled the code (1.4 s
// instead of 0.7 s to compile a pipeline on lavapipe) and measured no faster.
fn step(acc: ptr<function, array<vec4f, 32>>, m0: u32, n0: u32, k: u32, kn: u32) {
  let keep = vec4<bool>(kn > 0u, kn > 1u, kn > 2u, kn > 3u);
  // a[i] = op(A) row m0+i at k..k+3
  var a: array<vec4f, 8>;
  if (TRANS_A) {
    // rows k..k+3 of the stored A, 8 values along m each, regrouped into a[i] along k
    var t: array<vec4f, 8>;
    for (var r = 0u; r < 8u; r++) {
      let kk = r / 2u;
      let v = loadA(p.offA + min(k + kk, p.K - 1u) * p.lda + min(m0 + (r % 2u) * 4u, p.M - 1u));
      t[r] = select(vec4f(0.0), v, kk < kn);
    }
    for (var i = 0u; i < TM; i++) {
      a[i] = vec4f(t[i / 4u][i % 4u], t[2u + i / 4u][i % 4u], t[4u + i / 4u][i % 4u], t[6u + i / 4u][i % 4u]);
    }
  } else {
    for (var r = 0u; r < 8u; r++) {
      a[r] = select(vec4f(0.0), loadA(p.offA + min(m0 + r, p.M - 1u) * p.lda + k), keep);
    }
  }
  for (var kk = 0u; kk < 4u; kk++) {
    var b: array<vec4f, 4>;
    for (var j = 0u; j < 4u; j++) {
      let v = loadB(p.offB + min(k + kk, p.K - 1u) * p.ldb + min(n0 + 4u * j, p.N - 1u));
      b[j] = select(vec4f(0.0), v, kk < kn);
    }
    for (var i = 0u; i < TM; i++) {
      for (var j = 0u; j < 4u; j++) {
        (*acc)[i * 4u + j] = fma(vec4f(a[i][kk]), b[j], (*acc)[i * 4u + j]);
      }
    }
  }
}

// The stored value: + old C if ACCUM, then ReLU. `old` is ignored otherwise: a recycled output
// buffer may hold NaN, which a plain GEMM must overwrite, not add.
fn finish(v: vec4f, old: vec4f) -> vec4f {
  var r = v;
  if (ACCUM) { r += old; }
  if (RELU) { r = max(r, vec4f(0.0)); }
  return r;
}

// Store C(m, n..n+3) (fewer at the right edge) from the tile.
fn store(m: u32, n: u32, acc: vec4f) {
  let cnt = min(4u, p.N - n);
  if (TRANS_C) {
    var v = acc;
    if (BIAS) { v += bias[p.offBias + m]; }
    for (var l = 0u; l < cnt; l++) {
      let e = p.offC + (n + l) * p.ldc + m;
      C[e / 4u][e % 4u] = finish(vec4f(v[l]), vec4f(C[e / 4u][e % 4u])).x;
    }
    return;
  }
  var v = acc;
  if (BIAS) {
    let b = p.offBias + n;
    let last = p.offBias + p.N - 1u; // lanes past N are not stored; keep their reads in range
    v += vec4f(bias[b], bias[min(b + 1u, last)], bias[min(b + 2u, last)], bias[min(b + 3u, last)]);
  }
  let c = p.offC + m * p.ldc + n;
  if (ALIGN && cnt == 4u) {
    C[c / 4u] = finish(v, C[c / 4u]);
    return;
  }
  for (var l = 0u; l < cnt; l++) {
    let e = c + l;
    C[e / 4u][e % 4u] = finish(vec4f(v[l]), vec4f(C[e / 4u][e % 4u])).x;
  }
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  // the 64 invocations form a wgx × (64/wgx) grid of tiles, x fastest (one SIMD row of lanes)
  let m0 = (wid.y * (64u / p.wgx) + lid / p.wgx) * TM;
  let n0 = (wid.x * p.wgx + lid % p.wgx) * TN;
  if (m0 >= p.M || n0 >= p.N) { return; } // no barriers, so idle invocations may leave
  var acc: array<vec4f, 32>;
  for (var k = 0u; k < p.K; k += 4u) { step(&acc, m0, n0, k, min(4u, p.K - k)); }
  for (var i = 0u; i < TM; i++) {
    if (m0 + i >= p.M) { break; }
    for (var j = 0u; j < 4u; j++) {
      if (n0 + 4u * j >= p.N) { break; }
      store(m0 + i, n0 + 4u * j, acc[i * 4u + j]);
    }
  }
}
