// How an experiment decides: per-seed paired differences (treatment − baseline, both runs with the
// same seed, so the same shuffles and draws), their mean ± sd over seeds, and a verdict. The claim
// says which sign of the difference the paper reports (−1: the treatment lowers the error).
//   reproduced      the mean difference has the paper's sign and |mean| > 2·(sd/√n)
//   not reproduced  the opposite sign, beyond 2 standard errors (a result against the paper)
//   inconclusive    within 2 standard errors, or fewer than 2 seeds (no spread to judge by)
export type Verdict = 'reproduced' | 'not reproduced' | 'inconclusive' | 'skipped';

export interface Spread {
  mean: number;
  sd: number;
  n: number;
}

/** Mean and sample standard deviation (n − 1; 0 for one value). */
export function spread(xs: readonly number[]): Spread {
  const n = xs.length;
  const mean = xs.reduce((s, x) => s + x, 0) / n;
  const sd = n > 1 ? Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, sd, n };
}

/** The verdict on paired differences `d` for a claim whose difference has sign `expect`. */
export function decide(d: readonly number[], expect: -1 | 1): { verdict: Verdict; diff: Spread; why: string } {
  const diff = spread(d);
  if (diff.n < 2) return { verdict: 'inconclusive', diff, why: `${diff.n} seed: no spread to judge by` };
  const se = diff.sd / Math.sqrt(diff.n);
  if (!(Math.abs(diff.mean) > 2 * se))
    return { verdict: 'inconclusive', diff, why: `|mean| ≤ 2 standard errors (${se.toPrecision(2)})` };
  const agrees = Math.sign(diff.mean) === expect;
  return {
    verdict: agrees ? 'reproduced' : 'not reproduced',
    diff,
    why: `${agrees ? 'the paper’s' : 'the opposite'} sign, beyond 2 standard errors (${se.toPrecision(2)})`,
  };
}

/** The share of a kernel's energy off the grey axis: Σ(w − mean over colours)² / Σw², for C×K×K weights. */
export function colourShare(w: ArrayLike<number>, colours: number, plane: number): number {
  let all = 0,
    off = 0;
  for (let p = 0; p < plane; p++) {
    let m = 0;
    for (let c = 0; c < colours; c++) m += w[c * plane + p] / colours;
    for (let c = 0; c < colours; c++) {
      const v = w[c * plane + p];
      all += v * v;
      off += (v - m) ** 2;
    }
  }
  return all > 0 ? off / all : 0;
}
