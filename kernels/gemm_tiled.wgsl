// gemm_tiled.wgsl — the GEMM of gemm.wgsl (same bindings, uniform block and overrides, so either
// serves any call) shaped for GPUs: workgroup-memory tiles with barriers instead of one invocation's
// registers walking all of K. The autotuner times it against gemm.wgsl's variants (src/ops/linear.ts).
// Bindings: 0 uniform P (as gemm.wgsl; wgx is not read); 1 A, 2 B, 4 C: array<vec4f>; 3 bias: array<f32>.
// Tiling: a workgroup of 16×16 invocations owns a BM×BN = 64×64 tile of C, each invocation a 4×4
//   block of it. K is walked BK = 16 at a time through two workgroup buffers (double-buffered):
//   each invocation loads its share of the next step's op(A)[64×16] and B[16×64] tiles into
//   registers (one vec4 of each where ALIGN, along k or m for A and along n for B; else 4 values
//   each, element by element), accumulates the current step from the other buffer meanwhile, then
//   stores them: one barrier per K step, and the global loads overlap the arithmetic.
// Dispatch: (ceil(N/64), ceil(M/64)) workgroups.
// Numerics: each output is fma-accumulated over k = 0, 1, …, K−1 from zero, then bias, old C, ReLU:
//   the order of gemm.wgsl, so the two give the same numbers bit for bit. Values past K are loaded
//   as 0 (fma(0, 0, acc) = acc); indices past M or N are clamped into the matrix and feed only
//   outputs that are not stored.
override TRANS_A: bool = false;
override TRANS_C: bool = false;
override ALIGN: bool = true;
override BIAS: bool = false;
override RELU: bool = false;
override ACCUM: bool = false;
const BM = 64u;
const BN = 64u;
const BK = 16u;
const HALF = 1024u; // one buffer of BK × 64

struct P { M: u32, N: u32, K: u32, lda: u32, ldb: u32, ldc: u32, offA: u32, offB: u32, offC: u32, offBias: u32, wgx: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> A: array<vec4f>;
@group(0) @binding(2) var<storage, read> B: array<vec4f>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> C: array<vec4f>;

var<workgroup> As: array<f32, 2048>; // [2][BK][BM]
var<workgroup> Bs: array<f32, 2048>; // [2][BK][BN]

fn elemA(e: u32) -> f32 { return A[e / 4u][e % 4u]; }
fn elemB(e: u32) -> f32 { return B[e / 4u][e % 4u]; }

// Where value j of this invocation's share goes in a buffer, [k][m] for A and [k][n] for B.
fn slotA(lid: u32, j: u32) -> u32 {
  if (!ALIGN) { return lid + 256u * j; } // t = lid + 256·j: k = t / 64, m = t % 64
  if (TRANS_A) { return (lid / 16u) * BM + (lid % 16u) * 4u + j; } // a vec4 along m
  return ((lid % 4u) * 4u + j) * BM + lid / 4u; // a vec4 along k
}
fn slotB(lid: u32, j: u32) -> u32 {
  if (!ALIGN) { return lid + 256u * j; }
  return (lid / 16u) * BN + (lid % 16u) * 4u + j;
}

// This invocation's 4 values of op(A) at step k0, zero past K.
fn shareA(lid: u32, m0: u32, k0: u32) -> vec4f {
  var v = vec4f(0.0);
  if (ALIGN) {
    let last = (p.K - 1u) & ~3u; // the vec4 holding k = K−1 starts here: still inside the row
    if (TRANS_A) {
      let k = k0 + lid / 16u;
      let m = min(m0 + (lid % 16u) * 4u, (p.M - 1u) & ~3u);
      if (k < p.K) { v = A[(p.offA + k * p.lda + m) / 4u]; }
    } else {
      let k = k0 + (lid % 4u) * 4u;
      let m = min(m0 + lid / 4u, p.M - 1u);
      let w = A[(p.offA + m * p.lda + min(k, last)) / 4u];
      v = select(vec4f(0.0), w, vec4<bool>(k < p.K, k + 1u < p.K, k + 2u < p.K, k + 3u < p.K));
    }
    return v;
  }
  for (var j = 0u; j < 4u; j++) {
    let t = lid + 256u * j;
    let m = m0 + t % BM;
    let k = k0 + t / BM;
    if (m < p.M && k < p.K) { v[j] = select(elemA(p.offA + m * p.lda + k), elemA(p.offA + k * p.lda + m), TRANS_A); }
  }
  return v;
}

// This invocation's 4 values of B at step k0, zero past K.
fn shareB(lid: u32, n0: u32, k0: u32) -> vec4f {
  var v = vec4f(0.0);
  if (ALIGN) {
    let k = k0 + lid / 16u;
    let n = min(n0 + (lid % 16u) * 4u, (p.N - 1u) & ~3u);
    if (k < p.K) { v = B[(p.offB + k * p.ldb + n) / 4u]; }
    return v;
  }
  for (var j = 0u; j < 4u; j++) {
    let t = lid + 256u * j;
    let n = n0 + t % BN;
    let k = k0 + t / BN;
    if (n < p.N && k < p.K) { v[j] = elemB(p.offB + k * p.ldb + n); }
  }
  return v;
}

fn put(buf: u32, lid: u32, a: vec4f, b: vec4f) {
  for (var j = 0u; j < 4u; j++) {
    As[buf * HALF + slotA(lid, j)] = a[j];
    Bs[buf * HALF + slotB(lid, j)] = b[j];
  }
}

fn finish(v: f32, old: f32) -> f32 {
  var r = v;
  if (ACCUM) { r += old; }
  if (RELU) { r = max(r, 0.0); }
  return r;
}

fn store(m: u32, n: u32, v: f32) {
  var x = v;
  var e: u32;
  if (TRANS_C) {
    if (BIAS) { x += bias[p.offBias + m]; }
    e = p.offC + n * p.ldc + m;
  } else {
    if (BIAS) { x += bias[p.offBias + n]; }
    e = p.offC + m * p.ldc + n;
  }
  C[e / 4u][e % 4u] = finish(x, C[e / 4u][e % 4u]);
}

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid3: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let m0 = wid.y * BM;
  let n0 = wid.x * BN;
  let ty = lid3.y;
  let tx = lid3.x;
  var acc: array<array<f32, 4>, 4>;
  var a = shareA(lid, m0, 0u);
  var b = shareB(lid, n0, 0u);
  put(0u, lid, a, b);
  workgroupBarrier();
  var cur = 0u;
  for (var k0 = 0u; k0 < p.K; k0 += BK) {
    let more = k0 + BK < p.K;
    if (more) {
      a = shareA(lid, m0, k0 + BK);
      b = shareB(lid, n0, k0 + BK);
    }
    let base = cur * HALF;
    for (var kk = 0u; kk < BK; kk++) {
      var ra: array<f32, 4>;
      var rb: array<f32, 4>;
      for (var i = 0u; i < 4u; i++) {
        ra[i] = As[base + kk * BM + ty * 4u + i];
        rb[i] = Bs[base + kk * BN + tx * 4u + i];
      }
      for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) { acc[i][j] = fma(ra[i], rb[j], acc[i][j]); }
      }
    }
    // the other buffer was last read before the previous barrier: free to overwrite
    if (more) { put(1u - cur, lid, a, b); }
    workgroupBarrier();
    cur = 1u - cur;
  }
  for (var i = 0u; i < 4u; i++) {
    let m = m0 + ty * 4u + i;
    if (m >= p.M) { break; }
    for (var j = 0u; j < 4u; j++) {
      let n = n0 + tx * 4u + j;
      if (n < p.N) { store(m, n, acc[i][j]); }
    }
  }
}
