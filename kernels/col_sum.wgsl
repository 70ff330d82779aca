// col_sum.wgsl — out[n] = scale · Σ_{m<M} x[m·ld + n] for n < N: the bias gradient of a fully
// connected layer (Σ over the batch of dY) and the mean of per-row losses (N = 1, scale = 1/M).
// Bindings: 0 uniform P {M: u32, N: u32, ld: u32, scale: f32}; 1 x: array<f32> (read);
//   2 out: array<f32> (write, N elements).
// Dispatch: ceil(N/64) workgroups of 64, one column per invocation; each sums its column in row
// order, so the result is deterministic (no atomics, no tree whose shape depends on the device).
struct P { M: u32, N: u32, ld: u32, scale: f32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3u) {
  let n = g.x;
  if (n >= p.N) { return; }
  var s = 0.0;
  for (var m = 0u; m < p.M; m++) { s += x[m * p.ld + n]; }
  out[n] = p.scale * s;
}
