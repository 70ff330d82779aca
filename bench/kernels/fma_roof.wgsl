// fma_roof.wgsl — the practical FMA roof the conv benchmark reports against (shared/LAVAPIPE.md):
// every invocation runs ITER iterations of 8 independent vec4 fma chains (64 FLOPs per iteration)
// and writes their sum so nothing is optimised away. FLOPs = 64 · ITER · invocations.
// Bindings: 0 uniform P (unused but for the engine's uniform block); 1 out (write), one vec4 each.
// Dispatch: any number of workgroups of 64.
override ITER: u32 = 4096;
struct P { seed: f32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> out: array<vec4f>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  var a0 = vec4f(f32(gid.x) * 1e-6 + p.seed, 1.0, 2.0, 3.0);
  var a1 = a0 + 1.0; var a2 = a0 + 2.0; var a3 = a0 + 3.0;
  var a4 = a0 + 4.0; var a5 = a0 + 5.0; var a6 = a0 + 6.0; var a7 = a0 + 7.0;
  let m = vec4f(0.999999);
  let c = vec4f(1e-7);
  for (var i = 0u; i < ITER; i++) {
    a0 = fma(a0, m, c); a1 = fma(a1, m, c); a2 = fma(a2, m, c); a3 = fma(a3, m, c);
    a4 = fma(a4, m, c); a5 = fma(a5, m, c); a6 = fma(a6, m, c); a7 = fma(a7, m, c);
  }
  out[gid.x] = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7;
}
