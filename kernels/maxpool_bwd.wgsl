// maxpool_bwd.wgsl — max-pool gradient as a GATHER (tfjs MaxPoolGrad): each input element sums dy
// over the windows that cover it and whose stored argmax is this element. Windows overlap when
// stride < kernel (the paper's 3×3 stride 2), so a scatter from outputs would need atomics; the
// gather writes every dx exactly once, summing in ascending window order (the order of PyTorch's
// CPU scatter): deterministic.
// Covering windows along one axis, in integer arithmetic: with a = iy + PH (padded row), window oy
// covers it iff oy·SH ≤ a < oy·SH + KH, i.e. oy ∈ [ceil((a−KH+1)/SH), floor(a/SH)] ∩ [0, OH): at
// most TY = ceil(KH/SH) windows, oy = last − TY + 1 … last with last = min(floor(a/SH), OH−1),
// each checked (oy ≥ 0 and oy·SH + KH > a) instead of looping over a per-lane range.
// Bindings: 0 uniform P {n}; 1 dy: array<f32> (read) [planes, OH, OW]; 2 am: array<u32> (read)
//           [planes, OH, OW] (from maxpool_fwd); 3 dx: array<f32> (write) [planes, H, W].
// Overrides: the geometry, as in maxpool_fwd.wgsl (constant divisions and trip counts).
// P.n = planes·H·W inputs of the chunk.
// Dispatch: one invocation per input element, ceil(n/256) workgroups of 256 folded into (x, y).
// Numerics: fp32 sum of at most TY·TX terms.
override H: u32; override W: u32; override OH: u32; override OW: u32;
override KH: u32; override KW: u32; override SH: u32; override SW: u32; override PH: u32; override PW: u32;
struct P { n: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> am: array<u32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * 256u + lid;
  if (i >= p.n) { return; }
  let q = i / (H * W);
  let k = i - q * (H * W);
  let iy = k / W;
  let ix = k - iy * W;
  let ay = i32(iy + PH);
  let ax = i32(ix + PW);
  let ty = i32((KH + SH - 1u) / SH);
  let tx = i32((KW + SW - 1u) / SW);
  let lasty = min(ay / i32(SH), i32(OH) - 1);
  let lastx = min(ax / i32(SW), i32(OW) - 1);
  let base = q * OH * OW;
  var acc = 0.0;
  for (var a = 1 - ty; a <= 0; a++) {
    let oy = lasty + a;
    let oky = oy >= 0 && oy * i32(SH) + i32(KH) > ay;
    for (var b = 1 - tx; b <= 0; b++) {
      let ox = lastx + b;
      let ok = oky && ox >= 0 && ox * i32(SW) + i32(KW) > ax;
      let o = base + u32(max(oy, 0)) * OW + u32(max(ox, 0));
      acc += select(0.0, dy[o], ok && am[o] == k);
    }
  }
  dx[i] = acc;
}
