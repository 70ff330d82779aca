// augment_pixels.wgsl — the input path on the device: uint8 H×W×C images to the network's float32
// C×S×S inputs. Per output a window of one image at (y0, x0) (several windows may read one image:
// the paper's ten test crops), which may reach past any edge (those pixels are 0:
// zero padding), an optional mirror, a per-channel shift (the paper's PCA lighting, drawn on the
// host), then out = (pixel + shift[ch]) · k[ch] − b[ch] per channel (scale, mean and std folded
// into k and b by inputAffine). The same arithmetic as cropPixels() in src/data/augment.ts, the
// reference it is tested against; uploading bytes moves a quarter of the float32 batch.
// Overrides: C, H, W, S (the geometry: one pipeline per dataset shape, so the index divisions
//   compile to multiplications).
// Bindings: 0 uniform P {n (windows in this dispatch), stride (u32 words per image), base (the word
//   of the whole pixel tensor this binding starts at), first (this dispatch's first window)};
//   1 pixels: array<u32> (read), four bytes a word, little-endian, image i from word i·stride − base,
//     its byte (y·W + x)·C + ch; 2 windows: array<vec4i> (read, all of them) {y0, x0, mirror (0/1),
//   image} per output; 3 shifts: array<f32> (read, all) C per output; 4 affine: array<vec2f> (read)
//   {k, b} per channel; 5 out: array<f32> (read_write) this dispatch's n×C×S×S.
// Dispatch: one invocation per 4 consecutive outputs of a row (the last of a row may hold fewer),
//   ceil(n·C·S·⌈S/4⌉ / 256) workgroups of 256 folded into (x, y) (src/gpu/grid.ts). Measured on
//   lavapipe (npm run bench -- input, 32 ImageNet crops with lighting, upload included): one output
//   per invocation with the geometry in the uniform 143 ms; this way 40 ms, against 50 ms for the
//   host path, 46 of them on the main thread.
override C: u32;
override H: u32;
override W: u32;
override S: u32;
override Q: u32 = (S + 3u) / 4u; // invocations per output row

struct P { n: u32, stride: u32, base: u32, first: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> pixels: array<u32>;
@group(0) @binding(2) var<storage, read> windows: array<vec4i>;
@group(0) @binding(3) var<storage, read> shifts: array<f32>;
@group(0) @binding(4) var<storage, read> affine: array<vec2f>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let t = (wid.y * nwg.x + wid.x) * 256u + lid;
  if (t >= p.n * C * S * Q) { return; }
  let x0 = (t % Q) * 4u;
  let row = t / Q; // ((o − first)·C + ch)·S + y: rows of this dispatch's output
  let y = row % S;
  let ch = (row / S) % C;
  let o = p.first + row / (S * C);
  let win = windows[o];
  let sy = win.x + i32(y);
  let kb = affine[ch];
  let shift = shifts[o * C + ch];
  let img = u32(win.w) * p.stride - p.base;
  let inRow = sy >= 0 && sy < i32(H);
  for (var j = 0u; j < 4u; j++) {
    let x = x0 + j;
    if (x >= S) { break; }
    // output column x shows window column S−1−x when mirrored
    let sx = win.y + i32(select(x, S - 1u - x, win.z != 0));
    var px = 0.0;
    if (inRow && sx >= 0 && sx < i32(W)) {
      let byte = (u32(sy) * W + u32(sx)) * C + ch;
      px = f32((pixels[img + byte / 4u] >> ((byte % 4u) * 8u)) & 0xffu);
    }
    out[row * S + x] = (px + shift) * kb.x - kb.y;
  }
}
