// The paper's figure 3 as a PNG: the kernel grid (pictures/kernel_grid.ts) with its captions.
import { kernelGridImage, type KernelCell, type KernelGridOptions } from '../../pictures/kernel_grid.js';
import { svgDoc, text, writePng } from './svg.js';

/** Write the kernel grid PNG for weights of shape [out, in, kh, kw], in = 1 (gray) or 3 (RGB). */
export async function kernelGrid(
  path: string,
  weights: Float32Array,
  shape: readonly number[],
  opts: KernelGridOptions = {},
): Promise<{ width: number; height: number; cells: KernelCell[] }> {
  const g = kernelGridImage(weights, shape, opts);
  const captions = g.labels.map((l) =>
    text(
      l.x,
      l.y,
      l.text,
      `font-size="${l.size}"${l.bold ? ' font-weight="bold"' : ' fill="#666"'}${l.end ? ' text-anchor="end"' : ''}`,
    ),
  );
  await writePng(
    path,
    g.width,
    g.height,
    [{ input: svgDoc(g.width, g.height, captions.join('')), top: 0, left: 0 }],
    g.rgb,
  );
  return { width: g.width, height: g.height, cells: g.cells };
}
