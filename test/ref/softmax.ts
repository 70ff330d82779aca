// Float64 CPU reference of softmax and mean softmax cross-entropy with its gradient w.r.t. the
// logits, written from the definitions (log-sum-exp with max subtraction so ±80 logits stay finite).

/** Row-wise softmax of logits [B, K]. */
export function softmaxRef(logits: ArrayLike<number>, B: number, K: number): Float64Array {
  const p = new Float64Array(B * K);
  for (let r = 0; r < B; r++) {
    let mx = -Infinity;
    for (let j = 0; j < K; j++) mx = Math.max(mx, logits[r * K + j]);
    let s = 0;
    for (let j = 0; j < K; j++) s += Math.exp(logits[r * K + j] - mx);
    for (let j = 0; j < K; j++) p[r * K + j] = Math.exp(logits[r * K + j] - mx) / s;
  }
  return p;
}

/** loss = mean_r (logsumexp(x_r) − x_r[label_r]); dlogits = (softmax − onehot)/B. */
export function softmaxXentRef(
  logits: ArrayLike<number>,
  labels: ArrayLike<number>,
  B: number,
  K: number,
): { loss: number; dlogits: Float64Array } {
  const dlogits = softmaxRef(logits, B, K);
  let loss = 0;
  for (let r = 0; r < B; r++) {
    let mx = -Infinity;
    for (let j = 0; j < K; j++) mx = Math.max(mx, logits[r * K + j]);
    let s = 0;
    for (let j = 0; j < K; j++) s += Math.exp(logits[r * K + j] - mx);
    loss += mx + Math.log(s) - logits[r * K + labels[r]];
    dlogits[r * K + labels[r]] -= 1;
  }
  for (let i = 0; i < dlogits.length; i++) dlogits[i] /= B;
  return { loss: loss / B, dlogits };
}
