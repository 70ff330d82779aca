// One decoding thread of DecodePool (decode_pool.ts): decodes the files or encoded bytes it is sent
// with decode.ts, one at a time, and hands the pixels back by transferring their buffer. Built
// alone ('worker:' imports, scripts/build.mjs) and started from a data: URL, so sharp, which a data:
// URL cannot resolve, is imported from the URL the pool resolved for it (sharp_by_url.ts).
import { parentPort } from 'node:worker_threads';
import { decodeImage } from './decode.js';
import type { DecodeReply, DecodeRequest } from './decode_pool.js';

const port = parentPort!;
port.on('message', async (m: DecodeRequest) => {
  const t0 = performance.now();
  let reply: DecodeReply;
  let transfer: ArrayBuffer[] = [];
  try {
    const px = await decodeImage(m.src, m.size, m.maxPixels, m.resample);
    // sharp's output owns its whole buffer, so it moves without a copy; a view would be copied first
    const own = px.byteOffset === 0 && px.byteLength === px.buffer.byteLength ? px : px.slice();
    reply = { id: m.id, pixels: own, busyMs: performance.now() - t0 };
    transfer = [own.buffer as ArrayBuffer];
  } catch (e) {
    reply = { id: m.id, error: (e as Error).message, busyMs: performance.now() - t0 };
  }
  port.postMessage(reply, transfer);
});
