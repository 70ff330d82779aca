// softmax_xent_bwd.wgsl — dlogits = saved · dloss[0]: the backward of the fused softmax
// cross-entropy, whose forward already wrote d(loss)/d(logits) (softmax_xent.wgsl); the tape's
// incoming gradient of the scalar loss stays on the device, so it is read here, not uploaded.
// Bindings: 0 uniform P {n: u32}; 1 saved: array<f32> (read); 2 dloss: array<f32> (read, element 0);
//   3 dlogits: array<f32> (write).
// Dispatch: ceil(n/256) workgroups of 256 folded into (x, y) (src/gpu/grid.ts).
struct P { n: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> saved: array<f32>;
@group(0) @binding(2) var<storage, read> dloss: array<f32>;
@group(0) @binding(3) var<storage, read_write> dlogits: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * 256u + lid;
  if (i < p.n) { dlogits[i] = saved[i] * dloss[0]; }
}
