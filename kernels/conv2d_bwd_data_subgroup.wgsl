// conv2d_bwd_data_subgroup.wgsl — dx of conv2d_bwd_data.wgsl (same bindings, uniform block, stride
// phases, register tile, pixel interleave and summation order) for adapters with `subgroups`: the
// weights, alike for every invocation of a workgroup, are loaded once per subgroup and passed
// between lanes by subgroupShuffle.
//   dx[img, g·Cg + c, iy, ix] = Σ_{o < Og, ky, kx} w[g·Og + o, c, ky, kx] · dy[img, g·Og + o, oy, ox]
// Bindings: 0 uniform P; 1 dy (read); 2 w (read); 3 dx (write).
// Dispatch: (ceil(n·HA·WA / (64·TN)), ceil(Cg / TM), groups·sy·sx) workgroups of 64 invocations.
// Tiling: each invocation owns TM input channels × TN input pixels of one phase. The phase's K =
//   Og × nt × nu taps (o, t, u) are walked S = subgroup_size at a time: lane l loads the TM weights
//   of flat tap k0 + l, then for each of the S taps every lane gathers its TN dy values and takes
//   the weights from lane k − k0; (o, t, u) are stepped, row checks hoisted per (o, t). Right for any
//   grouping of invocations into subgroups of up to 64 lanes; no invocation returns early.
// Numerics: fma from zero in (o, t, u) order: conv2d_bwd_data.wgsl's numbers bit for bit.
enable subgroups;

override TM: u32 = 16;
override TN: u32 = 8;
const WG = 64u;

struct P {
  n: u32, c: u32, h: u32, w: u32,
  o: u32, oh: u32, ow: u32,
  kh: u32, kw: u32, sy: u32, sx: u32, py: u32, px: u32,
  cg: u32, og: u32,
  ha: u32, wa: u32,
}
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32,
        @builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) sgs: u32) {
  let phases = p.sy * p.sx;
  let g = wid.z / phases;
  let ry = (wid.z % phases) / p.sx;
  let rx = wid.z % p.sx;
  let c0 = wid.y * TM;
  let ohw = p.oh * p.ow;
  let ahw = p.ha * p.wa;
  let npix = p.n * ahw;
  let ky0 = (ry + p.py) % p.sy;
  let kx0 = (rx + p.px) % p.sx;
  let nt = select(0u, (p.kh - ky0 + p.sy - 1u) / p.sy, ky0 < p.kh);
  let nu = select(0u, (p.kw - kx0 + p.sx - 1u) / p.sx, kx0 < p.kw);
  let khw = p.kh * p.kw;
  let step = min(sgs, WG);

  var dyb: array<i32, 16>;
  var oyb: array<i32, 16>;
  var oxb: array<i32, 16>;
  for (var j = 0u; j < TN; j++) {
    let q = min(wid.x * WG * TN + j * WG + lid, npix - 1u);
    let img = q / ahw;
    let r = q - img * ahw;
    let ay = r / p.wa;
    oyb[j] = i32(ay + (ry + p.py) / p.sy);
    oxb[j] = i32(r - ay * p.wa + (rx + p.px) / p.sx);
    dyb[j] = i32((img * p.o + g * p.og) * ohw);
  }
  var wcol: array<u32, 16>;
  for (var i = 0u; i < TM; i++) { wcol[i] = (g * p.og * p.cg + min(c0 + i, p.cg - 1u)) * khw + ky0 * p.kw + kx0; }

  var acc: array<f32, 128>;
  for (var i = 0u; i < TM * TN; i++) { acc[i] = 0.0; }
  var rowok: array<bool, 16>;
  var rowat: array<i32, 16>;
  var v: array<f32, 16>;
  var ws: array<f32, 16>;
  let ntu = nt * nu;
  let kk = p.og * ntu;
  var o = 0u;
  var t = 0u;
  var u = 0u;
  for (var k0 = 0u; k0 < kk; k0 += step) {
    // this lane's tap k0 + lane (clamped): (o, t, u) → its weight offset
    let mine = min(k0 + lane, kk - 1u);
    let mo = mine / ntu;
    let mt = (mine - mo * ntu) / nu;
    let wk = mo * p.cg * khw + mt * p.sy * p.kw + (mine - mo * ntu - mt * nu) * p.sx;
    for (var i = 0u; i < TM; i++) { ws[i] = w[wcol[i] + wk]; }
    let kn = min(step, kk - k0);
    for (var s = 0u; s < kn; s++) {
      if (u == 0u) {
        for (var j = 0u; j < TN; j++) {
          let oy = oyb[j] - i32(t);
          rowok[j] = u32(oy) < p.oh;
          rowat[j] = dyb[j] + i32(o * ohw) + oy * i32(p.ow) + oxb[j];
        }
      }
      for (var j = 0u; j < TN; j++) {
        let ok = rowok[j] && u32(oxb[j] - i32(u)) < p.ow;
        v[j] = select(0.0, dy[select(0, rowat[j] - i32(u), ok)], ok);
      }
      for (var i = 0u; i < TM; i++) {
        let wv = subgroupShuffle(ws[i], s);
        for (var j = 0u; j < TN; j++) { acc[i * TN + j] = fma(wv, v[j], acc[i * TN + j]); }
      }
      u++;
      if (u == nu) {
        u = 0u;
        t++;
        if (t == nt) {
          t = 0u;
          o++;
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
