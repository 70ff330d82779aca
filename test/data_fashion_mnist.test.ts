// Tests for the Fashion-MNIST loader: the real files, label/count validation, and verified downloads
// from a local 127.0.0.1 server (matching sums succeed; a mismatch fails and leaves no file behind).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer, type Server } from 'node:http';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { FASHION_MNIST_CLASSES, loadFashionMnist } from '../src/node/data/fashion_mnist.js';
import { encodeIdx } from '../src/formats/idx.js';
import { AlexnetError, FormatError } from '../src/errors.js';

const tmp = mkdtempSync(join(tmpdir(), 'fmnist-test-'));
const N = 6;
const images = (n: number) =>
  gzipSync(
    encodeIdx(
      [n, 28, 28],
      Uint8Array.from({ length: n * 784 }, (_, i) => i % 251),
    ),
  );
const labels = (vals: number[]) => gzipSync(encodeIdx([vals.length], Uint8Array.from(vals)));
const fake: Record<string, Uint8Array> = {
  'train-images-idx3-ubyte.gz': images(N),
  'train-labels-idx1-ubyte.gz': labels([0, 1, 2, 3, 9, 5]),
  't10k-images-idx3-ubyte.gz': images(2),
  't10k-labels-idx1-ubyte.gz': labels([7, 8]),
};
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const sums = Object.fromEntries(Object.entries(fake).map(([k, v]) => [k, sha(v)]));

let server: Server,
  base = '';
test.before(async () => {
  server = createServer((req, res) => {
    const body = fake[(req.url ?? '').replace(/^\/files\//, '')];
    if (!body) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-length': body.length });
    // Two chunks, so progress is reported more than once.
    res.write(body.subarray(0, body.length >> 1));
    setTimeout(() => res.end(body.subarray(body.length >> 1)), 5);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}/files/`;
});
test.after(() => {
  server.close();
  rmSync(tmp, { recursive: true, force: true });
});

test('the real dataset: 60000 + 10000 images, 1×28×28 pixels, 10 named classes', async () => {
  const { train, val } = await loadFashionMnist({ dir: '/usr/share/datasets/fashion-mnist', download: false });
  assert.is(train.length, 60000);
  assert.is(val!.length, 10000);
  assert.equal([train.channels, train.height, train.width, train.classes, train.pixels], [1, 28, 28, 10, true]);
  assert.equal(train.classNames, [...FASHION_MNIST_CLASSES]);
  assert.equal(Array.from(train.labels.subarray(0, 5)), [9, 0, 0, 3, 0]);
  assert.equal(Array.from(val!.labels.subarray(0, 5)), [9, 2, 1, 1, 6]);
  const img = new Float32Array(784);
  train.get(0, img);
  assert.is(
    img.reduce((a, b) => a + b, 0),
    76247,
  ); // pixel sum of the first image (checked with numpy)
});

test('download with matching sums, then load', async () => {
  const dir = join(tmp, 'good');
  const seen: string[] = [];
  const { train, val } = await loadFashionMnist({
    dir,
    baseUrl: base,
    sha256: sums,
    onProgress: (p) => {
      if (p.done) seen.push(p.file);
    },
  });
  assert.equal(seen.sort(), Object.keys(fake).sort());
  assert.equal(readdirSync(dir).sort(), Object.keys(fake).sort());
  assert.is(train.length, N);
  assert.equal(Array.from(val!.labels), [7, 8]);
  // Found on disk the second time: no server needed.
  assert.is((await loadFashionMnist({ dir, download: false })).train.length, N);
});

test('a checksum mismatch fails and leaves no file behind', async () => {
  const dir = join(tmp, 'bad');
  const wrong = { ...sums, 'train-labels-idx1-ubyte.gz': '0'.repeat(64) };
  await loadFashionMnist({ dir, baseUrl: base, sha256: wrong, onProgress: () => {} }).then(
    () => assert.unreachable(),
    (e) => assert.ok(e instanceof FormatError && /SHA-256 mismatch/.test(e.message), String(e)),
  );
  const left = readdirSync(dir);
  assert.not.ok(left.includes('train-labels-idx1-ubyte.gz'));
  assert.not.ok(
    left.some((f) => f.includes('.part')),
    left.join(','),
  );
});

test('HTTP errors and a disabled download are AlexnetErrors', async () => {
  await loadFashionMnist({
    dir: join(tmp, 'http'),
    baseUrl: `${base}missing/`,
    sha256: sums,
    onProgress: () => {},
  }).then(
    () => assert.unreachable(),
    (e) => assert.ok(e instanceof AlexnetError && /HTTP 404/.test(e.message), String(e)),
  );
  await loadFashionMnist({ dir: join(tmp, 'none'), download: false }).then(
    () => assert.unreachable(),
    (e) => assert.ok(e instanceof AlexnetError && /not found/.test(e.message), String(e)),
  );
});

test('labels out of range and count mismatches are FormatErrors naming the file', async () => {
  for (const [name, vals, re] of [
    ['range', [0, 1, 2, 3, 10, 5], /label 10 at index 4/],
    ['count', [0, 1, 2], /3 labels but/],
  ] as const) {
    const dir = join(tmp, name);
    rmSync(dir, { recursive: true, force: true });
    await loadFashionMnist({ dir, baseUrl: base, sha256: sums, onProgress: () => {} });
    writeFileSync(join(dir, 'train-labels-idx1-ubyte'), encodeIdx([vals.length], Uint8Array.from(vals))); // raw file wins over .gz
    await loadFashionMnist({ dir, download: false }).then(
      () => assert.unreachable(),
      (e) =>
        assert.ok(
          e instanceof FormatError && e.message.includes('train-labels-idx1-ubyte') && re.test(e.message),
          String(e),
        ),
    );
  }
});

test.run();
