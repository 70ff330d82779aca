// act_fwd.wgsl — y = relu(x) or tanh(x), elementwise.
// Bindings: 0 uniform P {n: u32}; 1 x: array<f32> (read); 2 y: array<f32> (write).
// Overrides: TANH (false → ReLU). Dispatch: ceil(n/256) workgroups folded into (x, y).
override TANH: bool = false;
struct P { n: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * 256u + lid;
  if (i >= p.n) { return; }
  let v = x[i];
  y[i] = select(max(v, 0.0), tanh(v), TANH);
}
