// Pictures of a training run, rewritten after every epoch: the curves from metrics.jsonl and the
// first-layer kernels split into the two groups (the paper's figure 3).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { plotCurves, kernelGrid, type CurveSeries } from '../pictures/index.js';
import type { Model } from '../../models/model.js';
import { towers } from '../../models/spec.js';

type Metric = Record<string, number | string | undefined>;

export function readMetrics(path: string): Metric[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as Metric];
      } catch {
        return [];
      } // a line cut by a kill is skipped
    });
}

export function curveSeries(metrics: Metric[]): CurveSeries[] {
  const steps = metrics.filter((m) => m.kind === 'step');
  const epochs = metrics.filter((m) => m.kind === 'epoch');
  const pts = (rows: Metric[], x: string, y: string, f = 1) =>
    rows.filter((m) => typeof m[y] === 'number').map((m) => [Number(m[x]), Number(m[y]) * f] as const);
  return [
    {
      title: 'Training loss',
      xLabel: 'step',
      yLabel: 'cross-entropy',
      lines: [{ name: 'train (interval mean)', points: pts(steps, 'step', 'loss') }],
    },
    {
      title: 'Error per epoch',
      xLabel: 'epoch',
      yLabel: 'error %',
      lines: [
        { name: 'train top-1', points: pts(epochs, 'epoch', 'trainTop1Error', 100) },
        { name: 'val top-1', points: pts(epochs, 'epoch', 'valTop1Error', 100) },
        { name: 'val top-5', points: pts(epochs, 'epoch', 'valTop5Error', 100) },
      ],
    },
    {
      title: 'Learning rate',
      xLabel: 'step',
      yLabel: 'lr',
      logY: true,
      lines: [{ name: 'lr', points: pts(steps, 'step', 'lr') }],
    },
    {
      title: 'Validation accuracy against time',
      xLabel: 'training time (s)',
      yLabel: 'top-1 accuracy %',
      lines: [
        {
          name: 'val',
          points: epochs
            .filter((m) => typeof m.valTop1Error === 'number')
            .map((m) => [Number(m.time), 100 - 100 * Number(m.valTop1Error)] as const),
        },
      ],
    },
  ];
}

export async function writeTrainingPictures(
  out: string,
  metricsPath: string,
  model: Model,
  warn: (m: string) => void,
): Promise<void> {
  try {
    await plotCurves(join(out, 'curves.png'), curveSeries(readMetrics(metricsPath)));
    const w = model.params[0];
    if (w.shape.length === 4 && (w.shape[1] === 1 || w.shape[1] === 3)) {
      await kernelGrid(join(out, 'conv1-kernels.png'), (await w.read()) as Float32Array, w.shape, {
        groups: towers(model.arch),
        scale: w.shape[2] < 8 ? 8 : 4,
      });
    }
  } catch (e) {
    warn(`could not draw the pictures: ${(e as Error).message}`); // a picture never stops a run
  }
}
