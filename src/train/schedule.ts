// The learning rate, and the one place it changes: the paper's schedule (÷10 when the validation
// error has not improved for `patience` epochs, at most `maxReductions` times) or ÷10 after fixed
// epochs. Its state is part of a checkpoint's run state, so a resumed run goes on with the same rate.
export interface ScheduleOptions {
  /** Starting rate (a resumed run takes its checkpoint's instead). */
  lr: number;
  /** Epochs after which the rate is divided by 10; when given, validation error is not consulted. */
  steps?: readonly number[];
  /** Epochs without improvement before ÷10 (the plateau schedule). */
  patience: number;
  /** Most divisions of the plateau schedule (the paper: 3). */
  maxReductions?: number;
}

export interface ScheduleState {
  lr: number;
  bestValError: number;
  sinceImprove: number;
  reductions: number;
}

export class Schedule {
  private s: ScheduleState;

  constructor(
    private readonly o: ScheduleOptions,
    state?: ScheduleState,
  ) {
    this.s = state
      ? {
          lr: state.lr,
          bestValError: state.bestValError,
          sinceImprove: state.sinceImprove,
          reductions: state.reductions,
        }
      : { lr: o.lr, bestValError: 1, sinceImprove: 0, reductions: 0 };
  }

  get lr(): number {
    return this.s.lr;
  }

  /** What a checkpoint records. */
  get state(): ScheduleState {
    return { ...this.s };
  }

  /** After `epochsDone` epochs with this validation error (if any): true when the rate was divided by 10. */
  endEpoch(epochsDone: number, valError?: number): boolean {
    const s = this.s;
    let reduce = false;
    if (this.o.steps?.length) reduce = this.o.steps.includes(epochsDone);
    else if (valError !== undefined) {
      if (valError < s.bestValError - 1e-9) {
        s.bestValError = valError;
        s.sinceImprove = 0;
      } else if (++s.sinceImprove >= this.o.patience) {
        reduce = s.reductions < (this.o.maxReductions ?? 3);
        s.sinceImprove = 0;
      }
    }
    if (reduce) {
      s.lr /= 10;
      s.reductions++;
    }
    return reduce;
  }
}
