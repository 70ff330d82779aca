// nonfinite.wgsl — numerics check: flags[slot] |= 1 if x holds a NaN, |= 2 if it holds ±Inf.
// Bits are tested (not x != x), so fast-math assumptions of a shader compiler cannot hide a NaN.
// Bindings: 0 uniform P {n: u32 (elements), slot: u32}; 1 x: array<vec4u> (read; the f32 bits, four
//   per invocation: on lavapipe a vec4 load costs about what a scalar one does); 2 flags:
//   array<atomic<u32>> (read_write). Elements at or past n (the buffer's 16-byte padding, which a
//   recycled buffer may fill with anything) are masked out.
// Dispatch: ceil(n/1024) workgroups of 256 folded into (x, y) ≤ 65535; tensors over one binding go in chunks.
struct P { n: u32, slot: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<vec4u>;
@group(0) @binding(2) var<storage, read_write> flags: array<atomic<u32>>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * 256u + lid;
  if (4u * i >= p.n) { return; }
  let inside = vec4u(4u * i) + vec4u(0u, 1u, 2u, 3u) < vec4u(p.n);
  let bits = select(vec4u(0u), x[i] & vec4u(0x7fffffffu), inside);
  let inf = bits == vec4u(0x7f800000u);
  let nan = bits > vec4u(0x7f800000u);
  if (any(inf) || any(nan)) {
    atomicOr(&flags[p.slot], select(0u, 1u, any(nan)) | select(0u, 2u, any(inf)));
  }
}
