// maxpool_bwd.wgsl — max-pool gradient as a GATHER (tfjs MaxPoolGrad): each input element sums dy
// over the windows whose stored argmax is this element. Windows overlap when stride < kernel (the
// paper's 3×3 stride 2), so a scatter from outputs would need atomics; the gather writes every dx
// exactly once, summing in ascending window order (the order of PyTorch's CPU scatter):
// deterministic.
// Blocking: one invocation owns an SH × SW block of inputs, aligned in padded coordinates (input
// rows by·SH − PH … by·SH − PH + SH − 1, likewise columns). The windows that can hold one of them
// are the TY × TX = ceil(KH/SH) × ceil(KW/SW) windows oy = by − TY + 1 … by (those in [0, OH)),
// likewise ox — for 3/2 pooling 2 × 2 windows serve 4 inputs. Each window's dy and argmax are loaded once and
// compared with all inputs of the block (an argmax always lies inside its window, so equality alone
// decides coverage): on lavapipe, where every storage access is a per-lane bounds-checked load,
// this does 3× fewer accesses than one invocation per input.
// Bindings: 0 uniform P {n}; 1 dy: array<f32> (read) [planes, OH, OW]; 2 am: array<u32> (read)
//           [planes, OH, OW] (from maxpool_fwd); 3 dx: array<f32> (write) [planes, H, W].
// Overrides: the geometry, as in maxpool_fwd.wgsl (constant divisions and trip counts).
// P.n = planes · BH · BW blocks of the chunk, BH = ceil((H + PH)/SH), BW = ceil((W + PW)/SW).
// Dispatch: one invocation per block, ceil(n/256) workgroups of 256 folded into (x, y).
// Numerics: fp32 sum of at most TY·TX terms per input, in ascending window order.
override H: u32; override W: u32; override OH: u32; override OW: u32;
override KH: u32; override KW: u32; override SH: u32; override SW: u32; override PH: u32; override PW: u32;
override BH: u32 = (H + PH + SH - 1u) / SH;
override BW: u32 = (W + PW + SW - 1u) / SW;
override TY: u32 = (KH + SH - 1u) / SH;
override TX: u32 = (KW + SW - 1u) / SW;
struct P { n: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> am: array<u32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * 256u + lid;
  if (i >= p.n) { return; }
  let q = i / (BH * BW);
  let r = i - q * (BH * BW);
  let by = r / BW;
  let bx = r - by * BW;
  let lasty = min(i32(by), i32(OH) - 1);
  let lastx = min(i32(bx), i32(OW) - 1);
  let iy0 = i32(by * SH) - i32(PH);   // the block's first input row and column (may be < 0)
  let ix0 = i32(bx * SW) - i32(PW);
  let base = q * OH * OW;
  var acc: array<f32, 64>;   // the block's inputs, row-major (SH·SW ≤ 64)
  for (var e = 0u; e < SH * SW; e++) { acc[e] = 0.0; }
  for (var a = 1 - i32(TY); a <= 0; a++) {
    let oy = lasty + a;
    for (var b = 1 - i32(TX); b <= 0; b++) {
      let ox = lastx + b;
      let ok = oy >= 0 && ox >= 0;
      let o = base + u32(max(oy, 0)) * OW + u32(max(ox, 0));
      let d = select(0.0, dy[o], ok);
      let m = select(0xffffffffu, am[o], ok);
      for (var ey = 0u; ey < SH; ey++) {
        for (var ex = 0u; ex < SW; ex++) {
          let iy = iy0 + i32(ey);
          let ix = ix0 + i32(ex);
          let inside = iy >= 0 && iy < i32(H) && ix >= 0 && ix < i32(W);
          acc[ey * SW + ex] += select(0.0, d, inside && m == u32(iy * i32(W) + ix));
        }
      }
    }
  }
  for (var ey = 0u; ey < SH; ey++) {
    let iy = iy0 + i32(ey);
    for (var ex = 0u; ex < SW; ex++) {
      let ix = ix0 + i32(ex);
      if (iy >= 0 && iy < i32(H) && ix >= 0 && ix < i32(W)) { dx[q * H * W + u32(iy) * W + u32(ix)] = acc[ey * SW + ex]; }
    }
  }
}
