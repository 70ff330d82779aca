// The classifier head: softmax cross-entropy fused with its gradient (training) and softmax
// probabilities (evaluation).
//   softmaxCrossEntropy  loss[1] = mean_r (logsumexp(x_r) − x_r[label_r]); the forward kernel also
//                        writes dlogits = (softmax − onehot)/B, so the backward only scales it by
//                        the incoming gradient of the loss (llm.c's crossentropy_softmax_backward)
//   softmax              probs[B,K], not recorded on the tape
// The batch mean is a fixed-order column sum (kernels/col_sum.wgsl): bitwise reproducible.
// Labels written from the host are checked against [0, K) before anything is dispatched (ValueError);
// labels computed on the device cannot be, and there a label outside [0, K) makes the loss NaN (and
// that row's gradient zero) instead of reading out of bounds.
import xentWgsl from '../../kernels/softmax_xent.wgsl';
import xentBwdWgsl from '../../kernels/softmax_xent_bwd.wgsl';
import softmaxWgsl from '../../kernels/softmax.wgsl';
import { ShapeError, ValueError, fmtShape } from '../errors.js';
import { f32 } from '../gpu/engine.js';
import { ceilDiv, grid1d } from '../gpu/grid.js';
import { defineKernel } from '../gpu/kernel.js';
import { Tensor, expectDType } from '../tensor/tensor.js';
import { colSum } from './linear.js';
import { recordOp } from '../tape.js';

const xentKernel = defineKernel('softmax_xent', xentWgsl);
const xentBwdKernel = defineKernel('softmax_xent_bwd', xentBwdWgsl);
const softmaxKernel = defineKernel('softmax', softmaxWgsl);

function checkLogits(op: string, logits: Tensor): [number, number] {
  if (logits.shape.length !== 2 || logits.shape[1] < 1)
    throw new ShapeError(`${op}: logits must be [B, K] with K ≥ 1, got ${fmtShape(logits.shape)}`);
  expectDType(op, 'logits', logits, 'f32');
  return [logits.shape[0], logits.shape[1]];
}

/** Labels last written from the host must lie in [0, K): a ValueError names the first that does not. */
export function checkLabels(op: string, labels: Tensor, K: number): void {
  const r = labels.valueRange;
  if (r && (r.min < 0 || r.max >= K)) {
    const [v, at] = r.min < 0 ? [r.min, r.minAt] : [r.max, r.maxAt];
    throw new ValueError(`${op}: label ${v} at index ${at} of '${labels.name}' is outside [0, ${K}) for ${K} classes`);
  }
}

/**
 * Mean softmax cross-entropy of logits [B, K] against integer labels [B] (dtype 'i32' or 'u32'),
 * as a [1] tensor; recorded on the tape (the gradient flows to logits only).
 */
export function softmaxCrossEntropy(logits: Tensor, labels: Tensor): Tensor {
  const [B, K] = checkLogits('softmaxCrossEntropy', logits);
  if (labels.dtype === 'f32') throw new ShapeError(`softmaxCrossEntropy: labels have dtype f32, expected i32 or u32`);
  if (labels.shape.length !== 1 || labels.shape[0] !== B) {
    throw new ShapeError(
      `softmaxCrossEntropy: labels ${fmtShape(labels.shape)} do not match logits ${fmtShape(logits.shape)} (expected [${B}])`,
    );
  }
  checkLabels('softmaxCrossEntropy', labels, K);
  const e = logits.engine;
  const dlogits = new Tensor(e, [B, K], 'f32', { name: 'dlogits' });
  const rowloss = new Tensor(e, [B], 'f32', { name: 'rowloss' });
  const loss = new Tensor(e, [1], 'f32', { name: 'loss' });
  e.dispatch({
    kernel: xentKernel,
    params: { B, K, scale: f32(1 / B) },
    buffers: [logits.binding(), labels.binding(), dlogits.binding(), rowloss.binding()],
    workgroups: [ceilDiv(B, 64)],
  });
  colSum(rowloss, loss, 1 / B);
  rowloss.dispose(); // reusable once this batch is submitted
  recordOp({
    op: 'softmax_xent',
    inputs: [logits],
    output: loss,
    saved: [dlogits],
    backward: (dloss) => {
      const dx = new Tensor(e, [B, K], 'f32', { name: 'dlogits' });
      e.dispatch({
        kernel: xentBwdKernel,
        params: { n: dx.size },
        buffers: [dlogits.binding(), dloss.binding(), dx.binding()],
        workgroups: grid1d(ceilDiv(dx.size, 256)),
      });
      return [dx];
    },
  });
  return loss;
}

/** Row-wise softmax of logits [B, K] (evaluation; not recorded on the tape). */
export function softmax(logits: Tensor): Tensor {
  const [B, K] = checkLogits('softmax', logits);
  const probs = new Tensor(logits.engine, [B, K], 'f32', { name: 'probs' });
  logits.engine.dispatch({
    kernel: softmaxKernel,
    params: { B, K },
    buffers: [logits.binding(), probs.binding()],
    workgroups: [ceilDiv(B, 64)],
  });
  return probs;
}
