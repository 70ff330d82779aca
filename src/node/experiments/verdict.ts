// How an experiment decides: per-seed paired differences (treatment − baseline, both runs with the
// same seed, so the same shuffles and draws), their mean ± sd over seeds, and a verdict from a
// paired two-sided t-test at 95%: t = mean / (sd/√n) against Student's t with n − 1 degrees of
// freedom (4.30 for 3 seeds). The claim says which sign the paper reports (−1: the treatment lowers
// the error).
//   reproduced      the mean difference has the paper's sign and |t| > t(0.975, n − 1)
//   not reproduced  the opposite sign, as significant (a result against the paper)
//   inconclusive    not significant, or fewer than 2 seeds (no spread to judge by)
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

/** Student's t at 0.975 for 1..10 degrees of freedom; beyond, the normal's 1.96 is within 5%. */
const T975 = [12.71, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228];
export const tCritical = (df: number): number => T975[df - 1] ?? 1.96;

/** The verdict on paired differences `d` for a claim whose difference has sign `expect`. */
export function decide(d: readonly number[], expect: -1 | 1): { verdict: Verdict; diff: Spread; why: string } {
  const diff = spread(d);
  if (diff.n < 2) return { verdict: 'inconclusive', diff, why: `${diff.n} seed: no spread to judge by` };
  const t = diff.mean / (diff.sd / Math.sqrt(diff.n)),
    crit = tCritical(diff.n - 1);
  const stat = `t = ${Number.isFinite(t) ? t.toFixed(2) : t}, 95% needs ${crit}`;
  if (!(Math.abs(t) > crit)) return { verdict: 'inconclusive', diff, why: `not significant (${stat})` };
  const agrees = Math.sign(diff.mean) === expect;
  return {
    verdict: agrees ? 'reproduced' : 'not reproduced',
    diff,
    why: `${agrees ? 'the paper’s' : 'the opposite'} sign (${stat})`,
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
