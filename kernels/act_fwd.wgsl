// act_fwd.wgsl — y = relu(x) or tanh(x), elementwise, four elements per invocation.
// Bindings: 0 uniform P {n: u32} (vec4 count, ceil(elements / 4)); 1 x: array<vec4f> (read);
//   2 y: array<vec4f> (write). Buffers are padded to 16 bytes, so the last vec4 may hold up to 3
//   padding floats past the tensor: computed, never read.
// Overrides: TANH (false → ReLU). Dispatch: ceil(n/256) workgroups folded into (x, y).
// Why vec4: on lavapipe every storage access is a per-lane bounds-checked load, so a scalar and a
//   vec4 access cost about the same (act_bwd, same layout: 28 → 4.3 ms on mini's conv1 at batch 128).
override TANH: bool = false;
struct P { n: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> y: array<vec4f>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * 256u + lid;
  if (i >= p.n) { return; }
  let v = x[i];
  y[i] = select(max(v, vec4f(0.0)), tanh(v), TANH);
}
