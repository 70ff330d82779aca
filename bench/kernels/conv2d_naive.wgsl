// conv2d_naive.wgsl — the textbook baseline the benchmark compares the tiled kernels against: one
// invocation per output element, a plain loop over its whole reduction, no tiling, no reuse.
//   MODE 0 forward:        out = y [n, O, OH, OW],  a = x [n, C, H, W],  b = w [O, Cg, KH, KW]   (no bias)
//   MODE 1 backward data:  out = dx [n, C, H, W],   a = dy [n, O, OH, OW], b = w
//   MODE 2 backward filter: out = dw [O, Cg, KH, KW], a = x, b = dy  (each invocation loops over the
//                          whole batch and all output pixels, like TensorFlow.js's Conv2DDerFilter)
// Bindings: 0 uniform P; 1 a (read); 2 b (read); 3 out (write).
// Dispatch: ceil(count / 64) workgroups of 64 folded into (x, y) (src/gpu/grid.ts).
override MODE: u32 = 0;

struct P {
  n: u32, c: u32, h: u32, w: u32, o: u32, oh: u32, ow: u32,
  kh: u32, kw: u32, sy: u32, sx: u32, py: u32, px: u32, cg: u32, og: u32, count: u32,
}
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let idx = (wid.y * nwg.x + wid.x) * 64u + lid;
  if (idx >= p.count) { return; }
  var s = 0.0;
  if (MODE == 0u) {
    let ox = idx % p.ow; let oy = (idx / p.ow) % p.oh; let o = (idx / (p.ow * p.oh)) % p.o; let n = idx / (p.ow * p.oh * p.o);
    let g = o / p.og;
    for (var c = 0u; c < p.cg; c++) { for (var ky = 0u; ky < p.kh; ky++) { for (var kx = 0u; kx < p.kw; kx++) {
      let iy = i32(oy * p.sy + ky) - i32(p.py); let ix = i32(ox * p.sx + kx) - i32(p.px);
      if (iy >= 0 && iy < i32(p.h) && ix >= 0 && ix < i32(p.w)) {
        s += a[((n * p.c + g * p.cg + c) * p.h + u32(iy)) * p.w + u32(ix)] * b[((o * p.cg + c) * p.kh + ky) * p.kw + kx];
      }
    } } }
  } else if (MODE == 1u) {
    let ix = idx % p.w; let iy = (idx / p.w) % p.h; let c = (idx / (p.w * p.h)) % p.c; let n = idx / (p.w * p.h * p.c);
    let g = c / p.cg;
    for (var o = g * p.og; o < (g + 1u) * p.og; o++) { for (var ky = 0u; ky < p.kh; ky++) { for (var kx = 0u; kx < p.kw; kx++) {
      let ty = i32(iy + p.py) - i32(ky); let tx = i32(ix + p.px) - i32(kx);
      if (ty >= 0 && tx >= 0 && u32(ty) % p.sy == 0u && u32(tx) % p.sx == 0u) {
        let oy = u32(ty) / p.sy; let ox = u32(tx) / p.sx;
        if (oy < p.oh && ox < p.ow) {
          s += a[((n * p.o + o) * p.oh + oy) * p.ow + ox] * b[((o * p.cg + c - g * p.cg) * p.kh + ky) * p.kw + kx];
        }
      }
    } } }
  } else {
    let kx = idx % p.kw; let ky = (idx / p.kw) % p.kh; let c = (idx / (p.kw * p.kh)) % p.cg; let o = idx / (p.kw * p.kh * p.cg);
    let g = o / p.og;
    for (var n = 0u; n < p.n; n++) { for (var oy = 0u; oy < p.oh; oy++) { for (var ox = 0u; ox < p.ow; ox++) {
      let iy = i32(oy * p.sy + ky) - i32(p.py); let ix = i32(ox * p.sx + kx) - i32(p.px);
      if (iy >= 0 && iy < i32(p.h) && ix >= 0 && ix < i32(p.w)) {
        s += a[((n * p.c + g * p.cg + c) * p.h + u32(iy)) * p.w + u32(ix)] * b[((n * p.o + o) * p.oh + oy) * p.ow + ox];
      }
    } } }
  }
  out[idx] = s;
}
