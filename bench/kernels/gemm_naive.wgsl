// gemm_naive.wgsl — the textbook baseline the benchmark compares kernels/gemm.wgsl against (--naive):
// one invocation per output element, a plain loop over K, no tiling, no reuse, scalar loads.
//   C[m, n] = Σ_k op(A)(m, k) · op(B)(k, n); op(A)(m,k) = A[offA + m·lda + k] (A[offA + k·lda + m]
//   if TRANS_A), op(B)(k,n) = B[offB + k·ldb + n] (B[offB + n·ldb + k] if TRANS_B); C at offC + m·ldc + n.
// Bindings: 0 uniform P; 1 A (read); 2 B (read); 3 C (write).
// Dispatch: (ceil(N/64), M) workgroups of 64.
override TRANS_A: bool = false;
override TRANS_B: bool = false;
override ACCUM: bool = false;
struct P { M: u32, N: u32, K: u32, lda: u32, ldb: u32, ldc: u32, offA: u32, offB: u32, offC: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read_write> C: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3u) {
  let n = g.x;
  let m = g.y;
  if (n >= p.N || m >= p.M) { return; }
  var s = 0.0;
  for (var k = 0u; k < p.K; k++) {
    var a: f32;
    var b: f32;
    if (TRANS_A) { a = A[p.offA + k * p.lda + m]; } else { a = A[p.offA + m * p.lda + k]; }
    if (TRANS_B) { b = B[p.offB + n * p.ldb + k]; } else { b = B[p.offB + k * p.ldb + n]; }
    s = fma(a, b, s);
  }
  let c = p.offC + m * p.ldc + n;
  if (ACCUM) { s += C[c]; }
  C[c] = s;
}
