// conv2d_fwd_subgroup.wgsl — y = conv(x, w) + b (ReLU) as conv2d_fwd.wgsl (same bindings, uniform
// block, register tile, pixel interleave and summation order) for adapters with `subgroups`: the
// weights, which every invocation of a workgroup needs alike, are loaded once per subgroup and
// passed between lanes by subgroupShuffle instead of loaded by every lane.
//   Per group g:  Y_g[o, q] = Σ_k W_g[o, k] · Xcol_g[k, q],  k = (c·KH + ky)·KW + kx.
// Bindings: 0 uniform P; 1 x (read); 2 w (read); 3 b (read; any buffer when !HAS_BIAS); 4 y (write).
// Dispatch: (ceil(n·OH·OW / (64·TN)), ceil(Og / TM), groups) workgroups of 64 invocations.
// Tiling: each invocation owns TM output channels × TN output pixels (pixel = base + j·64 + local
//   index). K is walked S = subgroup_size taps at a time: lane l loads the TM weights of tap k0 + l,
//   then for each of the S taps every lane gathers its TN inputs and takes the weights from lane
//   k − k0. The tap's (c, ky, kx) are stepped, not divided, and row checks hoisted per (c, ky).
//   Shared values depend only on the lane id and all 64 invocations share the channel block, so the
//   kernel is right however invocations form subgroups of up to 64 lanes. No invocation returns early.
// Numerics: fma from zero in k order, bias last: conv2d_fwd.wgsl's numbers bit for bit.
enable subgroups;

override TM: u32 = 16;          // output channels per invocation (TM·TN ≤ 128)
override TN: u32 = 8;           // output pixels per invocation (≤ 16)
override HAS_BIAS: bool = true;
override RELU: bool = false;
const WG = 64u;

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

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32,
        @builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) sgs: u32) {
  let g = wid.z;
  let o0 = wid.y * TM;
  let ohw = p.oh * p.ow;
  let npix = p.n * ohw;
  let hw = i32(p.h * p.w);
  let kk = p.cg * p.kh * p.kw;
  let step = min(sgs, WG);
  var xb: array<i32, 16>;
  var iy0: array<i32, 16>;
  var ix0: array<i32, 16>;
  for (var j = 0u; j < TN; j++) {
    let q = min(wid.x * WG * TN + j * WG + lid, npix - 1u);
    let img = q / ohw;
    let r = q - img * ohw;
    let oy = r / p.ow;
    iy0[j] = i32(oy * p.sy) - i32(p.py);
    ix0[j] = i32((r - oy * p.ow) * p.sx) - i32(p.px);
    xb[j] = i32((img * p.c + g * p.cg) * p.h * p.w);
  }
  var wrow: array<u32, 16>;
  for (var i = 0u; i < TM; i++) { wrow[i] = (g * p.og + min(o0 + i, p.og - 1u)) * kk; }

  var acc: array<f32, 128>;
  for (var i = 0u; i < TM * TN; i++) { acc[i] = 0.0; }
  var rowok: array<bool, 16>;
  var rowat: array<i32, 16>;
  var xv: array<f32, 16>;
  var ws: array<f32, 16>;
  var c = 0u;
  var ky = 0u;
  var kx = 0u;
  for (var k0 = 0u; k0 < kk; k0 += step) {
    let mine = min(k0 + lane, kk - 1u);
    for (var i = 0u; i < TM; i++) { ws[i] = w[wrow[i] + mine]; }
    let kn = min(step, kk - k0);
    for (var t = 0u; t < kn; t++) {
      if (kx == 0u) {
        for (var j = 0u; j < TN; j++) {
          let iy = iy0[j] + i32(ky);
          rowok[j] = u32(iy) < p.h;
          rowat[j] = xb[j] + i32(c) * hw + iy * i32(p.w) + ix0[j];
        }
      }
      for (var j = 0u; j < TN; j++) {
        let ok = rowok[j] && u32(ix0[j] + i32(kx)) < p.w;
        xv[j] = select(0.0, x[select(0, rowat[j] + i32(kx), ok)], ok);
      }
      for (var i = 0u; i < TM; i++) {
        let wv = subgroupShuffle(ws[i], t);
        for (var j = 0u; j < TN; j++) { acc[i * TN + j] = fma(wv, xv[j], acc[i * TN + j]); }
      }
      kx++;
      if (kx == p.kw) {
        kx = 0u;
        ky++;
        if (ky == p.kh) {
          ky = 0u;
          c++;
        }
      }
    }
  }

  for (var j = 0u; j < TN; j++) {
    let q = wid.x * WG * TN + j * WG + lid;
    if (q < npix) {
      let img = q / ohw;
      let at = (img * p.o + g * p.og + o0) * ohw + q - img * ohw;
      for (var i = 0u; i < TM; i++) {
        if (o0 + i < p.og) {
          var v = acc[i * TN + j] + select(0.0, b[g * p.og + o0 + i], HAS_BIAS);
          if (RELU) { v = max(v, 0.0); }
          y[at + i * ohw] = v;
        }
      }
    }
  }
}
