// The paper's figure 4 (right): each row is a query image followed by the training images whose
// last-hidden-layer features are nearest to it.
import { svgDoc, text, writePng, type Layer } from './svg.js';
import { thumbnail, type Img } from './image.js';

export interface NeighborRow {
  query: Img;
  neighbors: readonly Img[];
}
export interface NeighborOptions {
  imageSize?: number;
}

const PAD = 12,
  GAP = 4,
  SEP = 20,
  HEAD = 24;

/** Write the neighbours figure PNG; returns its size. */
export async function neighborsFigure(
  path: string,
  rows: readonly NeighborRow[],
  opts: NeighborOptions = {},
): Promise<{ width: number; height: number }> {
  const box = opts.imageSize ?? 96;
  const n = Math.max(1, ...rows.map((r) => r.neighbors.length));
  const nx = PAD + box + SEP; // where the neighbours start
  const width = Math.max(nx + n * (box + GAP) - GAP + PAD, 320);
  const height = HEAD + PAD + Math.max(1, rows.length) * (box + GAP) - GAP + PAD;
  const svg: string[] = [
    text(PAD + box / 2, HEAD, 'query', 'font-size="13" font-weight="bold" text-anchor="middle"'),
    text(nx, HEAD, 'nearest training images', 'font-size="13" font-weight="bold"'),
    `<line x1="${nx - SEP / 2}" y1="${HEAD + PAD}" x2="${nx - SEP / 2}" y2="${height - PAD}" stroke="#999" stroke-width="1.5"/>`,
  ];
  if (!rows.length)
    svg.push(text(width / 2, HEAD + PAD + box / 2, 'no rows', 'font-size="14" fill="#888" text-anchor="middle"'));
  const images: Layer[] = [];
  const place = async (img: Img, x: number, y: number, what: string) => {
    const t = await thumbnail(img, box, what);
    images.push({
      input: t.input,
      left: x + Math.floor((box - t.width) / 2),
      top: y + Math.floor((box - t.height) / 2),
    });
  };
  for (const [r, row] of rows.entries()) {
    const y = HEAD + PAD + r * (box + GAP);
    await place(row.query, PAD, y, `row ${r} query`);
    for (const [j, img] of row.neighbors.entries()) await place(img, nx + j * (box + GAP), y, `row ${r} neighbor ${j}`);
  }
  await writePng(path, width, height, [{ input: svgDoc(width, height, svg.join('')), top: 0, left: 0 }, ...images]);
  return { width, height };
}
