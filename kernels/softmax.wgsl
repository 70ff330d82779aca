// softmax.wgsl — probs_r = softmax(logits_r) over the last dimension, one row per invocation
// (evaluation and prediction; training uses the fused softmax_xent.wgsl).
// Numerics: exp(x − max(x_r)) / Σ exp(x − max(x_r)): no overflow for any finite logits.
// Bindings: 0 uniform P {B: u32, K: u32}; 1 logits [B,K] (read); 2 probs [B,K] (write).
// Dispatch: ceil(B/64) workgroups of 64 (B ≤ 4,194,240).
struct P { B: u32, K: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read_write> probs: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3u) {
  let r = g.x;
  if (r >= p.B) { return; }
  let base = r * p.K;
  var mx = logits[base];
  for (var j = 1u; j < p.K; j++) { mx = max(mx, logits[base + j]); }
  var s = 0.0;
  for (var j = 0u; j < p.K; j++) { s += exp(logits[base + j] - mx); }
  let q = 1.0 / s;
  for (var j = 0u; j < p.K; j++) { probs[base + j] = exp(logits[base + j] - mx) * q; }
}
