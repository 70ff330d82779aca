// nonfinite.wgsl — numerics check: flags[slot] |= 1 if x holds a NaN, |= 2 if it holds ±Inf.
// Bits are tested (not x != x), so fast-math assumptions of a shader compiler cannot hide a NaN.
// Bindings: 0 uniform P {n: u32, slot: u32}; 1 x: array<f32> (read); 2 flags: array<atomic<u32>> (read_write).
// Dispatch: ceil(n/256) workgroups of 256 folded into (x, y) ≤ 65535; tensors over one binding go in chunks.
struct P { n: u32, slot: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> flags: array<atomic<u32>>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * 256u + lid;
  if (i >= p.n) { return; }
  let bits = bitcast<u32>(x[i]) & 0x7fffffffu;
  if (bits >= 0x7f800000u) {
    atomicOr(&flags[p.slot], select(2u, 1u, bits > 0x7f800000u));
  }
}
