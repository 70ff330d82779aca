// A run's health, checked every step: a non-finite input, loss or gradient stops it with a
// NumericalError that names the first tensor that went bad (and the dataset sample, for an input);
// a loss stuck at ln(classes) — AlexNet's known failure to start learning — is warned about once, and
// so is a run whose steps spend more than a tenth of their time waiting for data.
import { NumericalError } from '../errors.js';
import type { Dataset } from '../data/dataset.js';
import { firstNonFinite, type BadTensor } from '../tensor/numerics.js';

/** Steps at ln(classes) (within 2%) before the warning. */
const STUCK_STEPS = 200;

export class StuckLossWatch {
  private stuck = 0;
  private warned = false;
  private readonly lnK: number;

  constructor(private readonly classes: number) {
    this.lnK = Math.log(classes);
  }

  /** Feed a step's loss; returns the warning the first time the loss has been stuck long enough. */
  observe(loss: number): string | undefined {
    this.stuck = Math.abs(loss - this.lnK) < 0.02 * this.lnK ? this.stuck + 1 : 0;
    if (this.stuck < STUCK_STEPS || this.warned) return undefined;
    this.warned = true;
    return (
      `loss has stayed at ln(${this.classes}) = ${this.lnK.toFixed(3)} for ${this.stuck} steps: the net is not learning ` +
      '(a known AlexNet failure: try a lower --lr, check the labels, or restart with another --seed)'
    );
  }
}

export interface StepHealth {
  /** The first non-finite tensor the monitor saw this step, if any, and how many it watched. */
  bad?: BadTensor;
  watched: number;
  loss: number;
  /** The batch (its host copy, absent when the device prepared it) and where it came from, to name a non-finite sample. */
  images?: Float32Array;
  indices: Int32Array;
  dataset: Dataset;
}

/**
 * The NumericalError for a step whose input, loss or a gradient is not finite, or undefined when
 * all are. `where` says which step; `lastGood` what survived; `checking` whether every op was watched.
 */
export function numericalFailure(
  h: StepHealth,
  where: string,
  lastGood: string,
  checking: boolean,
): NumericalError | undefined {
  const { bad } = h;
  if (!bad && Number.isFinite(h.loss)) return undefined;
  const input = bad?.label === 'input batch';
  const what = bad ? `${bad.label} is ${bad.kind}` : `loss is ${h.loss}`;
  const sample = input ? nonFiniteSample(h.images, h.indices, h.dataset) : '';
  const others =
    bad && bad.count > 1
      ? `; ${bad.count} of the ${h.watched} tensors checked this step are non-finite, this is the first`
      : '';
  const hint = input
    ? 'The training data must be finite'
    : `Try a lower --lr${checking ? '' : ', or --check-numerics to find the op that produced it'}`;
  return new NumericalError(
    `${where}: ${what}${sample}${others}. Training stopped; the last good checkpoint, ${lastGood}, was not touched. ${hint}`,
  );
}

/** Where a non-finite input batch comes from: the dataset sample holding the value, if the host copy has it. */
function nonFiniteSample(images: Float32Array | undefined, indices: Int32Array, ds: Dataset): string {
  const bad = images && firstNonFinite(images);
  if (!bad) return '';
  const per = images.length / indices.length;
  const j = Math.floor(bad.index / per);
  return `: sample ${indices[j]} of ${ds.name} holds ${bad.value} (element ${bad.index - j * per} after preprocessing)`;
}

/** Steps skipped at the start (pipelines compile, caches fill) and steps a judgement spans. */
const DATA_WARMUP = 5,
  DATA_WINDOW = 20;

export class DataWaitWatch {
  private seen = 0;
  private waits: number[] = [];
  private steps: number[] = [];
  private warned = false;

  /**
   * Feed a step's wait for its batch and its whole time (wait included), ms; returns the warning the
   * first time the waits of DATA_WINDOW consecutive steps exceed a tenth of their time.
   */
  observe(dataMs: number, stepMs: number): string | undefined {
    if (this.warned || ++this.seen <= DATA_WARMUP) return undefined;
    this.waits.push(dataMs);
    this.steps.push(stepMs);
    if (this.waits.length > DATA_WINDOW) {
      this.waits.shift();
      this.steps.shift();
    }
    const wait = this.waits.reduce((a, v) => a + v, 0),
      total = this.steps.reduce((a, v) => a + v, 0);
    if (this.waits.length < DATA_WINDOW || !(wait > 0.1 * total)) return undefined;
    this.warned = true;
    return (
      `the last ${DATA_WINDOW} steps waited for data ${((100 * wait) / total).toFixed(0)}% of their time ` +
      `(${(wait / DATA_WINDOW).toFixed(0)} of ${(total / DATA_WINDOW).toFixed(0)} ms a step): the input pipeline, ` +
      'not the device, sets the pace (pixel data keeps the host to a byte copy; a faster disk or decoding helps)'
    );
  }
}

/** The channel mean came out non-finite: name the first sample holding NaN/Inf. */
export async function nonFiniteData(ds: Dataset): Promise<NumericalError> {
  const buf = new Float32Array(ds.channels * ds.height * ds.width);
  for (let i = 0; i < ds.length; i++) {
    await ds.get(i, buf);
    const bad = firstNonFinite(buf);
    if (bad)
      return new NumericalError(
        `${ds.name}: sample ${i} holds ${bad.value} (element ${bad.index}); training data must be finite`,
      );
  }
  return new NumericalError(
    `${ds.name}: the channel mean is not finite (values too large?); training data must be finite`,
  );
}
