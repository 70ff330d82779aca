// When the run's checkpoint is written and what a failed write does: a periodic write that fails is
// warned about and retried at the next one, up to `maxFailures` in a row; a required one (Ctrl-C,
// the end) that fails stops the run with a CheckpointWriteError naming the last good checkpoint.
import type { Model } from '../../models/model.js';
import type { SGD } from '../../optim.js';
import type { ModelMeta, RunState } from '../../checkpoint/checkpoint.js';
import { CheckpointWriteError, type AtomicFs } from '../files/atomic.js';
import { saveCheckpoint } from '../files/checkpoint.js';

export class CheckpointPolicy {
  private failures = 0;

  /** `lastGood`: the step of a checkpoint already at `path` that the run starts from, if any. */
  constructor(
    readonly path: string,
    private readonly maxFailures: number,
    private readonly warn: (m: string) => void,
    private readonly fs: AtomicFs | undefined,
    private lastGood?: number,
  ) {}

  /** The last checkpoint written (or started from), for messages. */
  get lastGoodText(): string {
    return this.lastGood !== undefined
      ? `${this.path} (step ${this.lastGood})`
      : 'none (no checkpoint was written yet)';
  }

  /** Write the checkpoint; `required`: the run cannot go on without it. */
  async save(model: Model, meta: ModelMeta, opt: SGD, state: RunState, required: boolean): Promise<void> {
    try {
      await saveCheckpoint(this.path, model, meta, opt, state, this.fs);
      this.lastGood = state.step;
      this.failures = 0;
    } catch (e) {
      if (!(e instanceof CheckpointWriteError)) throw e;
      this.failures++;
      if (required || this.failures >= this.maxFailures) {
        const why = required ? 'this checkpoint is required' : `${this.failures} checkpoint writes failed in a row`;
        throw new CheckpointWriteError(
          e.path,
          e.code,
          `${e.message}; ${why}, so training stopped at step ${state.step}. The last good checkpoint is ${this.lastGoodText}`,
          e,
        );
      }
      this.warn(
        `${e.message}; training goes on and the next checkpoint tries again (${this.failures} of ${this.maxFailures} allowed in a row). The last good checkpoint is ${this.lastGoodText}`,
      );
    }
  }
}
