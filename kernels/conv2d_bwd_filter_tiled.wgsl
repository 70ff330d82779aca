// conv2d_bwd_filter_tiled.wgsl — dw of conv2d_bwd_filter.wgsl (same GEMM over batch × space, split-K
// over the batch, bindings, uniform block) shaped for GPUs: workgroup-memory tiles with barriers.
// The autotuner times it against the register-tiled kernel (src/ops/conv2d_tiles.ts).
//   Per group g:  dW_g[o, k] (+)= Σ_r dY_g[o, r] · Xcol_g[k, r],  k = (c·KH + ky)·KW + kx, r = (img, oy, ox).
// Bindings: 0 uniform P (as conv2d_bwd_filter.wgsl); 1 x, 2 dy, 3 dw: array<f32>.
// Tiling: a workgroup of 16×16 invocations owns 64 output channels × 64 taps, each invocation a 4×4
//   block; its split's r range is walked BK = 16 at a time through two workgroup buffers
//   (double-buffered, 16 KiB: dY[64×16], Xcol[16×64]): each invocation gathers its four values of
//   each for the next step into registers while it accumulates the current one, then stores them;
//   one barrier a step.
// Dispatch: (ceil(Cg·KH·KW / 64), ceil(Og / 64), groups · splits) workgroups; z = split·groups + g.
// Numerics: fma from zero in (img, oy, ox) order, then + the old dw if accumulate, as
//   conv2d_bwd_filter.wgsl: the same numbers bit for bit.
const BM = 64u;
const BN = 64u;
const BK = 16u;

struct P {
  n: u32, c: u32, h: u32, w: u32,
  o: u32, oh: u32, ow: u32,
  kh: u32, kw: u32, sy: u32, sx: u32, py: u32, px: u32,
  cg: u32, og: u32,
  accumulate: u32,
  ips: u32,
}
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dw: array<f32>;

var<workgroup> Ds: array<f32, 2048>; // [2][BK][BM]
var<workgroup> Xs: array<f32, 2048>; // [2][BK][BN]
const HALF = 1024u;

// Share t of the step at r0: (dY[o0 + t % 64, r0 + t / 64], Xcol[k0 + t % 64, r0 + t / 64]) of group g,
// zero past the channels, the taps, the split's end, or in the padding.
fn shares(g: u32, o0: u32, k0: u32, r0: u32, r_end: u32, t: u32) -> vec2f {
  let r = r0 + t / BM;
  if (r >= r_end) { return vec2f(0.0); }
  let khw = p.kh * p.kw;
  let ohw = p.oh * p.ow;
  let img = r / ohw;
  let q = r - img * ohw;
  var v = vec2f(0.0);
  let o = o0 + t % BM;
  if (o < p.og) { v.x = dy[(img * p.o + g * p.og + o) * ohw + q]; }
  let k = k0 + t % BN;
  if (k < p.cg * khw) {
    let oy = q / p.ow;
    let c = k / khw;
    let ky = (k - c * khw) / p.kw;
    let kx = k - c * khw - ky * p.kw;
    let iy = i32(oy * p.sy + ky) - i32(p.py);
    let ix = i32((q - oy * p.ow) * p.sx + kx) - i32(p.px);
    if (u32(iy) < p.h && u32(ix) < p.w) { v.y = x[((img * p.c + g * p.cg + c) * p.h + u32(iy)) * p.w + u32(ix)]; }
  }
  return v;
}

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid3: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let groups = p.c / p.cg;
  let g = wid.z % groups;
  let split = wid.z / groups;
  let o0 = wid.y * BM;
  let k0 = wid.x * BN;
  let kk = p.cg * p.kh * p.kw;
  let ohw = p.oh * p.ow;
  let r_begin = split * p.ips * ohw;
  let r_end = min(p.n, (split + 1u) * p.ips) * ohw;
  var acc: array<array<f32, 4>, 4>;
  var sh: array<vec2f, 4>;
  for (var s = 0u; s < 4u; s++) { sh[s] = shares(g, o0, k0, r_begin, r_end, lid + 256u * s); }
  for (var s = 0u; s < 4u; s++) {
    Ds[lid + 256u * s] = sh[s].x;
    Xs[lid + 256u * s] = sh[s].y;
  }
  workgroupBarrier();
  var cur = 0u;
  for (var r0 = r_begin; r0 < r_end; r0 += BK) {
    let more = r0 + BK < r_end;
    if (more) {
      for (var s = 0u; s < 4u; s++) { sh[s] = shares(g, o0, k0, r0 + BK, r_end, lid + 256u * s); }
    }
    let base = cur * HALF;
    for (var s = 0u; s < BK; s++) {
      var a: array<f32, 4>;
      var v: array<f32, 4>;
      for (var i = 0u; i < 4u; i++) {
        a[i] = Ds[base + s * BM + lid3.y * 4u + i];
        v[i] = Xs[base + s * BN + lid3.x * 4u + i];
      }
      for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) { acc[i][j] = fma(a[i], v[j], acc[i][j]); }
      }
    }
    // the other buffer was last read before the previous barrier: free to overwrite
    if (more) {
      for (var s = 0u; s < 4u; s++) {
        Ds[(1u - cur) * HALF + lid + 256u * s] = sh[s].x;
        Xs[(1u - cur) * HALF + lid + 256u * s] = sh[s].y;
      }
    }
    workgroupBarrier();
    cur = 1u - cur;
  }
  for (var j = 0u; j < 4u; j++) {
    let k = k0 + lid3.x * 4u + j;
    if (k >= kk) { continue; }
    for (var i = 0u; i < 4u; i++) {
      let o = o0 + lid3.y * 4u + i;
      if (o >= p.og) { continue; }
      let at = (split * p.o + g * p.og + o) * kk + k;
      var s = acc[i][j];
      if (p.accumulate != 0u) { s += dw[at]; }
      dw[at] = s;
    }
  }
}
