// avgpool_fwd.wgsl — 2-D average pooling of NCHW planes, fixed windows or adaptive ones.
// Fixed (ADAPTIVE = false), as PyTorch's avg_pool2d in floor mode: the window starts at
// o·S − P and ends at min(o·S − P + K, In + P); it is clipped to [0, In) for the sum, and the
// divisor counts the padded extent (INCLUDE_PAD, PyTorch's default) or only the real elements.
// Adaptive (ADAPTIVE = true), as PyTorch's adaptive_avg_pool2d: window o along an axis of In
// inputs and Out outputs is [floor(o·In/Out), ceil((o+1)·In/Out)); K, S, P are ignored.
// Bindings: 0 uniform P {n}; 1 x: array<f32> (read) [planes, H, W]; 2 y: array<f32> (write) [planes, OH, OW].
// Overrides: the geometry H, W, OH, OW, KH, KW, SH, SW, PH, PW (constant divisions, see
// maxpool_fwd.wgsl); for adaptive pools K, S, P are unused. P.n = planes·OH·OW outputs of the chunk.
// Dispatch: one invocation per output element, ceil(n/256) workgroups of 256 folded into (x, y).
// Numerics: fp32 sum in row-major order, then one divide (y = sum / count, as PyTorch).
override ADAPTIVE: bool = false;
override INCLUDE_PAD: bool = true;
override H: u32; override W: u32; override OH: u32; override OW: u32;
override KH: u32; override KW: u32; override SH: u32; override SW: u32; override PH: u32; override PW: u32;
struct P { n: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

// Window o along one axis: (first, end) of the real elements summed, and the divisor's factor.
fn window(o: u32, In: u32, Out: u32, K: u32, S: u32, P: u32) -> vec3u {
  if (ADAPTIVE) {
    let s = o * In / Out;
    let e = ((o + 1u) * In + Out - 1u) / Out;
    return vec3u(s, e, e - s);
  }
  let s = i32(o * S) - i32(P);
  let e = min(s + i32(K), i32(In + P));
  let cs = max(s, 0);
  let ce = min(e, i32(In));
  return vec3u(u32(cs), u32(ce), u32(select(ce - cs, e - s, INCLUDE_PAD)));
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * 256u + lid;
  if (i >= p.n) { return; }
  let ohw = OH * OW;
  let q = i / ohw;
  let o = i - q * ohw;
  let oy = o / OW;
  let ox = o - oy * OW;
  let wy = window(oy, H, OH, KH, SH, PH);
  let wx = window(ox, W, OW, KW, SW, PW);
  let base = q * H * W;
  var acc = 0.0;
  for (var iy = wy.x; iy < wy.y; iy++) {
    for (var ix = wx.x; ix < wx.y; ix++) {
      acc += x[base + iy * W + ix];
    }
  }
  y[i] = acc / f32(wy.z * wx.z);
}
