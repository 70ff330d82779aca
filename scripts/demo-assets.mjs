// Makes the demo's offline assets (demo/assets/, committed): the default job's trained `mini`
// (runs/mini-fashion-mnist/final.safetensors from `npm start`, or the file given) without its
// run-specific config, and a Fashion-MNIST subset as gzipped IDX: the first 2048 training images
// and the first 500 test images, from the Debian package or $FASHION_MNIST_DIR.
//   node scripts/build.mjs dist && node scripts/demo-assets.mjs [final.safetensors]
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { decodeSafetensors, encodeIdx, encodeSafetensors, parseCheckpoint } from '../dist/index.js';
import { readIdx } from '../dist/node.js';

const out = 'demo/assets';
const ckpt = process.argv[2] ?? 'runs/mini-fashion-mnist/final.safetensors';
const dir = process.env.FASHION_MNIST_DIR ?? '/usr/share/datasets/fashion-mnist';
mkdirSync(out, { recursive: true });

const file = decodeSafetensors(readFileSync(ckpt), ckpt);
const { meta } = parseCheckpoint(file, ckpt);
delete meta.config; // paths and flags of the run that made it
writeFileSync(
  `${out}/mini-fashion-mnist.safetensors`,
  encodeSafetensors(file.tensors, { format: file.metadata.format, meta: JSON.stringify(meta) }, { checksum: true }),
);

for (const [split, n] of [
  ['train', 2048],
  ['t10k', 500],
]) {
  const images = await readIdx(`${dir}/${split}-images-idx3-ubyte.gz`);
  const labels = await readIdx(`${dir}/${split}-labels-idx1-ubyte.gz`);
  const [, h, w] = images.dims;
  writeFileSync(
    `${out}/${split}-images-${n}.idx.gz`,
    gzipSync(encodeIdx([n, h, w], images.data.subarray(0, n * h * w)), { level: 9 }),
  );
  writeFileSync(
    `${out}/${split}-labels-${n}.idx.gz`,
    gzipSync(encodeIdx([n], labels.data.subarray(0, n)), { level: 9 }),
  );
}
console.log(`demo assets written to ${out}/`);
