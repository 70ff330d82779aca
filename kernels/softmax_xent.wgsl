// softmax_xent.wgsl — softmax cross-entropy fused with its gradient, one row (sample) per invocation:
//   loss_r = logsumexp(x_r) − x_r[label_r]        (written to rowloss; the mean is col_sum.wgsl's job)
//   dlogits_r = (softmax(x_r) − onehot(label_r)) · scale      (scale = 1/B: d(mean loss)/d(logits))
// Numerics: x − max(x_r) before exp, so exp never overflows and the largest term is exactly 1
// (logits of ±80 or more are fine); logsumexp = max + log(Σ exp(x − max)).
// A label outside [0, K) (i32 labels are read as u32, so negatives are too) gives rowloss NaN, so
// the mean loss is NaN, and a zero dlogits row: the batch's other rows still train.
// Bindings: 0 uniform P {B: u32, K: u32, scale: f32}; 1 logits [B,K] f32 (read); 2 labels [B]
//   u32/i32 (read); 3 dlogits [B,K] f32 (write); 4 rowloss [B] f32 (write).
// Dispatch: ceil(B/64) workgroups of 64. Each row is summed in index order: deterministic.
struct P { B: u32, K: u32, scale: f32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<u32>;
@group(0) @binding(3) var<storage, read_write> dlogits: array<f32>;
@group(0) @binding(4) var<storage, read_write> rowloss: array<f32>;
// a quiet NaN; read from a variable because a NaN const-expression is a shader-creation error
var<private> nan_bits: u32 = 0x7fc00000u;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3u) {
  let r = g.x;
  if (r >= p.B) { return; }
  let base = r * p.K;
  var mx = logits[base];
  for (var j = 1u; j < p.K; j++) { mx = max(mx, logits[base + j]); }
  var s = 0.0;
  for (var j = 0u; j < p.K; j++) { s += exp(logits[base + j] - mx); }
  let label = labels[r];
  let valid = label < p.K;
  // 1/s and the onehot term folded into the scale: dlogits = e·(scale/s) − scale·[j == label]
  let q = select(0.0, p.scale / s, valid);
  for (var j = 0u; j < p.K; j++) {
    let e = exp(logits[base + j] - mx);
    dlogits[base + j] = e * q - select(0.0, p.scale, valid && j == label);
  }
  let lse = mx + log(s);
  rowloss[r] = select(bitcast<f32>(nan_bits), lse - logits[base + min(label, p.K - 1u)], valid);
}
