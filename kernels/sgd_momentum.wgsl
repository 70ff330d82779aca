// sgd_momentum.wgsl — the paper's update (Krizhevsky et al. 2012, sec. 5), elementwise:
//   v ← μ·v − λ·ε·w − ε·g ;  w ← w + v
// μ momentum, λ weight decay, ε learning rate. `gscale` multiplies g (e.g. gradient clipping/averaging).
// Bindings: 0 uniform P {n (vec4 count), mu, decay_lr (λε), lr (ε), gscale}; 1 g (read); 2 w (read_write);
//   3 v (read_write); all array<vec4f>, four parameters per invocation (on lavapipe a vec4 access
//   costs about what a scalar one does). The last vec4 may reach into the buffers' 16-byte padding.
// Dispatch: ceil(n/256) workgroups folded into (x, y); tensors over one binding go in chunks.
struct P { n: u32, mu: f32, decay_lr: f32, lr: f32, gscale: f32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> g: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> w: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> v: array<vec4f>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * 256u + lid;
  if (i >= p.n) { return; }
  let wi = w[i];
  let vi = p.mu * v[i] - p.decay_lr * wi - p.lr * (p.gscale * g[i]);
  v[i] = vi;
  w[i] = wi + vi;
}
