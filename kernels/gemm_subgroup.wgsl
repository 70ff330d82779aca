// gemm_subgroup.wgsl — the GEMM of gemm.wgsl (same bindings, uniform block and overrides, so either
// serves any call) for adapters with the `subgroups` feature: one operand's values are shared
// between the lanes of a subgroup by subgroupShuffle instead of every lane loading them.
// Bindings: 0 uniform P (as gemm.wgsl; wgx is not read); 1 A, 2 B, 4 C: array<vec4f>; 3 bias.
// Tiling: a workgroup of 64 invocations owns a strip of C. With LANES_M false (the default) all 64
//   share 8 rows m0…m0+7 and each owns 4 columns (a strip of 8 × 256); with LANES_M each owns 4 rows
//   and all share 8 columns (256 × 8). K is walked S = subgroup_size values at a time: lane l of a
//   subgroup loads the shared operand at k0 + l (8 values), then for each of the S k's every lane
//   takes them from lane k − k0 (subgroupShuffle) and loads its own operand (one vec4) itself.
// Lanes own outputs by local_invocation_index and load shared values by subgroup_invocation_id, and
//   every lane of the workgroup shares the same 8 rows (columns): so the kernel is right however the
//   adapter groups invocations into subgroups, for any subgroup size up to 64 (the engine offers it
//   only where the adapter's subgroupMaxSize ≤ 64). No invocation returns early: an idle lane still
//   loads (clamped) values its subgroup shares.
// Dispatch: (ceil(N/256), ceil(M/8)) workgroups, or (ceil(N/8), ceil(M/256)) with LANES_M.
// Numerics: each output is fma-accumulated over k = 0, 1, …, K−1 from zero, then bias, old C, ReLU:
//   the order of gemm.wgsl, so the two give the same numbers bit for bit.
enable subgroups;

override TRANS_A: bool = false;
override TRANS_C: bool = false;
override ALIGN: bool = true;
override BIAS: bool = false;
override RELU: bool = false;
override ACCUM: bool = false;
override LANES_M: bool = false;

struct P { M: u32, N: u32, K: u32, lda: u32, ldb: u32, ldc: u32, offA: u32, offB: u32, offC: u32, offBias: u32, wgx: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> A: array<vec4f>;
@group(0) @binding(2) var<storage, read> B: array<vec4f>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> C: array<vec4f>;

// op(A)(m, k) and B(k, n..n+3), indices clamped into the matrices (clamped values feed only
// outputs that are not stored, or k's the shuffle loop never reaches).
fn opA(m: u32, k: u32) -> f32 {
  let mm = min(m, p.M - 1u);
  let kc = min(k, p.K - 1u);
  let e = select(p.offA + mm * p.lda + kc, p.offA + kc * p.lda + mm, TRANS_A);
  return A[e / 4u][e % 4u];
}
fn rowB(k: u32, n: u32) -> vec4f {
  let i = p.offB + min(k, p.K - 1u) * p.ldb + min(n, p.N - 1u);
  if (ALIGN) { return B[i / 4u]; }
  return vec4f(B[i / 4u][i % 4u], B[(i + 1u) / 4u][(i + 1u) % 4u], B[(i + 2u) / 4u][(i + 2u) % 4u], B[(i + 3u) / 4u][(i + 3u) % 4u]);
}

// As gemm.wgsl: + old C if ACCUM, then ReLU; `old` is ignored otherwise (a recycled buffer may hold NaN).
fn finish(v: vec4f, old: vec4f) -> vec4f {
  var r = v;
  if (ACCUM) { r += old; }
  if (RELU) { r = max(r, vec4f(0.0)); }
  return r;
}

// Store C(m, n..n+3) (fewer at the right edge), as gemm.wgsl does.
fn store(m: u32, n: u32, acc: vec4f) {
  if (m >= p.M || n >= p.N) { return; }
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
    let last = p.offBias + p.N - 1u;
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
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32,
        @builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) sgs: u32) {
  let step = min(sgs, 64u);
  // acc[i]: row i (LANES_M: row i / 2) of this lane's outputs, 4 columns (LANES_M: columns 4·(i % 2)…)
  var acc: array<vec4f, 8>;
  if (LANES_M) {
    let m0 = (wid.y * 64u + lid) * 4u; // own rows m0…m0+3
    let n0 = wid.x * 8u;               // shared columns n0…n0+7
    for (var k0 = 0u; k0 < p.K; k0 += step) {
      let s0 = rowB(k0 + lane, n0);
      let s1 = rowB(k0 + lane, n0 + 4u);
      let kn = min(step, p.K - k0);
      for (var kk = 0u; kk < kn; kk++) {
        let b0 = subgroupShuffle(s0, kk);
        let b1 = subgroupShuffle(s1, kk);
        for (var i = 0u; i < 4u; i++) {
          let a = vec4f(opA(m0 + i, k0 + kk));
          acc[2u * i] = fma(a, b0, acc[2u * i]);
          acc[2u * i + 1u] = fma(a, b1, acc[2u * i + 1u]);
        }
      }
    }
    for (var i = 0u; i < 4u; i++) {
      store(m0 + i, n0, acc[2u * i]);
      store(m0 + i, n0 + 4u, acc[2u * i + 1u]);
    }
  } else {
    let m0 = wid.y * 8u;               // shared rows m0…m0+7
    let n0 = (wid.x * 64u + lid) * 4u; // own columns n0…n0+3
    for (var k0 = 0u; k0 < p.K; k0 += step) {
      var s: array<f32, 8>;
      for (var i = 0u; i < 8u; i++) { s[i] = opA(m0 + i, k0 + lane); }
      let kn = min(step, p.K - k0);
      for (var kk = 0u; kk < kn; kk++) {
        let b = rowB(k0 + kk, n0);
        for (var i = 0u; i < 8u; i++) { acc[i] = fma(vec4f(subgroupShuffle(s[i], kk)), b, acc[i]); }
      }
    }
    for (var i = 0u; i < 8u; i++) { store(m0 + i, n0, acc[i]); }
  }
}
