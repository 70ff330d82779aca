// gemm_tiled.wgsl — the GEMM of gemm.wgsl (same bindings, uniform block and overrides, so either
// serves any call) shaped for GPUs: workgroup-memory tiles with barriers instead of one invocation's
// registers walking all of K. The autotuner times it against gemm.wgsl's variants (src/ops/linear.ts).
// Bindings: 0 uniform P (as gemm.wgsl; wgx is not read); 1 A, 2 B, 4 C: array<vec4f>, read element
//   by element (any ld and offset, so ALIGN is not needed); 3 bias: array<f32>.
// Tiling: a workgroup of 16×16 invocations owns a BM×BN = 64×64 tile of C, each invocation a 4×4
//   block of it. K is walked BK = 16 at a time: the workgroup loads op(A)[64×16] and B[16×64] into
//   workgroup memory (4 values of each per invocation; 8 KiB), synchronises, and every invocation
//   accumulates its 4×4 block from them.
// Dispatch: (ceil(N/64), ceil(M/64)) workgroups.
// Numerics: each output is fma-accumulated over k = 0, 1, …, K−1 from zero, then bias, old C, ReLU:
//   the order of gemm.wgsl, so the two give the same numbers bit for bit. Values past M, N or K are
//   loaded as 0 (fma(0, 0, acc) = acc) and only feed outputs that are not stored.
override TRANS_A: bool = false;
override TRANS_C: bool = false;
override ALIGN: bool = true;
override BIAS: bool = false;
override RELU: bool = false;
override ACCUM: bool = false;
const BM = 64u;
const BN = 64u;
const BK = 16u;

struct P { M: u32, N: u32, K: u32, lda: u32, ldb: u32, ldc: u32, offA: u32, offB: u32, offC: u32, offBias: u32, wgx: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> A: array<vec4f>;
@group(0) @binding(2) var<storage, read> B: array<vec4f>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> C: array<vec4f>;

var<workgroup> As: array<f32, 1024>; // [BK][BM]
var<workgroup> Bs: array<f32, 1024>; // [BK][BN]

fn elemA(e: u32) -> f32 { return A[e / 4u][e % 4u]; }
fn elemB(e: u32) -> f32 { return B[e / 4u][e % 4u]; }

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
  for (var k0 = 0u; k0 < p.K; k0 += BK) {
    for (var r = 0u; r < 4u; r++) {
      let t = lid + 256u * r;
      let kk = t / BM;
      let mm = t % BM;
      let m = m0 + mm;
      let k = k0 + kk;
      var a = 0.0;
      if (m < p.M && k < p.K) {
        a = select(elemA(p.offA + m * p.lda + k), elemA(p.offA + k * p.lda + m), TRANS_A);
      }
      As[kk * BM + mm] = a;
      let nn = t % BN;
      let kb = t / BN;
      let n = n0 + nn;
      var b = 0.0;
      if (n < p.N && k0 + kb < p.K) { b = elemB(p.offB + (k0 + kb) * p.ldb + n); }
      Bs[kb * BN + nn] = b;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < BK; kk++) {
      var a: array<f32, 4>;
      var b: array<f32, 4>;
      for (var i = 0u; i < 4u; i++) {
        a[i] = As[kk * BM + ty * 4u + i];
        b[i] = Bs[kk * BN + tx * 4u + i];
      }
      for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) { acc[i][j] = fma(a[i], b[j], acc[i][j]); }
      }
    }
    workgroupBarrier();
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
