// lrn_bwd.wgsl — gradient of lrn_fwd.wgsl (y_c = x_c · s_c^−β, s_c = k + α Σ_{j∈win(c)} x_j²,
// win(c) = [c−LO, c+HI] ∩ [0, C)):
//   dx_c = dy_c · s_c^−β − 2αβ · x_c · Σ_{j : c ∈ win(j)} t_j,   t_j = dy_j · x_j · s_j^(−β−1)
// and c ∈ win(j) ⇔ j ∈ [c−HI, c+LO]. Nothing is saved by the forward; s is recomputed from x.
// Bindings: 0 uniform P (as lrn_fwd.wgsl); 1 x: array<f32> (read); 2 dy: array<f32> (read);
//           3 dx: array<f32> (write), all [imgs, C, HW].  Overrides: SIZE = n (1..16).
// P.n = imgs·HW pixels of the chunk (whole images).
// Dispatch: one invocation per pixel, ceil(n/256) workgroups of 256 folded into (x, y). Each walks
// the channels from c = −LO, keeping in registers
//   xw[m] = x[c − LO + m], m < n + LO   (enough for s_c and for s at the leading edge c + LO)
//   tw[m] = t[c − HI + m], m < n        (t at the leading edge c + LO is computed at step c)
//   dw[m] = dy[c + m],     m ≤ LO
// so x and dy are each read once and dx written once (the GPU analogue of a sliding window).
// Numerics: fp32; every dx_c is the same fixed-order sum: deterministic, no atomics.
override SIZE: u32 = 5u;
struct P { n: u32, C: u32, HW: u32, alpha: f32, beta: f32, k: f32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

fn inside(j: i32) -> bool { return j >= 0 && j < i32(p.C); }
fn chan(j: i32) -> u32 { return u32(clamp(j, 0, i32(p.C) - 1)) * p.HW; }

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let t = (wid.y * nwg.x + wid.x) * 256u + lid;
  if (t >= p.n) { return; }
  let img = t / p.HW;
  let base = img * p.C * p.HW + (t - img * p.HW);
  let lo = SIZE / 2u;
  let ilo = i32(lo);
  let c0 = -ilo; // first step: computes t_0 at the leading edge
  var xw: array<f32, 24>;
  var tw: array<f32, 16>;
  var dw: array<f32, 9>;
  for (var m = 0u; m < SIZE + lo; m++) { let j = c0 - ilo + i32(m); xw[m] = select(0.0, x[base + chan(j)], inside(j)); }
  for (var m = 0u; m < SIZE; m++) { tw[m] = 0.0; }
  for (var m = 0u; m <= lo; m++) { let j = c0 + i32(m); dw[m] = select(0.0, dy[base + chan(j)], inside(j)); }
  let g = 2.0 * p.alpha * p.beta;
  for (var c = c0; c < i32(p.C); c++) {
    // leading edge j = c + LO: s_j from xw[LO .. LO+n), t_j = dy_j · x_j · s_j^(−β−1)
    var lead = 0.0;
    for (var m = lo; m < lo + SIZE; m++) { lead = fma(xw[m], xw[m], lead); }
    tw[SIZE - 1u] = dw[lo] * xw[2u * lo] * pow(p.k + p.alpha * lead, -p.beta - 1.0);
    if (c >= 0) {
      var sum = 0.0;
      for (var m = 0u; m < SIZE; m++) { sum = fma(xw[m], xw[m], sum); }
      var acc = 0.0;
      for (var m = 0u; m < SIZE; m++) { acc += tw[m]; }
      dx[base + u32(c) * p.HW] = dw[0] * pow(p.k + p.alpha * sum, -p.beta) - g * xw[lo] * acc;
    }
    // slide every window by one channel
    for (var m = 0u; m + 1u < SIZE + lo; m++) { xw[m] = xw[m + 1u]; }
    let jx = c + 1 - ilo + i32(SIZE + lo) - 1;
    xw[SIZE + lo - 1u] = select(0.0, x[base + chan(jx)], inside(jx));
    for (var m = 0u; m + 1u < SIZE; m++) { tw[m] = tw[m + 1u]; }
    for (var m = 0u; m < lo; m++) { dw[m] = dw[m + 1u]; }
    let jd = c + 1 + ilo;
    dw[lo] = select(0.0, dy[base + chan(jd)], inside(jd));
  }
}
