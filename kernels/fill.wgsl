// fill.wgsl — y[i] = value for i < n (zeros, ones, constants).
// Bindings: 0 uniform P {n: u32 (vec4 count), value: f32}; 1 y: array<vec4f> (write).
// Dispatch: ceil(n/256) workgroups of 256 folded into (x, y) ≤ 65535; four elements per invocation
// (on lavapipe a vec4 store costs about what a scalar one does); the last vec4 may reach into the
// buffer's 16-byte padding.
struct P { n: u32, value: f32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> y: array<vec4f>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * 256u + lid;
  if (i < p.n) { y[i] = vec4f(p.value); }
}
