// conv2d_bwd_data_tiled.wgsl — dx of conv2d_bwd_data.wgsl (same stride phases, bindings, uniform
// block) shaped for GPUs: workgroup-memory tiles with barriers. The autotuner times it against the
// register-tiled kernel (src/ops/conv2d_tiles.ts).
//   Per group g and phase (ry, rx):  dX[c, q] = Σ_k W[c, k] · dYcol[k, q],  k = (o·nt + t)·nu + u,
//   taps ky = ky0 + t·sy, kx = kx0 + u·sx (conv2d_bwd_data.wgsl derives them), q a pixel of the phase.
// Bindings: 0 uniform P (as conv2d_bwd_data.wgsl); 1 dy, 2 w, 3 dx: array<f32>.
// Tiling: a workgroup of 16×16 invocations owns 64 input channels × 64 phase pixels, each invocation
//   a 4×4 block; K is walked BK = 16 at a time through two workgroup buffers (double-buffered,
//   16 KiB: W[64×16], dYcol[16×64]): each invocation gathers its four values of each for the next
//   step into registers while it accumulates the current one, then stores them; one barrier a step.
// Dispatch: (ceil(n·HA·WA / 64), ceil(Cg / 64), groups·sy·sx) workgroups; z = group·sy·sx + ry·sx + rx.
// Numerics: fma from zero in (o, t, u) order, as conv2d_bwd_data.wgsl: the same numbers bit for bit.
const BM = 64u;
const BN = 64u;
const BK = 16u;

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

var<workgroup> Ws: array<f32, 2048>; // [2][BK][BM]
var<workgroup> Ds: array<f32, 2048>; // [2][BK][BN]
const HALF = 1024u;

// What a workgroup's phase fixes: group, phase, its first channel and pixel, the taps of the phase.
struct Phase { g: u32, ry: u32, rx: u32, c0: u32, q0: u32, ky0: u32, kx0: u32, nu: u32, taps: u32, kk: u32 }

// Share t of step k0: (the weight W[c0 + t % 64, k0 + t / 64], dYcol[k0 + t / 64, q0 + t % 64]),
// zero past the channels, the pixels, K, or outside dy.
fn shares(f: Phase, t: u32, k0: u32) -> vec2f {
  let ohw = p.oh * p.ow;
  let ahw = p.ha * p.wa;
  let khw = p.kh * p.kw;
  let k = k0 + t / BM;
  if (k >= f.kk) { return vec2f(0.0); }
  let o = k / f.taps;
  let tt = (k - o * f.taps) / f.nu;
  let u = k - o * f.taps - tt * f.nu;
  var r = vec2f(0.0);
  let c = f.c0 + t % BM;
  if (c < p.cg) { r.x = w[((f.g * p.og + o) * p.cg + c) * khw + (f.ky0 + tt * p.sy) * p.kw + f.kx0 + u * p.sx]; }
  let q = f.q0 + t % BN;
  if (q < p.n * ahw) {
    let img = q / ahw;
    let rr = q - img * ahw;
    let ay = rr / p.wa;
    let oy = i32(ay + (f.ry + p.py) / p.sy) - i32(tt);
    let ox = i32(rr - ay * p.wa + (f.rx + p.px) / p.sx) - i32(u);
    if (u32(oy) < p.oh && u32(ox) < p.ow) { r.y = dy[(img * p.o + f.g * p.og + o) * ohw + u32(oy) * p.ow + u32(ox)]; }
  }
  return r;
}

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid3: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let phases = p.sy * p.sx;
  let g = wid.z / phases;
  let ry = (wid.z % phases) / p.sx;
  let rx = wid.z % p.sx;
  let c0 = wid.y * BM;
  let q0 = wid.x * BN;
  let ahw = p.ha * p.wa;
  let npix = p.n * ahw;
  let ky0 = (ry + p.py) % p.sy;
  let kx0 = (rx + p.px) % p.sx;
  let nt = select(0u, (p.kh - ky0 + p.sy - 1u) / p.sy, ky0 < p.kh);
  let nu = select(0u, (p.kw - kx0 + p.sx - 1u) / p.sx, kx0 < p.kw);
  let f = Phase(g, ry, rx, c0, q0, ky0, kx0, nu, nt * nu, p.og * nt * nu);
  var acc: array<array<f32, 4>, 4>;
  var sh: array<vec2f, 4>;
  for (var r = 0u; r < 4u; r++) { sh[r] = shares(f, lid + 256u * r, 0u); }
  for (var r = 0u; r < 4u; r++) {
    Ws[lid + 256u * r] = sh[r].x;
    Ds[lid + 256u * r] = sh[r].y;
  }
  workgroupBarrier();
  var cur = 0u;
  for (var k0 = 0u; k0 < f.kk; k0 += BK) {
    let more = k0 + BK < f.kk;
    if (more) {
      for (var r = 0u; r < 4u; r++) { sh[r] = shares(f, lid + 256u * r, k0 + BK); }
    }
    let base = cur * HALF;
    for (var s = 0u; s < BK; s++) {
      var a: array<f32, 4>;
      var v: array<f32, 4>;
      for (var i = 0u; i < 4u; i++) {
        a[i] = Ws[base + s * BM + lid3.y * 4u + i];
        v[i] = Ds[base + s * BN + lid3.x * 4u + i];
      }
      for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) { acc[i][j] = fma(a[i], v[j], acc[i][j]); }
      }
    }
    // the other buffer was last read before the previous barrier: free to overwrite
    if (more) {
      for (var r = 0u; r < 4u; r++) {
        Ws[(1u - cur) * HALF + lid + 256u * r] = sh[r].x;
        Ds[(1u - cur) * HALF + lid + 256u * r] = sh[r].y;
      }
    }
    workgroupBarrier();
    cur = 1u - cur;
  }
  let hw = p.h * p.w;
  for (var j = 0u; j < 4u; j++) {
    let q = q0 + lid3.x * 4u + j;
    let img = q / ahw;
    let rr = q - img * ahw;
    let ay = rr / p.wa;
    let iy = ay * p.sy + ry;
    let ix = (rr - ay * p.wa) * p.sx + rx;
    if (q >= npix || iy >= p.h || ix >= p.w) { continue; }
    for (var i = 0u; i < 4u; i++) {
      let c = c0 + lid3.y * 4u + i;
      if (c < p.cg) { dx[((img * p.c + g * p.cg + c) * hw) + iy * p.w + ix] = acc[i][j]; }
    }
  }
}
