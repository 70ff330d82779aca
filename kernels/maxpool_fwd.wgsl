// maxpool_fwd.wgsl — 2-D max pooling of NCHW planes; writes the max and where it came from.
// y[q, oy, ox] = max of x[q, iy, ix] over the window iy ∈ [oy·SH − PH, oy·SH − PH + KH),
// ix ∈ [ox·SW − PW, ox·SW − PW + KW), clipped to the plane: padding never wins (PyTorch pads with
// −inf). am[q, oy, ox] = iy·W + ix of the max inside its input plane; on ties the first in
// row-major order wins (strict >), and a NaN wins, as in PyTorch's CPU kernel.
// The caller guarantees every window holds at least one real element (PH ≤ KH/2, PW ≤ KW/2).
// Bindings: 0 uniform P {n}; 1 x: array<f32> (read) [planes, H, W];
//           2 y: array<f32> (write) [planes, OH, OW]; 3 am: array<u32> (write) [planes, OH, OW].
// Overrides: the geometry H, W, OH, OW, KH, KW, SH, SW, PH, PW. As constants, the index divisions
// compile to multiplies and the KH×KW loop has a fixed trip count (lavapipe scalarises integer
// division by a runtime value and runs divergent loops masked: both cost more than the loads).
// Planes q = n·C + c of one chunk; P.n = planes·OH·OW outputs in it.
// Dispatch: one invocation per output element, ceil(n/256) workgroups of 256 folded into (x, y).
// Numerics: exact (a selection, no arithmetic on values).
override H: u32; override W: u32; override OH: u32; override OW: u32;
override KH: u32; override KW: u32; override SH: u32; override SW: u32; override PH: u32; override PW: u32;
struct P { n: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> am: array<u32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * 256u + lid;
  if (i >= p.n) { return; }
  let q = i / (OH * OW);
  let o = i - q * (OH * OW);
  let oy = o / OW;
  let ox = o - oy * OW;
  let y0 = i32(oy * SH) - i32(PH); // window origin in plane coordinates (may be negative)
  let x0 = i32(ox * SW) - i32(PW);
  let base = q * H * W;
  // start from the first real element of the window, then scan all KH×KW positions
  var best = u32(max(y0, 0)) * W + u32(max(x0, 0));
  var m = x[base + best];
  for (var a = 0; a < i32(KH); a++) {
    let iy = y0 + a;
    for (var b = 0; b < i32(KW); b++) {
      let ix = x0 + b;
      let k = u32(clamp(iy, 0, i32(H) - 1)) * W + u32(clamp(ix, 0, i32(W) - 1));
      let v = x[base + k];
      let take = iy >= 0 && iy < i32(H) && ix >= 0 && ix < i32(W) && (v > m || v != v);
      m = select(m, v, take);
      best = select(best, k, take);
    }
  }
  y[i] = m;
  am[i] = best;
}
