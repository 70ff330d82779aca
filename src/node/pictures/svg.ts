// Shared plumbing for the figures: escaping text into SVG, number formatting, fonts, colours,
// and writing the PNG atomically (a half-written picture is never left behind).
import { loadSharp } from '../sharp.js';
import { atomicWrite } from '../files/atomic.js';

export const FONT = `font-family="DejaVu Sans, Arial, Helvetica, sans-serif"`;
/** Tableau 10: distinguishable lines, also for most colour-blind readers. */
export const PALETTE = [
  '#1f77b4',
  '#ff7f0e',
  '#2ca02c',
  '#d62728',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
  '#17becf',
];

/** Text safe inside SVG elements and attributes: markup characters escaped, XML-illegal controls dropped. */
export function esc(text: unknown): string {
  return String(text)
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '')
    .replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Cut long labels (ImageNet class names run long) so they fit a column. */
export function clip(text: string, max: number): string {
  const chars = [...text];
  return chars.length > max ? `${chars.slice(0, Math.max(1, max - 1)).join('')}…` : text;
}

/** Coordinates with one decimal: small SVGs, no visible rounding. */
export const f1 = (v: number): string => (Math.round(v * 10) / 10).toString();

export function svgDoc(width: number, height: number, body: string, background?: string): Buffer {
  const bg = background ? `<rect width="100%" height="100%" fill="${background}"/>` : '';
  return Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">${bg}${body}</svg>`,
  );
}

export function text(x: number, y: number, s: string, attrs = ''): string {
  return `<text x="${f1(x)}" y="${f1(y)}" ${FONT} ${attrs}>${esc(s)}</text>`;
}

/** An image (a PNG or an SVG document) placed at (left, top). */
export interface Layer {
  input: Buffer;
  left: number;
  top: number;
}

/**
 * Composite `layers` over a white width×height canvas, or over `rgb` pixels of that size, and
 * replace `path` with the PNG atomically.
 */
export async function writePng(
  path: string,
  width: number,
  height: number,
  layers: Layer[],
  rgb?: Uint8Array,
): Promise<void> {
  const sharp = await loadSharp();
  const base = rgb
    ? sharp(rgb, { raw: { width, height, channels: 3 } })
    : sharp({ create: { width, height, channels: 3, background: '#ffffff' } });
  await atomicWrite(path, await base.composite(layers).png({ compressionLevel: 6 }).toBuffer());
}
