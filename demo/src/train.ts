// Training in the page: a fresh `mini` on the training subset with the paper's SGD and the core's
// loader (shuffled batches, flips, the training set's mean), one step at a time so the page stays
// live; the loss curve and images/s drawn as it goes; top-1 on the test subset at the end.
import {
  BatchLoader,
  Model,
  SGD,
  Tensor,
  batchInput,
  evaluate,
  inputPreprocessing,
  trainStep,
  type Dataset,
} from 'alexnet-wgsl';
import type { Engine } from 'alexnet-wgsl';

export interface TrainView {
  curve: HTMLCanvasElement;
  status: HTMLElement;
  onKernels(model: Model, step: number): Promise<void>;
}

export interface TrainRun {
  losses: number[];
  imagesPerSecond: number;
  testAccuracy: number;
}

const LR = 0.05;

export async function trainInPage(
  engine: Engine,
  train: Dataset,
  test: Dataset,
  steps: number,
  view: TrainView,
  stop: () => boolean,
): Promise<TrainRun> {
  const B = 32;
  const model = new Model(engine, 'mini', { classes: train.classes, channels: 1, inputSize: 28, seed: 1 });
  const { scale, mean, std } = await inputPreprocessing(model.arch, train);
  const opt = new SGD(model.params);
  const loader = new BatchLoader(train, {
    batchSize: B,
    inputSize: 28,
    shuffle: true,
    augment: true,
    seed: 1,
    mean,
    scale,
    std,
    dropLast: true,
    onDevice: true,
  });
  const x = new Tensor(engine, [B, 1, 28, 28], 'f32', { name: 'input' }),
    y = new Tensor(engine, [B], 'i32', { name: 'labels' });
  const losses: number[] = [];
  const t0 = performance.now();
  let ips = 0;
  try {
    for (let epoch = 0; losses.length < steps && !stop(); epoch++) {
      for await (const batch of loader.epoch(epoch)) {
        batchInput(engine, batch, x.shape, x);
        y.write(batch.labels);
        const r = trainStep(model, opt, x, y, { lr: LR, seed: 1, step: losses.length });
        losses.push((await r.loss.readF32())[0]);
        r.release();
        ips = (losses.length * B) / ((performance.now() - t0) / 1000);
        drawCurve(view.curve, losses);
        view.status.textContent = `step ${losses.length}/${steps}  loss ${losses[losses.length - 1].toFixed(4)}  ${ips.toFixed(1)} img/s`;
        if (losses.length % 25 === 0) await view.onKernels(model, losses.length);
        if (losses.length >= steps || stop()) break;
      }
    }
    const r = await evaluate(model, test, { batchSize: 100, mean, scale, std, tenCrop: false });
    view.status.textContent += `  test top-1 ${(100 - 100 * r.top1Error).toFixed(1)}% (${r.samples} images)`;
    await view.onKernels(model, losses.length);
    return { losses, imagesPerSecond: ips, testAccuracy: 1 - r.top1Error };
  } finally {
    x.dispose();
    y.dispose();
    opt.dispose();
    model.dispose();
  }
}

/** Loss against step, with the running mean of the last 10 steps over it; the axis spans the losses seen. */
function drawCurve(canvas: HTMLCanvasElement, losses: number[]): void {
  const c = canvas.getContext('2d')!,
    W = canvas.width,
    H = canvas.height,
    left = 40,
    bottom = 24;
  c.clearRect(0, 0, W, H);
  const lo = Math.min(...losses),
    hi = Math.max(...losses),
    span = Math.max(hi - lo, 0.05);
  const y0 = lo - 0.05 * span,
    y1 = hi + 0.05 * span,
    n = Math.max(losses.length, 10);
  const px = (i: number) => left + ((W - left - 8) * i) / (n - 1),
    py = (v: number) => 8 + ((H - bottom - 8) * (y1 - v)) / (y1 - y0);
  c.strokeStyle = '#c8ccd4';
  c.beginPath();
  c.moveTo(left, 8);
  c.lineTo(left, H - bottom);
  c.lineTo(W - 8, H - bottom);
  c.stroke();
  c.fillStyle = '#5b6577';
  c.font = '11px "DejaVu Sans", sans-serif';
  c.textAlign = 'right';
  c.fillText(y1.toFixed(2), left - 4, 16);
  c.fillText(y0.toFixed(2), left - 4, H - bottom);
  c.textAlign = 'left';
  c.fillText('loss', 4, H / 2);
  c.textAlign = 'right';
  c.fillText(`step ${losses.length}`, W - 8, H - 6);
  const line = (vals: number[], color: string, width: number) => {
    c.strokeStyle = color;
    c.lineWidth = width;
    c.beginPath();
    vals.forEach((v, i) => (i ? c.lineTo(px(i), py(v)) : c.moveTo(px(i), py(v))));
    c.stroke();
  };
  line(losses, '#9ecae1', 1);
  line(
    losses.map((_, i) => {
      const w = losses.slice(Math.max(0, i - 9), i + 1);
      return w.reduce((a, b) => a + b, 0) / w.length;
    }),
    '#1f77b4',
    2,
  );
  c.lineWidth = 1;
}
