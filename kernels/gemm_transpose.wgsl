// gemm_transpose.wgsl — out[c·ldo + r] = in[r·ldi + c] for r < R, c < C: the (small) operand that
// gemm.wgsl would otherwise have to read transposed, e.g. x [B, in] → xᵀ [in, B] for y = x·Wᵀ.
// Bindings: 0 uniform P {R: u32, C: u32, ldi: u32, ldo: u32}; 1 src: array<f32> (read);
//   2 dst: array<f32> (write).
// Dispatch: (ceil(R/8), ceil(C/8)) workgroups of 8×8, one element per invocation; SIMD lanes run
// along r, so each row of dst is written contiguously.
struct P { R: u32, C: u32, ldi: u32, ldo: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) g: vec3u) {
  let r = g.x;
  let c = g.y;
  if (r < p.R && c < p.C) { dst[c * p.ldo + r] = src[r * p.ldi + c]; }
}
