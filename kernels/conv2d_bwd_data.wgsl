// conv2d_bwd_data.wgsl — dx = ∂L/∂x of a 2-D convolution: a transposed convolution of dy with the
// weights, as an implicit GEMM that gathers only the (ky, kx) taps that reach each input pixel.
//   dx[img, g·Cg + c, iy, ix] = Σ_{o < Og, ky, kx} w[g·Og + o, c, ky, kx] · dy[img, g·Og + o, oy, ox]
//   over oy·sy + ky − py = iy, ox·sx + kx − px = ix (only integral, in-range oy/ox contribute).
// Stride phases: input pixels with the same (iy mod sy, ix mod sx) share the set of contributing taps
//   (ky ≡ iy + py mod sy), so every phase is a dense stride-1 GEMM with no zero-inserted work:
//   iy = ay·sy + ry, ky = ky0 + t·sy with ky0 = (ry + py) mod sy, oy = ay + (ry + py) div sy − t.
// Layout: dy [n, O, OH, OW], w [O, Cg, KH, KW] (OIHW), dx [n, C, H, W]; f32, row-major.
// Bindings: 0 uniform P; 1 dy (read); 2 w (read); 3 dx (write).
// Dispatch: (ceil(n·HA·WA / (WG·TN)), ceil(Cg / TM), groups·sy·sx) workgroups of WG invocations,
//   HA = ceil(H / sy), WA = ceil(W / sx); workgroup_id.z = group·sy·sx + ry·sx + rx.
// Tiling: as conv2d_fwd.wgsl — each invocation owns TM input channels × TN input pixels of one
//   phase (pixels interleaved across the workgroup, channel block uniform per workgroup), walks
//   K = Og × taps once, loading TM weights and gathering TN dy values per tap (row checks hoisted).
//   Pixels outside the image (phase rows/columns that run short) are computed clamped, not stored.
// Numerics: f32 accumulation with fma() in (o, t, u) order; deterministic.
override TM: u32 = 16;          // input channels per invocation (TM·TN ≤ 128)
override TN: u32 = 8;           // input pixels per invocation (≤ 16)
override WG: u32 = 64;          // invocations per workgroup

struct P {
  n: u32, c: u32, h: u32, w: u32,        // dx chunk: images, channels, height, width
  o: u32, oh: u32, ow: u32,              // dy channels, height, width
  kh: u32, kw: u32, sy: u32, sx: u32, py: u32, px: u32,
  cg: u32, og: u32,                      // channels per group (input, output)
  ha: u32, wa: u32,                      // phase grid: ceil(h / sy), ceil(w / sx)
}
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let phases = p.sy * p.sx;
  let g = wid.z / phases;
  let ry = (wid.z % phases) / p.sx;
  let rx = wid.z % p.sx;
  let c0 = wid.y * TM;
  let ohw = p.oh * p.ow;
  let ahw = p.ha * p.wa;
  let npix = p.n * ahw;
  // taps of this phase: ky = ky0 + t·sy (t < nt), kx = kx0 + u·sx (u < nu)
  let ky0 = (ry + p.py) % p.sy;
  let kx0 = (rx + p.px) % p.sx;
  let nt = select(0u, (p.kh - ky0 + p.sy - 1u) / p.sy, ky0 < p.kh);
  let nu = select(0u, (p.kw - kx0 + p.sx - 1u) / p.sx, kx0 < p.kw);
  let khw = p.kh * p.kw;

  var dyb: array<i32, 16>;    // offset of dy[img, g·Og, 0, 0]
  var oyb: array<i32, 16>;    // oy at t = 0
  var oxb: array<i32, 16>;    // ox at u = 0
  for (var j = 0u; j < TN; j++) {
    let q = min(wid.x * WG * TN + j * WG + lid, npix - 1u);
    let img = q / ahw;
    let r = q - img * ahw;
    let ay = r / p.wa;
    oyb[j] = i32(ay + (ry + p.py) / p.sy);
    oxb[j] = i32(r - ay * p.wa + (rx + p.px) / p.sx);
    dyb[j] = i32((img * p.o + g * p.og) * ohw);
  }
  var wcol: array<u32, 16>;  // offset of w[g·Og, c, ky0, kx0]
  for (var i = 0u; i < TM; i++) { wcol[i] = (g * p.og * p.cg + min(c0 + i, p.cg - 1u)) * khw + ky0 * p.kw + kx0; }

  var acc: array<f32, 128>;
  for (var i = 0u; i < TM * TN; i++) { acc[i] = 0.0; }
  var rowok: array<bool, 16>;
  var rowat: array<i32, 16>;
  var v: array<f32, 16>;
  for (var o = 0u; o < p.og; o++) {
    let wo = o * p.cg * khw;
    for (var t = 0u; t < nt; t++) {
      for (var j = 0u; j < TN; j++) {
        let oy = oyb[j] - i32(t);
        rowok[j] = u32(oy) < p.oh;
        rowat[j] = dyb[j] + i32(o * ohw) + oy * i32(p.ow) + oxb[j];
      }
      let wt = wo + t * p.sy * p.kw;
      for (var u = 0u; u < nu; u++) {
        for (var j = 0u; j < TN; j++) {
          let ok = rowok[j] && u32(oxb[j] - i32(u)) < p.ow;
          v[j] = select(0.0, dy[select(0, rowat[j] - i32(u), ok)], ok);
        }
        let wk = wt + u * p.sx;
        for (var i = 0u; i < TM; i++) {
          let wv = w[wcol[i] + wk];
          for (var j = 0u; j < TN; j++) { acc[i * TN + j] = fma(wv, v[j], acc[i * TN + j]); }
        }
      }
    }
  }

  let hw = p.h * p.w;
  for (var j = 0u; j < TN; j++) {
    let q = wid.x * WG * TN + j * WG + lid;
    let img = q / ahw;
    let r = q - img * ahw;
    let ay = r / p.wa;
    let iy = ay * p.sy + ry;
    let ix = (r - ay * p.wa) * p.sx + rx;
    if (q < npix && iy < p.h && ix < p.w) {
      let base = (img * p.c + g * p.cg) * hw + iy * p.w + ix;
      for (var i = 0u; i < TM; i++) {
        if (c0 + i < p.cg) { dx[base + (c0 + i) * hw] = acc[i * TN + j]; }
      }
    }
  }
}
