// Shared plumbing for the figures: escaping text into SVG, number formatting, fonts, colours,
// and writing the PNG atomically (a half-written picture is never left behind).
import type { Sharp } from 'sharp';
import { loadSharp } from '../sharp.js';
import { atomicWrite } from '../files/atomic.js';

export const FONT = `font-family="DejaVu Sans, Arial, Helvetica, sans-serif"`;
/** Tableau 10: distinguishable lines, also for most colour-blind readers. */
export const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

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
  return Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">${bg}${body}</svg>`);
}

export function text(x: number, y: number, s: string, attrs = ''): string {
  return `<text x="${f1(x)}" y="${f1(y)}" ${FONT} ${attrs}>${esc(s)}</text>`;
}

/** Encode as PNG and replace `path` atomically. */
export async function savePng(path: string, image: Sharp): Promise<void> {
  await atomicWrite(path, await image.png({ compressionLevel: 6 }).toBuffer());
}

/** A white RGB canvas for compositing. */
export const canvas = async (width: number, height: number): Promise<Sharp> =>
  (await loadSharp())({ create: { width, height, channels: 3, background: '#ffffff' } });
