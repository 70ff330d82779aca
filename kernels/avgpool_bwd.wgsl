// avgpool_bwd.wgsl — average-pool gradient as a GATHER: dx[q, iy, ix] = Σ dy[q, oy, ox] / count(oy, ox)
// over the windows (oy, ox) that cover the element. No atomics; every dx written once: deterministic.
// Covering windows along one axis, in integer arithmetic:
//   fixed:    a = i + P; o ∈ [ceil((a−K+1)/S), floor(a/S)] ∩ [0, Out)
//   adaptive: floor(o·In/Out) ≤ i < ceil((o+1)·In/Out)  ⇔  o ∈ [floor(i·Out/In), floor(((i+1)·Out − 1)/In)]
// Window sizes (the divisors) are those of avgpool_fwd.wgsl, recomputed here.
// Bindings: 0 uniform P {n}; 1 dy: array<f32> (read) [planes, OH, OW]; 2 dx: array<f32> (write) [planes, H, W].
// Overrides: the geometry H, W, OH, OW, KH, KW, SH, SW, PH, PW (constant divisions, see
// maxpool_fwd.wgsl); for adaptive pools K, S, P are unused. P.n = planes·H·W inputs of the chunk.
// Dispatch: one invocation per input element, ceil(n/256) workgroups of 256 folded into (x, y).
// Numerics: fp32, each term dy / count (as PyTorch), summed in row-major window order.
override ADAPTIVE: bool = false;
override INCLUDE_PAD: bool = true;
override H: u32; override W: u32; override OH: u32; override OW: u32;
override KH: u32; override KW: u32; override SH: u32; override SW: u32; override PH: u32; override PW: u32;
struct P { n: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;

// [first, last] window covering input i along one axis (first > last: none).
fn cover(i: u32, In: u32, Out: u32, K: u32, S: u32, P: u32) -> vec2u {
  if (ADAPTIVE) {
    return vec2u(i * Out / In, ((i + 1u) * Out - 1u) / In);
  }
  let a = i + P;
  let first = select(0u, (a - K) / S + 1u, a >= K);
  return vec2u(first, min(a / S, Out - 1u));
}

// The divisor's factor of window o along one axis (see avgpool_fwd.wgsl).
fn count(o: u32, In: u32, Out: u32, K: u32, S: u32, P: u32) -> u32 {
  if (ADAPTIVE) {
    return ((o + 1u) * In + Out - 1u) / Out - o * In / Out;
  }
  let s = i32(o * S) - i32(P);
  let e = min(s + i32(K), i32(In + P));
  return u32(select(min(e, i32(In)) - max(s, 0), e - s, INCLUDE_PAD));
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * 256u + lid;
  if (i >= p.n) { return; }
  let hw = H * W;
  let q = i / hw;
  let k = i - q * hw;
  let iy = k / W;
  let ix = k - iy * W;
  let ry = cover(iy, H, OH, KH, SH, PH);
  let rx = cover(ix, W, OW, KW, SW, PW);
  let base = q * OH * OW;
  var acc = 0.0;
  for (var oy = ry.x; oy <= ry.y; oy++) {
    let cy = count(oy, H, OH, KH, SH, PH);
    for (var ox = rx.x; ox <= rx.y; ox++) {
      acc += dy[base + oy * OW + ox] / f32(cy * count(ox, W, OW, KW, SW, PW));
    }
  }
  dx[i] = acc;
}
