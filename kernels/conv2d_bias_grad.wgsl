// conv2d_bias_grad.wgsl — db[o] (+)= Σ_{img, pixel} dy[img, o, pixel]: the bias gradient of a conv.
// Layout: dy [n, O, OH·OW] f32 row-major; db [O].
// Bindings: 0 uniform P; 1 dy (read); 2 db (read_write).
// Dispatch: (O) workgroups of WG invocations, one workgroup per channel.
// Each invocation sums the pixels lid, lid + WG, … of every image in order; the WG partial sums are
// then added in a fixed binary tree in workgroup memory. Fixed order throughout: deterministic, and
// the error grows like log(n·OH·OW) rather than n·OH·OW. With p.accumulate = 1 (later batch
// chunks) the previous db is added.
override WG: u32 = 64;          // invocations per workgroup (a power of two)

struct P { n: u32, o: u32, hw: u32, accumulate: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> db: array<f32>;
var<workgroup> part: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let o = wid.x;
  var s = 0.0;
  for (var img = 0u; img < p.n; img++) {
    let base = (img * p.o + o) * p.hw;
    for (var i = lid; i < p.hw; i += WG) { s += dy[base + i]; }
  }
  part[lid] = s;
  for (var half = WG / 2u; half > 0u; half /= 2u) {
    workgroupBarrier();
    if (lid < half) { part[lid] += part[lid + half]; }
  }
  if (lid == 0u) {
    var total = part[0];
    if (p.accumulate != 0u) { total += db[o]; }
    db[o] = total;
  }
}
