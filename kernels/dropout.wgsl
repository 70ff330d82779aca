// dropout.wgsl — inverted dropout, y[i] = x[i] · scale if element i is kept, else 0. The same
// kernel is the backward (dx = dy · mask · scale, with dy as x): the mask is recomputed from a
// counter-based hash of (global element index, seed, step), never stored, so a run is
// reproducible and the backward sees exactly the forward's mask.
// RNG: pcg3d (Jarzynski & Olano, "Hash Functions for GPU Rendering", JCGT 2020), a 3-D input hash
// that passes TestU01 BigCrush; its first output word u is uniform on [0, 2³²), and the element
// is kept iff u < keep (= floor((1 − p)·2³²), so P(keep) = 1 − p to within 2⁻³²).
// Bindings: 0 uniform P {n: u32, base: u32, seed: u32, step: u32, keep: u32, scale: f32}
//   (base = index of element 0 of this binding in the whole tensor, for chunked tensors);
//   1 x: array<f32> (read); 2 y: array<f32> (write).
// Dispatch: ceil(n/256) workgroups of 256 folded into (x, y) (src/gpu/grid.ts).
struct P { n: u32, base: u32, seed: u32, step: u32, keep: u32, scale: f32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

fn pcg3d(v0: vec3u) -> vec3u {
  var v = v0 * 1664525u + 1013904223u;
  v.x += v.y * v.z; v.y += v.z * v.x; v.z += v.x * v.y;
  v ^= v >> vec3u(16u);
  v.x += v.y * v.z; v.y += v.z * v.x; v.z += v.x * v.y;
  return v;
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * 256u + lid;
  if (i >= p.n) { return; }
  let u = pcg3d(vec3u(p.base + i, p.seed, p.step)).x;
  y[i] = select(0.0, x[i] * p.scale, u < p.keep);
}
