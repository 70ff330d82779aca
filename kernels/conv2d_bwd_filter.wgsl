// conv2d_bwd_filter.wgsl — dw = ∂L/∂w of a 2-D convolution as a GEMM over batch × space:
//   dw[g·Og + o, c, ky, kx] (+)= Σ_{img, oy, ox} dy[img, g·Og + o, oy, ox] · x[img, g·Cg + c, oy·sy + ky − py, ox·sx + kx − px]
//   i.e. per group dW_g[o, k] = Σ_r dY_g[o, r] · Xcol_g[k, r], k = (c·KH + ky)·KW + kx, r = (img, oy, ox).
// Layout: x [n, C, H, W], dy [n, O, OH, OW], dw [O, Cg, KH, KW] (OIHW); f32, row-major.
// Bindings: 0 uniform P; 1 x (read); 2 dy (read); 3 dw (read_write).
// Dispatch: (ceil(Cg·KH·KW / (WG·TN)), ceil(Og / TM), groups · splits) workgroups of WG invocations.
//   Split-K over the batch: workgroup z = s·groups + g reduces images [s·ips, (s+1)·ips) and writes
//   its partial dW to dw[s·O·Cg·KH·KW ...]; the caller sums the splits in fixed order (col_sum).
//   Used when the tile grid alone has too few workgroups (conv1: 25 taps × 24 channels) to fill
//   the device; splits = 1 is the plain GEMM.
// Tiling: each invocation owns a TM × TN register tile of dW (TM output channels × TN weight taps,
//   taps interleaved across the workgroup so neighbouring invocations read neighbouring x) and
//   reduces over its split's r range in a fixed order: no atomics, deterministic. The channel
//   block is uniform per workgroup (dy addresses uniform);
//   x is gathered with the row check hoisted out of the ox loop. A batch too large for one binding
//   is reduced chunk by chunk: with p.accumulate = 1 the kernel adds the previous dw.
// Numerics: f32 accumulation with fma() in (img, oy, ox) order.
override TM: u32 = 16;          // output channels per invocation (TM·TN ≤ 128)
override TN: u32 = 8;           // weight taps per invocation (≤ 16)
override WG: u32 = 64;          // invocations per workgroup

struct P {
  n: u32, c: u32, h: u32, w: u32,        // x chunk: images, channels, height, width
  o: u32, oh: u32, ow: u32,              // dy channels, height, width
  kh: u32, kw: u32, sy: u32, sx: u32, py: u32, px: u32,
  cg: u32, og: u32,                      // channels per group (input, output)
  accumulate: u32,                       // 1: dw += result (later batch chunks), 0: dw = result
  ips: u32,                              // images per split (the last split may have fewer)
}
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dw: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let groups = p.c / p.cg;
  let g = wid.z % groups;
  let split = wid.z / groups;
  let o0 = wid.y * TM;
  let khw = p.kh * p.kw;
  let kk = p.cg * khw;
  let hw = p.h * p.w;
  let ohw = p.oh * p.ow;
  // this invocation's taps: k → (c, ky, kx), folded into an x offset and the window origin
  var xoff: array<i32, 16>;   // offset of x[0, g·Cg + c, ky − py, kx − px] (may be negative)
  var dky: array<i32, 16>;    // ky − py
  var dkx: array<i32, 16>;    // kx − px
  for (var j = 0u; j < TN; j++) {
    let k = min(wid.x * WG * TN + j * WG + lid, kk - 1u);
    let c = k / khw;
    let ky = (k - c * khw) / p.kw;
    let kx = k - c * khw - ky * p.kw;
    dky[j] = i32(ky) - i32(p.py);
    dkx[j] = i32(kx) - i32(p.px);
    xoff[j] = i32((g * p.cg + c) * hw) + dky[j] * i32(p.w) + dkx[j];
  }
  var dyrow: array<u32, 16>; // offset of dy[0, g·Og + o, 0, 0]
  for (var i = 0u; i < TM; i++) { dyrow[i] = (g * p.og + min(o0 + i, p.og - 1u)) * ohw; }

  var acc: array<f32, 128>;
  for (var i = 0u; i < TM * TN; i++) { acc[i] = 0.0; }
  var rowok: array<bool, 16>;
  var rowat: array<i32, 16>;
  var v: array<f32, 16>;
  let img_end = min(p.n, (split + 1u) * p.ips);
  for (var img = split * p.ips; img < img_end; img++) {
    let xi = i32(img * p.c * hw);
    let di = img * p.o * ohw;
    for (var oy = 0u; oy < p.oh; oy++) {
      let iy = i32(oy * p.sy);
      for (var j = 0u; j < TN; j++) {
        rowok[j] = u32(iy + dky[j]) < p.h;
        rowat[j] = xi + xoff[j] + iy * i32(p.w);
      }
      let dr = di + oy * p.ow;
      for (var ox = 0u; ox < p.ow; ox++) {
        let ix = i32(ox * p.sx);
        for (var j = 0u; j < TN; j++) {
          let ok = rowok[j] && u32(ix + dkx[j]) < p.w;
          v[j] = select(0.0, x[select(0, rowat[j] + ix, ok)], ok);
        }
        for (var i = 0u; i < TM; i++) {
          let d = dy[dyrow[i] + dr + ox];
          for (var j = 0u; j < TN; j++) { acc[i * TN + j] = fma(d, v[j], acc[i * TN + j]); }
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
