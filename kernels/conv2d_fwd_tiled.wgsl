// conv2d_fwd_tiled.wgsl — the forward convolution of conv2d_fwd.wgsl (same implicit GEMM, bindings,
// uniform block and bias/ReLU overrides) shaped for GPUs: workgroup-memory tiles with barriers. The
// autotuner times it against conv2d_fwd.wgsl's register tiles (src/ops/conv2d_tiles.ts).
//   Per group g:  Y_g[o, q] = Σ_k W_g[o, k] · Xcol_g[k, q],  k = (c·KH + ky)·KW + kx < Cg·KH·KW.
// Bindings: 0 uniform P (as conv2d_fwd.wgsl); 1 x, 2 w, 3 b (any buffer when !HAS_BIAS), 4 y: array<f32>.
// Tiling: a workgroup of 16×16 invocations owns 64 output channels × 64 output pixels of one group,
//   each invocation a 4×4 block. K is walked BK = 16 at a time through two workgroup buffers
//   (double-buffered, 16 KiB): each invocation gathers its four values of the next step's W[64×16]
//   and Xcol[16×64] (zero in the padding) into registers, accumulates the current step from the
//   other buffer meanwhile, then stores them: one barrier per step.
// Dispatch: (ceil(n·OH·OW / 64), ceil(Og / 64), groups) workgroups.
// Numerics: fma from zero in k order (c, ky, kx), bias last, then ReLU: the order of conv2d_fwd.wgsl,
//   so both give the same numbers bit for bit. Values past Og, the pixels or K load as 0 and only
//   feed outputs that are not stored.
override HAS_BIAS: bool = true;
override RELU: bool = false;
const BM = 64u;
const BN = 64u;
const BK = 16u;

struct P {
  n: u32, c: u32, h: u32, w: u32,
  o: u32, oh: u32, ow: u32,
  kh: u32, kw: u32, sy: u32, sx: u32, py: u32, px: u32,
  cg: u32, og: u32,
}
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

var<workgroup> Ws: array<f32, 2048>; // [2][BK][BM]
var<workgroup> Xs: array<f32, 2048>; // [2][BK][BN]
const HALF = 1024u;

// Weight (g·Og + o0 + t % 64, k0 + t / 64), zero past Og or K.
fn weightAt(t: u32, g: u32, o0: u32, k0: u32) -> f32 {
  let kk = p.cg * p.kh * p.kw;
  let mo = o0 + t % BM;
  let k = k0 + t / BM;
  if (mo < p.og && k < kk) { return w[(g * p.og + mo) * kk + k]; }
  return 0.0;
}

// Input column value (k0 + t / 64, pixel q0 + t % 64), zero in the padding and past the pixels or K.
fn inputAt(t: u32, g: u32, q0: u32, k0: u32) -> f32 {
  let ohw = p.oh * p.ow;
  let khw = p.kh * p.kw;
  let q = q0 + t % BN;
  let k = k0 + t / BN;
  if (q >= p.n * ohw || k >= p.cg * khw) { return 0.0; }
  let img = q / ohw;
  let rr = q - img * ohw;
  let oy = rr / p.ow;
  let c = k / khw;
  let ky = (k - c * khw) / p.kw;
  let kx = k - c * khw - ky * p.kw;
  let iy = i32(oy * p.sy + ky) - i32(p.py);
  let ix = i32((rr - oy * p.ow) * p.sx + kx) - i32(p.px);
  if (u32(iy) < p.h && u32(ix) < p.w) { return x[((img * p.c + g * p.cg + c) * p.h + u32(iy)) * p.w + u32(ix)]; }
  return 0.0;
}

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid3: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let g = wid.z;
  let o0 = wid.y * BM;
  let q0 = wid.x * BN;
  let ohw = p.oh * p.ow;
  let npix = p.n * ohw;
  let kk = p.cg * p.kh * p.kw;
  var acc: array<array<f32, 4>, 4>;
  var wr: array<f32, 4>;
  var xr: array<f32, 4>;
  for (var r = 0u; r < 4u; r++) {
    wr[r] = weightAt(lid + 256u * r, g, o0, 0u);
    xr[r] = inputAt(lid + 256u * r, g, q0, 0u);
  }
  for (var r = 0u; r < 4u; r++) {
    Ws[lid + 256u * r] = wr[r];
    Xs[lid + 256u * r] = xr[r];
  }
  workgroupBarrier();
  var cur = 0u;
  for (var k0 = 0u; k0 < kk; k0 += BK) {
    let more = k0 + BK < kk;
    if (more) {
      for (var r = 0u; r < 4u; r++) {
        wr[r] = weightAt(lid + 256u * r, g, o0, k0 + BK);
        xr[r] = inputAt(lid + 256u * r, g, q0, k0 + BK);
      }
    }
    let base = cur * HALF;
    for (var s = 0u; s < BK; s++) {
      var a: array<f32, 4>;
      var v: array<f32, 4>;
      for (var i = 0u; i < 4u; i++) {
        a[i] = Ws[base + s * BM + lid3.y * 4u + i];
        v[i] = Xs[base + s * BN + lid3.x * 4u + i];
      }
      for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) { acc[i][j] = fma(a[i], v[j], acc[i][j]); }
      }
    }
    // the other buffer was last read before the previous barrier: free to overwrite
    if (more) {
      for (var r = 0u; r < 4u; r++) {
        Ws[(1u - cur) * HALF + lid + 256u * r] = wr[r];
        Xs[(1u - cur) * HALF + lid + 256u * r] = xr[r];
      }
    }
    workgroupBarrier();
    cur = 1u - cur;
  }
  for (var j = 0u; j < 4u; j++) {
    let q = q0 + lid3.x * 4u + j;
    if (q >= npix) { continue; }
    let img = q / ohw;
    for (var i = 0u; i < 4u; i++) {
      let o = o0 + lid3.y * 4u + i;
      if (o >= p.og) { continue; }
      var v = acc[i][j] + select(0.0, b[g * p.og + o], HAS_BIAS);
      if (RELU) { v = max(v, 0.0); }
      y[(img * p.o + g * p.og + o) * ohw + q - img * ohw] = v;
    }
  }
}
