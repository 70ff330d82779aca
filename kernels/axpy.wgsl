// axpy.wgsl — y[i] = a·x[i] + b·y[i]: gradient accumulation (a=b=1), scaling (a=0), copies (b=0).
// Bindings: 0 uniform P {n: u32 (vec4 count), a: f32, b: f32}; 1 x: array<vec4f> (read);
//   2 y: array<vec4f> (read_write); the last vec4 may reach into the buffers' 16-byte padding.
// Dispatch: ceil(n/256) workgroups of 256 folded into (x, y) ≤ 65535; four elements per invocation
// (on lavapipe a vec4 access costs about what a scalar one does).
struct P { n: u32, a: f32, b: f32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> y: array<vec4f>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * 256u + lid;
  // b = 0 must overwrite even NaN garbage in a recycled buffer, so select instead of multiply.
  if (i < p.n) { y[i] = select(fma(vec4f(p.b), y[i], p.a * x[i]), p.a * x[i], p.b == 0.0); }
}
