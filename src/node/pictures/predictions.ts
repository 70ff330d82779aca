// The paper's figure 4 (left): each test image with its true label and the model's top-5 guesses
// as bars whose length is the probability; the bar of the correct label, if guessed, is red.
import { clip, f1, svgDoc, text, writePng, type Layer } from './svg.js';
import { thumbnail, type Img } from './image.js';

export interface Prediction extends Img {
  trueLabel?: string;
  top5: readonly { label: string; p: number }[];
}
export interface PredictionOptions {
  columns?: number;
  imageSize?: number;
}

const PAD = 12,
  BAR_H = 15,
  BAR_GAP = 4;

/** Write the predictions figure PNG; returns its size. */
export async function predictionFigure(
  path: string,
  items: readonly Prediction[],
  opts: PredictionOptions = {},
): Promise<{ width: number; height: number }> {
  const box = opts.imageSize ?? 160;
  const cellW = box + 2 * PAD;
  const bars = Math.max(1, ...items.map((it) => it.top5.length));
  const cellH = PAD + box + 22 + bars * (BAR_H + BAR_GAP) + PAD;
  const cols = Math.max(1, Math.min(opts.columns ?? 4, items.length));
  const rows = Math.max(1, Math.ceil(items.length / cols));
  const width = cols * cellW,
    height = rows * cellH;
  const svg: string[] = [];
  const images: Layer[] = [];
  if (!items.length)
    svg.push(text(width / 2, height / 2, 'no predictions', 'font-size="14" fill="#888" text-anchor="middle"'));
  for (const [i, it] of items.entries()) {
    const x0 = (i % cols) * cellW + PAD,
      y0 = Math.floor(i / cols) * cellH + PAD;
    const t = await thumbnail(it, box, `prediction ${i}`);
    images.push({
      input: t.input,
      left: x0 + Math.floor((box - t.width) / 2),
      top: y0 + Math.floor((box - t.height) / 2),
    });
    const chars = Math.floor(box / 6.6);
    if (it.trueLabel !== undefined)
      svg.push(
        text(
          x0 + box / 2,
          y0 + box + 16,
          clip(it.trueLabel, chars - 2),
          'font-size="12" font-weight="bold" text-anchor="middle"',
        ),
      );
    it.top5.forEach((g, j) => {
      const y = y0 + box + 22 + j * (BAR_H + BAR_GAP);
      const p = Number.isFinite(g.p) ? Math.max(0, Math.min(1, g.p)) : 0;
      const hit = it.trueLabel !== undefined && g.label === it.trueLabel;
      svg.push(
        `<rect x="${x0}" y="${y}" width="${box}" height="${BAR_H}" fill="#eeeeee"/>`,
        `<rect x="${x0}" y="${y}" width="${f1(p * box)}" height="${BAR_H}" fill="${hit ? '#e8413c' : '#8fb3de'}"/>`,
        text(x0 + 3, y + BAR_H - 4, clip(g.label, chars - 6), `font-size="10.5"${hit ? ' font-weight="bold"' : ''}`),
        text(x0 + box - 3, y + BAR_H - 4, `${Math.round(p * 100)}%`, 'font-size="9.5" fill="#444" text-anchor="end"'),
      );
    });
  }
  await writePng(path, width, height, [{ input: svgDoc(width, height, svg.join('')), top: 0, left: 0 }, ...images]);
  return { width, height };
}
