// conv2d_bwd_filter_subgroup.wgsl — dw of conv2d_bwd_filter.wgsl (same GEMM over batch × space,
// split-K over the batch, bindings, uniform block, register tile and summation order) for adapters
// with `subgroups`: the output gradient, alike for every invocation of a workgroup, is loaded once
// per subgroup (lanes read neighbouring pixels) and passed between lanes by subgroupShuffle.
//   Per group g:  dW_g[o, k] (+)= Σ_r dY_g[o, r] · Xcol_g[k, r],  r = (img, oy, ox).
// Bindings: 0 uniform P; 1 x (read); 2 dy (read); 3 dw (read_write).
// Dispatch: (ceil(Cg·KH·KW / (64·TN)), ceil(Og / TM), groups · splits) workgroups of 64 invocations.
// Tiling: each invocation owns TM output channels × TN taps (taps interleaved across the workgroup).
//   The split's r range is walked S = subgroup_size pixels at a time: lane l loads dY[o0…o0+TM−1,
//   r0 + l], then for each of the S pixels every lane gathers its TN inputs and takes dY from lane
//   r − r0; (img, oy, ox) are stepped, row checks hoisted per (img, oy). Right for any grouping of
//   invocations into subgroups of up to 64 lanes; no invocation returns early.
// Numerics: fma from zero in (img, oy, ox) order, then + the old dw if accumulate:
//   conv2d_bwd_filter.wgsl's numbers bit for bit.
enable subgroups;

override TM: u32 = 16;
override TN: u32 = 8;
const WG = 64u;

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

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32,
        @builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) sgs: u32) {
  let groups = p.c / p.cg;
  let g = wid.z % groups;
  let split = wid.z / groups;
  let o0 = wid.y * TM;
  let khw = p.kh * p.kw;
  let kk = p.cg * khw;
  let hw = p.h * p.w;
  let ohw = p.oh * p.ow;
  let step = min(sgs, WG);
  var xoff: array<i32, 16>;
  var dky: array<i32, 16>;
  var dkx: array<i32, 16>;
  for (var j = 0u; j < TN; j++) {
    let k = min(wid.x * WG * TN + j * WG + lid, kk - 1u);
    let c = k / khw;
    let ky = (k - c * khw) / p.kw;
    let kx = k - c * khw - ky * p.kw;
    dky[j] = i32(ky) - i32(p.py);
    dkx[j] = i32(kx) - i32(p.px);
    xoff[j] = i32((g * p.cg + c) * hw) + dky[j] * i32(p.w) + dkx[j];
  }
  var dyrow: array<u32, 16>;
  for (var i = 0u; i < TM; i++) { dyrow[i] = (g * p.og + min(o0 + i, p.og - 1u)) * ohw; }

  var acc: array<f32, 128>;
  for (var i = 0u; i < TM * TN; i++) { acc[i] = 0.0; }
  var rowok: array<bool, 16>;
  var rowat: array<i32, 16>;
  var v: array<f32, 16>;
  var ds: array<f32, 16>;
  let img0 = split * p.ips;
  let r_begin = img0 * ohw;
  let r_end = min(p.n, (split + 1u) * p.ips) * ohw;
  var img = img0;
  var oy = 0u;
  var ox = 0u;
  for (var r0 = r_begin; r0 < r_end; r0 += step) {
    // this lane's pixel r0 + lane (clamped into the split): dY of the TM channels there
    let mine = min(r0 + lane, r_end - 1u);
    let mi = mine / ohw;
    let at = mi * p.o * ohw + mine - mi * ohw;
    for (var i = 0u; i < TM; i++) { ds[i] = dy[dyrow[i] + at]; }
    let rn = min(step, r_end - r0);
    for (var s = 0u; s < rn; s++) {
      if (ox == 0u) {
        let iy = i32(oy * p.sy);
        for (var j = 0u; j < TN; j++) {
          rowok[j] = u32(iy + dky[j]) < p.h;
          rowat[j] = i32(img * p.c * hw) + xoff[j] + iy * i32(p.w);
        }
      }
      let ix = i32(ox * p.sx);
      for (var j = 0u; j < TN; j++) {
        let ok = rowok[j] && u32(ix + dkx[j]) < p.w;
        v[j] = select(0.0, x[select(0, rowat[j] + ix, ok)], ok);
      }
      for (var i = 0u; i < TM; i++) {
        let d = subgroupShuffle(ds[i], s);
        for (var j = 0u; j < TN; j++) { acc[i * TN + j] = fma(d, v[j], acc[i * TN + j]); }
      }
      ox++;
      if (ox == p.ow) {
        ox = 0u;
        oy++;
        if (oy == p.oh) {
          oy = 0u;
          img++;
        }
      }
    }
  }

  for (var j = 0u; j < TN; j++) {
    let k = wid.x * WG * TN + j * WG + lid;
    if (k < kk) {
      for (var i = 0u; i < TM; i++) {
        let o = o0 + i;
        if (o < p.og) {
          let at = (split * p.o + g * p.og + o) * kk + k;
          var s = acc[i * TN + j];
          if (p.accumulate != 0u) { s += dw[at]; }
          dw[at] = s;
        }
      }
    }
  }
}
