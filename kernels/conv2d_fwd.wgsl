// conv2d_fwd.wgsl — y = conv(x, w) + b, then ReLU if RELU: 2-D convolution as an implicit GEMM.
//   Per group g:  Y_g[o, q] = Σ_k W_g[o, k] · Xcol_g[k, q]
//   o < Og = O/groups (output channel), q < n·OH·OW (output pixel), k = (c·KH + ky)·KW + kx < Cg·KH·KW.
// Layout: x [n, C, H, W], w [O, Cg, KH, KW] (PyTorch OIHW), b [O], y [n, O, OH, OW]; all f32, row-major.
// Bindings: 0 uniform P; 1 x (read); 2 w (read); 3 b (read; any buffer when !HAS_BIAS); 4 y (write).
// Dispatch: (ceil(n·OH·OW / (WG·TN)), ceil(Og / TM), groups) workgroups of WG invocations.
// Tiling: each invocation owns a TM × TN register tile (TM output channels × TN output pixels) and
//   walks the whole K range once: per k it loads TM weights and gathers TN input values (zero where
//   the window hangs over the padding), then does TM·TN FMAs. No workgroup memory, no barriers: on
//   lavapipe big register tiles beat shared-memory tiling (see shared/LAVAPIPE.md). All invocations
//   of a workgroup share the channel block (workgroup_id.y), so weight addresses are uniform (a
//   compiler may load them once per SIMD group; lavapipe 25.0 still loads per lane, so a load costs
//   about the same whichever side it is on and TM·TN/(TM+TN) FMAs per load is what counts). Pixels
//   are interleaved across invocations (pixel = base + j·WG + local id), so neighbouring invocations
//   read neighbouring addresses. Padding/row checks are hoisted out of the kx loop. Channels past
//   Og and pixels past n·OH·OW compute on clamped indices and are not stored.
// Numerics: f32 accumulation with fma() (lavapipe emits mul + add) in k order (c, ky, kx), bias
//   added last; deterministic.
override TM: u32 = 16;          // output channels per invocation (TM·TN ≤ 128)
override TN: u32 = 8;           // output pixels per invocation (≤ 16)
override WG: u32 = 64;          // invocations per workgroup
override HAS_BIAS: bool = true;
override RELU: bool = false;

struct P {
  n: u32, c: u32, h: u32, w: u32,        // input chunk: images, channels, height, width
  o: u32, oh: u32, ow: u32,              // output channels, height, width
  kh: u32, kw: u32, sy: u32, sx: u32, py: u32, px: u32,
  cg: u32, og: u32,                      // channels per group (input, output)
}
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let g = wid.z;
  let o0 = wid.y * TM;
  let ohw = p.oh * p.ow;
  let npix = p.n * ohw;
  let hw = i32(p.h * p.w);
  let kk = p.cg * p.kh * p.kw;
  // per-pixel origin of the receptive field (hoisted out of the K loop)
  var xb: array<i32, 16>;     // offset of x[img, g·Cg, 0, 0]
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
  var wrow: array<u32, 16>;  // offset of w[g·Og + o, 0, 0, 0]
  for (var i = 0u; i < TM; i++) { wrow[i] = (g * p.og + min(o0 + i, p.og - 1u)) * kk; }

  var acc: array<f32, 128>;
  for (var i = 0u; i < TM * TN; i++) { acc[i] = 0.0; }
  var rowok: array<bool, 16>;
  var rowat: array<i32, 16>;
  var xv: array<f32, 16>;
  var k = 0u;
  for (var c = 0u; c < p.cg; c++) {
    for (var ky = 0u; ky < p.kh; ky++) {
      for (var j = 0u; j < TN; j++) {
        let iy = iy0[j] + i32(ky);
        rowok[j] = u32(iy) < p.h;
        rowat[j] = xb[j] + i32(c) * hw + iy * i32(p.w) + ix0[j];
      }
      for (var kx = 0u; kx < p.kw; kx++) {
        for (var j = 0u; j < TN; j++) {
          let ok = rowok[j] && u32(ix0[j] + i32(kx)) < p.w;
          xv[j] = select(0.0, x[select(0, rowat[j] + i32(kx), ok)], ok);
        }
        for (var i = 0u; i < TM; i++) {
          let wv = w[wrow[i] + k];
          for (var j = 0u; j < TN; j++) { acc[i * TN + j] = fma(wv, xv[j], acc[i * TN + j]); }
        }
        k++;
      }
    }
  }

  for (var j = 0u; j < TN; j++) {
    let q = wid.x * WG * TN + j * WG + lid;
    if (q < npix) {
      let img = q / ohw;
      let at = (img * p.o + g * p.og + o0) * ohw + q - img * ohw;   // y[img, g·Og + o0, pixel]
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
