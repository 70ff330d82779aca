// act_bwd.wgsl — dx = dy·relu'(y) or dy·(1 − y²) for tanh, from the forward's *output* y
// (so a fused conv+bias+ReLU needs no pre-activation buffer); four elements per invocation.
// Bindings: 0 uniform P {n: u32} (vec4 count, ceil(elements / 4)); 1 y: array<vec4f> (read);
//   2 dy: array<vec4f> (read); 3 dx: array<vec4f> (write). The last vec4 may reach into the
//   buffers' 16-byte padding: computed, never read.
// Overrides: TANH (false → ReLU). Dispatch: ceil(n/256) workgroups folded into (x, y).
override TANH: bool = false;
struct P { n: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> y: array<vec4f>;
@group(0) @binding(2) var<storage, read> dy: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> dx: array<vec4f>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * 256u + lid;
  if (i >= p.n) { return; }
  let v = y[i];
  let d = dy[i];
  dx[i] = select(select(vec4f(0.0), d, v > vec4f(0.0)), d * (1.0 - v * v), TANH);
}
