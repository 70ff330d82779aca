// Figures: each function writes a valid PNG of a sensible size, survives empty input, NaN and
// markup in labels, and the kernel grid's pixels reflect the weights.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { ShapeError } from '../src/errors.js';
import {
  plotCurves,
  kernelGrid,
  predictionFigure,
  neighborsFigure,
  escapeSvgText,
  type Img,
} from '../src/node/pictures/index.js';

const dir = mkdtempSync(join(tmpdir(), 'pics-'));
const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

async function png(path: string): Promise<{
  width: number;
  height: number;
  pixel(x: number, y: number): number[];
  count(rgb: number[], tol?: number): number;
}> {
  assert.ok(readFileSync(path).subarray(0, 8).equals(SIGNATURE), `${path} is not a PNG`);
  const meta = await sharp(path).metadata();
  assert.is(meta.format, 'png');
  assert.ok(meta.width > 0 && meta.height > 0);
  const { data, info } = await sharp(path).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const at = (x: number, y: number) => (y * info.width + x) * info.channels;
  return {
    width: info.width,
    height: info.height,
    pixel: (x, y) => [...data.subarray(at(x, y), at(x, y) + 3)],
    count(rgb, tol = 12) {
      let n = 0;
      for (let i = 0; i < data.length; i += info.channels)
        if (rgb.every((v, c) => Math.abs(data[i + c] - v) <= tol)) n++;
      return n;
    },
  };
}

const solid = (w: number, h: number, rgb: number[]): Img => {
  const image = new Uint8Array(w * h * 3);
  for (let i = 0; i < w * h; i++) image.set(rgb, i * 3);
  return { image, width: w, height: h, channels: 3 };
};

test('escapeSvgText escapes markup and drops XML-illegal controls', () => {
  assert.is(escapeSvgText(`a<b&"c"'\u0001d`), 'a&lt;b&amp;&quot;c&quot;&#39;d');
});

test('plotCurves: panels with NaN gaps, an empty series, a long noisy line, log axis, markup in labels', async () => {
  const path = join(dir, 'curves.png');
  const loss = Array.from(
    { length: 20000 },
    (_, i) => [i, 6.9 * Math.exp(-i / 5000) + 0.3 * Math.sin(i)] as [number, number],
  );
  loss[500] = [500, NaN];
  const size = await plotCurves(path, [
    { title: 'Training loss <&"x">', xLabel: 'step', yLabel: 'loss', lines: [{ name: 'train & "val"', points: loss }] },
    {
      title: 'Error per epoch',
      xLabel: 'epoch',
      yLabel: 'error %',
      lines: [
        {
          name: 'train top-1',
          points: [
            [1, 80],
            [2, 60],
            [3, NaN],
            [4, 45],
          ],
        },
        {
          name: 'val top-5',
          points: [
            [1, 50],
            [2, 40],
            [3, 33],
            [4, 30],
          ],
        },
        { name: 'never measured', points: [] },
      ],
    },
    {
      title: 'Learning rate',
      xLabel: 'step',
      yLabel: 'lr',
      logY: true,
      lines: [
        {
          name: 'lr',
          points: [
            [0, 0.01],
            [100, 0.01],
            [100, 0.001],
            [200, 0.0001],
          ],
        },
      ],
    },
    { title: 'Nothing yet', xLabel: 't', yLabel: 'acc', lines: [] },
    { title: 'One point', xLabel: 's', yLabel: 'acc', lines: [{ name: 'val', points: [[5, 0.5]] }] },
  ]);
  const p = await png(path);
  assert.equal([p.width, p.height], [size.width, size.height]);
  assert.ok(p.width >= 1000 && p.height >= 900);
  assert.ok(p.count([0x1f, 0x77, 0xb4], 30) > 200, 'the first line colour is drawn');
  assert.ok(p.count([0, 0, 0], 60) > 200, 'text and axes are drawn');
  await plotCurves(join(dir, 'none.png'), []);
  const empty = await png(join(dir, 'none.png'));
  assert.ok(empty.width > 0);
});

test('kernelGrid: two labelled groups; all-max kernel is white, all-min black, per-kernel colour contrast', async () => {
  const [out, cin, k] = [96, 3, 11];
  const size = cin * k * k;
  const w = new Float32Array(out * size);
  for (let i = 0; i < w.length; i++) w[i] = Math.sin(i * 0.37) * 0.5;
  w.fill(1, 0, size); // kernel 0: the global maximum everywhere
  w.fill(-1, size, 2 * size); // kernel 1: the global minimum everywhere
  w.fill(0.2, 2 * size, 2 * size + k * k); // kernel 2: red channel high, green and blue low
  w.fill(0.1, 2 * size + k * k, 3 * size);
  w[5 * size] = NaN; // a diverged weight must not wreck the picture
  const path = join(dir, 'kernels.png');
  const g = await kernelGrid(path, w, [out, cin, k, k], { groups: 2 });
  assert.is(g.cells.length, 96);
  assert.is(g.cells[48].group, 1);
  assert.ok(g.cells[48].y > g.cells[47].y + g.cells[47].height, 'group 2 is a block below group 1');
  const p = await png(path);
  assert.equal([p.width, p.height], [g.width, g.height]);
  const centre = (i: number) => p.pixel(g.cells[i].x + g.cells[i].width / 2, g.cells[i].y + g.cells[i].height / 2);
  assert.equal(centre(0), [255, 255, 255]);
  assert.equal(centre(1), [0, 0, 0]);
  assert.equal(centre(2), [255, 0, 0]);
  assert.is(g.cells[0].width, 44);
  // The labels "group 1" / "group 2" put dark pixels above each block.
  const labelDark = (cell: number) => {
    let n = 0;
    for (let y = g.cells[cell].y - 22; y < g.cells[cell].y - 4; y++)
      for (let x = 10; x < 80; x++) if (p.pixel(x, y)[0] < 100) n++;
    return n;
  };
  assert.ok(labelDark(0) > 20 && labelDark(48) > 20);
});

test('kernelGrid: gray kernels, shared contrast, shape errors', async () => {
  const w = Float32Array.from({ length: 4 * 5 * 5 }, (_, i) => (i < 25 ? 0.5 : i < 50 ? 0 : (i % 5) / 4));
  const g = await kernelGrid(join(dir, 'gray.png'), w, [4, 1, 5, 5], { scale: 2, contrast: 'shared' });
  const p = await png(join(dir, 'gray.png'));
  const c = g.cells[0];
  assert.equal(p.pixel(c.x + 1, c.y + 1), [128, 128, 128]);
  const last = g.cells[3];
  assert.equal(p.pixel(last.x, last.y), [0, 0, 0]);
  assert.equal(p.pixel(last.x + last.width - 1, last.y), [255, 255, 255]);
  const isShape = (e: unknown) => e instanceof ShapeError;
  await kernelGrid(join(dir, 'x.png'), w, [4, 2, 5, 5]).then(
    () => assert.unreachable(),
    (e) => assert.ok(isShape(e)),
  );
  await kernelGrid(join(dir, 'x.png'), w, [4, 1, 5, 4]).then(
    () => assert.unreachable(),
    (e) => assert.ok(isShape(e)),
  );
  await kernelGrid(join(dir, 'x.png'), w, [4, 1, 5, 5], { groups: 3 }).then(
    () => assert.unreachable(),
    (e) => assert.ok(isShape(e)),
  );
});

test('predictionFigure: images with top-5 bars, the correct label in red, gray and RGB inputs', async () => {
  const path = join(dir, 'pred.png');
  const gray: Img = {
    image: Uint8Array.from({ length: 32 * 24 }, (_, i) => i % 256),
    width: 32,
    height: 24,
    channels: 1,
  };
  const size = await predictionFigure(path, [
    {
      ...solid(227, 227, [0, 200, 0]),
      trueLabel: 'mite <&>',
      top5: [
        { label: 'mite <&>', p: 0.7 },
        { label: 'black widow', p: 0.2 },
        { label: 'cockroach', p: 0.05 },
        { label: 'tick', p: 0.03 },
        { label: 'starfish', p: 0.02 },
      ],
    },
    {
      ...gray,
      trueLabel: 'grille',
      top5: [
        { label: 'convertible "x"', p: 0.5 },
        { label: 'a'.repeat(200), p: NaN },
        { label: 'pickup', p: 1.5 },
      ],
    },
    { ...solid(10, 40, [0, 0, 255]), top5: [] },
  ]);
  const p = await png(path);
  assert.equal([p.width, p.height], [size.width, size.height]);
  assert.ok(p.count([0xe8, 0x41, 0x3c]) > 500, 'the correct guess is a red bar');
  assert.ok(p.count([0, 200, 0], 4) > 150 * 150, 'the green image is shown');
  assert.ok(p.count([0, 0, 255], 4) > 100, 'the thin blue image is shown');
  await predictionFigure(join(dir, 'pred0.png'), []);
  await png(join(dir, 'pred0.png'));
  await predictionFigure(join(dir, 'bad.png'), [
    { image: new Uint8Array(5), width: 2, height: 2, channels: 3, top5: [] },
  ]).then(
    () => assert.unreachable(),
    (e) => assert.instance(e, ShapeError),
  );
});

test('neighborsFigure: query then nearest images per row', async () => {
  const path = join(dir, 'nn.png');
  const size = await neighborsFigure(path, [
    { query: solid(64, 64, [255, 0, 0]), neighbors: [solid(64, 64, [0, 0, 255]), solid(32, 48, [0, 255, 0])] },
    { query: { image: new Uint8Array(16 * 16).fill(90), width: 16, height: 16, channels: 1 }, neighbors: [] },
  ]);
  const p = await png(path);
  assert.equal([p.width, p.height], [size.width, size.height]);
  assert.ok(p.count([255, 0, 0], 4) > 90 * 90, 'query');
  assert.ok(p.count([0, 0, 255], 4) > 90 * 90, 'neighbour');
  assert.ok(p.count([90, 90, 90], 4) > 90 * 90, 'gray query');
  await neighborsFigure(join(dir, 'nn0.png'), []);
  await png(join(dir, 'nn0.png'));
  assert.not.ok(
    readdirSync(dir).some((f) => f.includes('.tmp-')),
    'no temp files left',
  );
});

test.run();
