// The first layer's kernels on a canvas: the core's kernel grid (the PNG the trainer writes is the
// same layout), one block per tower.
import { kernelGridImage, towers, type Model } from 'alexnet-wgsl';

export async function showKernels(canvas: HTMLCanvasElement, model: Model): Promise<void> {
  const w = model.params[0];
  const g = kernelGridImage(await w.readF32(), w.shape, { groups: towers(model.arch), scale: w.shape[2] < 8 ? 8 : 4 });
  canvas.width = g.width;
  canvas.height = g.height;
  const ctx = canvas.getContext('2d')!;
  const img = new ImageData(g.width, g.height);
  for (let i = 0; i < g.width * g.height; i++) {
    img.data.set([g.rgb[3 * i], g.rgb[3 * i + 1], g.rgb[3 * i + 2], 255], 4 * i);
  }
  ctx.putImageData(img, 0, 0);
  for (const l of g.labels) {
    ctx.font = `${l.bold ? 'bold ' : ''}${l.size}px "DejaVu Sans", Arial, sans-serif`;
    ctx.fillStyle = l.bold ? '#1d2330' : '#666';
    ctx.textAlign = l.end ? 'right' : 'left';
    ctx.fillText(l.text, l.x, l.y);
  }
}
